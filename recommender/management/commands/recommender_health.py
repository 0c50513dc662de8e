import json

from django.core.management.base import BaseCommand, CommandError

from recommender.selectors.health import IndexHealth, recommender_health, size_mib


class Command(BaseCommand):
    help = (
        "Report how the similarity index stands: vectors missing, behind or failed, the last "
        "text refit, the vector tables' sizes and dead rows, PostgreSQL's memory for them, and "
        "whether a worker runs. Exits with status 1 when something needs an operator (for "
        "monitoring); changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="one JSON object, for machines"
        )

    def handle(self, *args, as_json: bool, **options):
        health = recommender_health()
        self.stdout.write(_as_json(health) if as_json else _as_text(health))
        if health.problems:
            raise CommandError(f"{len(health.problems)} problem(s): see above", returncode=1)


def _as_text(health: IndexHealth) -> str:
    index = health.index
    lines = [
        f"Live index: {index} {index.encoder_version}, live since {index.live_since:%Y-%m-%d %H:%M}"
        if index
        else "Live index: none",
        *(f"Building: {building}" for building in health.building),
        f"Products: {health.products}; vectors done {health.vectors_done}, failed "
        f"{health.vectors_failed}, missing or behind their photo {health.vectors_behind}",
        "Text model: fitted "
        + (f"{health.text_fitted_at:%Y-%m-%d %H:%M}" if health.text_fitted_at else "never")
        + (
            f"; catalogue changed since {health.text_changed_since:%Y-%m-%d %H:%M} (refit pending)"
            if health.text_changed_since
            else "; current"
        ),
        "Worker: "
        + ("running" if health.worker_alive else "none running")
        + (
            f" (last heard {health.worker_last_seen:%Y-%m-%d %H:%M:%S})"
            if health.worker_last_seen
            else ""
        ),
        "PostgreSQL: " + ", ".join(f"{name} {value}" for name, value in health.postgres.items()),
    ]
    for table in health.tables:
        lines.append(
            f"{table.name}: {table.live_rows} rows, {table.dead_rows} dead "
            f"({table.dead_share:.0%}), {size_mib(table.table_bytes)}; last vacuum "
            f"{_when(table.last_vacuum)}, last analyze {_when(table.last_analyze)}"
        )
        lines += [f"  {name}: {size_mib(size)}" for name, size in table.index_bytes.items()]
    lines += ["", "Problems:" if health.problems else "No problems."]
    lines += [f"- {problem}" for problem in health.problems]
    return "\n".join(lines)


def _as_json(health: IndexHealth) -> str:
    index = health.index
    return json.dumps(
        {
            "index": index
            and {"id": index.pk, "encoder": index.encoder, "version": index.encoder_version},
            "building": [building.pk for building in health.building],
            "products": health.products,
            "vectors": {
                "done": health.vectors_done,
                "failed": health.vectors_failed,
                "behind": health.vectors_behind,
            },
            "text_fitted_at": health.text_fitted_at,
            "text_changed_since": health.text_changed_since,
            "worker_alive": health.worker_alive,
            "worker_last_seen": health.worker_last_seen,
            "tables": {
                table.name: {
                    "live_rows": table.live_rows,
                    "dead_rows": table.dead_rows,
                    "table_bytes": table.table_bytes,
                    "index_bytes": table.index_bytes,
                    "last_vacuum": table.last_vacuum,
                    "last_analyze": table.last_analyze,
                }
                for table in health.tables
            },
            "postgres": health.postgres,
            "problems": health.problems,
        },
        default=lambda value: value.isoformat(),
        indent=2,
    )


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"
