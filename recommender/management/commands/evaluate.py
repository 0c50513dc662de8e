import json
import sys
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender import evaluation
from recommender.selectors import live_index

METRICS = [
    "p10_article",
    "p10_article_colour",
    "ndcg10",
    "coverage",
    "latency_ms_median",
    "latency_ms_p95",
]


class Command(BaseCommand):
    help = (
        "Measure recommendation quality as ../shared/docs/EVALUATION.md defines it (rail and "
        "photo tasks) on the catalogue in the database; write an HTML report."
    )

    def add_arguments(self, parser):
        parser.add_argument("--queries", type=int, default=evaluation.DEFAULT_QUERIES)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--json", dest="json_path", type=Path, help="also write the figures as JSON here"
        )
        parser.add_argument(
            "--report",
            type=Path,
            default=Path(settings.VAR_DIR) / "reports" / "evaluation.html",
            help="the HTML report (default: var/reports/evaluation.html)",
        )

    def handle(self, *args, queries, seed, json_path: Path | None, report: Path, **options):
        if queries < 1:
            raise CommandError("--queries must be at least 1")
        index = live_index()
        if index is None:
            raise CommandError("No live index: run `manage.py reindex` first.")
        truths = evaluation.catalogue_truths()
        sample = evaluation.query_sample(truths, queries=queries, seed=seed)
        figures = {}
        for task, run in (("rail", evaluation.run_rail), ("photo", evaluation.run_photo)):
            with tqdm(total=len(sample), desc=task, disable=not sys.stderr.isatty()) as bar:
                figures[task] = evaluation.score(run(sample, progress=bar.update), truths).as_dict()
        figures["config"] = {
            "encoder": index.encoder,
            "encoder_version": index.encoder_version,
            "index": index.pk,
            "image_weight": settings.RECOMMENDER_IMAGE_WEIGHT,
            "text_weight": settings.RECOMMENDER_TEXT_WEIGHT,
            "candidates": settings.RECOMMENDER_CANDIDATES,
            "catalogue_products": len(truths),
            "queries": len(sample),
            "seed": seed,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if json_path is not None:
            _write(json_path, json.dumps(figures, indent=2) + "\n")
        _write(report, _html(figures))
        for task in ("rail", "photo"):
            row = ", ".join(f"{name} {figures[task][name]:.3f}" for name in METRICS)
            self.stdout.write(f"{task}: {row}")
        self.stdout.write(f"Report: {report}")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _html(figures: dict) -> str:
    config = figures["config"]
    header = "".join(f"<th>{escape(name)}</th>" for name in METRICS)
    rows = "".join(
        f"<tr><th>{task}</th>"
        + "".join(f"<td>{figures[task][name]:.3f}</td>" for name in METRICS)
        + "</tr>"
        for task in ("rail", "photo")
    )
    settings_rows = "".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        for key, value in config.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vitrine recommendation quality</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse;margin:1rem 0}}th,td{{border:1px solid #ccc;padding:.3rem .6rem;
text-align:right}}th{{text-align:left}}</style></head>
<body><h1>Recommendation quality</h1>
<p>Protocol: ../shared/docs/EVALUATION.md. {config["queries"]} queries (seed {config["seed"]}) over
{config["catalogue_products"]} products; latency in ms.</p>
<table><tr><th>task</th>{header}</tr>{rows}</table>
<h2>Configuration</h2><table>{settings_rows}</table></body></html>
"""
