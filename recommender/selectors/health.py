"""How the index stands, for an operator (``manage.py recommender_health``): vectors missing or
behind, the last text refit, the vector tables' sizes and dead rows, PostgreSQL's memory for
them, and whether a worker runs. Reads only; changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from recommender.models import PhotoEmbedding, ProductEmbedding, VectorIndex
from recommender.selectors.index_status import index_live
from recommender.sweep import SWEEP_GRACE, products_needing_embedding
from recommender.worker_heartbeat import no_worker_warning, worker_last_seen
from shop.models import Product

# Dead rows past this share of a vector table: autovacuum is behind, and every search walks
# the dead entries of its HNSW graph until a vacuum removes them.
DEAD_ROWS_SHARE = 0.2
# The PostgreSQL settings that decide how vector tables are served and built.
POSTGRES_SETTINGS = ("shared_buffers", "effective_cache_size", "maintenance_work_mem", "autovacuum")


@dataclass(frozen=True)
class TableHealth:
    name: str
    live_rows: int
    dead_rows: int
    table_bytes: int  # the rows, without their indexes
    index_bytes: dict[str, int]  # each index by name
    last_vacuum: datetime | None  # by autovacuum or by hand, whichever was last
    last_analyze: datetime | None

    @property
    def dead_share(self) -> float:
        return self.dead_rows / max(1, self.live_rows + self.dead_rows)

    @property
    def hnsw_bytes(self) -> int:
        return sum(size for name, size in self.index_bytes.items() if name.endswith("hnsw"))


@dataclass(frozen=True)
class IndexHealth:
    index: VectorIndex | None
    building: list[VectorIndex]
    products: int
    vectors_done: int
    vectors_failed: int
    vectors_behind: int  # missing, or behind their photo (what the sweep would queue)
    text_fitted_at: datetime | None
    text_changed_since: datetime | None  # the oldest change the fit has not seen yet
    worker_last_seen: datetime | None
    worker_alive: bool
    tables: list[TableHealth]
    postgres: dict[str, str]
    shared_buffers_bytes: int
    problems: list[str] = field(default_factory=list)


def recommender_health() -> IndexHealth:
    """The index's state now, and the problems an operator should act on (none: healthy)."""
    index = index_live()
    building = list(VectorIndex.objects.filter(state=VectorIndex.State.BUILDING).order_by("pk"))
    embeddings = ProductEmbedding.objects.filter(index=index)
    statuses = {
        status: embeddings.filter(status=status).count()
        for status in (ProductEmbedding.Status.DONE, ProductEmbedding.Status.FAILED)
    }
    alive, last_seen = worker_last_seen()
    postgres, shared_buffers = _postgres_settings()
    health = IndexHealth(
        index=index,
        building=building,
        products=Product.objects.count(),
        vectors_done=statuses[ProductEmbedding.Status.DONE],
        vectors_failed=statuses[ProductEmbedding.Status.FAILED],
        vectors_behind=len(products_needing_embedding()),
        text_fitted_at=index.text_fitted_at if index else None,
        text_changed_since=_text_changed_since(index),
        worker_last_seen=last_seen,
        worker_alive=alive,
        tables=[
            _table_health(model._meta.db_table) for model in (ProductEmbedding, PhotoEmbedding)
        ],
        postgres=postgres,
        shared_buffers_bytes=shared_buffers,
    )
    health.problems.extend(_problems(health))
    return health


def _text_changed_since(index: VectorIndex | None) -> datetime | None:
    """When the catalogue's words first changed after the live fit (None: the fit is current)."""
    if index is None:
        return None
    if index.text_changed_at is not None:
        return index.text_changed_at
    if index.text_fitted_at is None:
        return index.created_at
    changed = Product.objects.filter(updated_at__gt=index.text_fitted_at)
    return changed.aggregate(first=Min("updated_at"))["first"]


def _problems(health: IndexHealth) -> list[str]:
    problems = []
    if health.index is None:
        problems.append("No live index: run `manage.py reindex`.")
    if warning := no_worker_warning():
        problems.append(warning)
    if health.vectors_behind:
        problems.append(
            f"{health.vectors_behind} products have vectors missing or behind their photos: a "
            "worker embeds them as they change, and the hourly sweep queues any it missed."
        )
    if health.vectors_failed:
        problems.append(
            f"{health.vectors_failed} products' photos could not be encoded: the admin shows "
            "each reason (Products, filter by indexing status)."
        )
    overdue = timedelta(seconds=settings.RECOMMENDER_TEXT_REFIT_DELAY) + SWEEP_GRACE
    if health.text_changed_since and timezone.now() - health.text_changed_since > overdue:
        problems.append(
            "The text model has not seen the catalogue's changes since "
            f"{health.text_changed_since:%Y-%m-%d %H:%M} UTC: its refit is overdue."
        )
    for table in health.tables:
        if table.dead_share > DEAD_ROWS_SHARE:
            problems.append(
                f"{table.name}: {table.dead_rows} dead rows ({table.dead_share:.0%}); autovacuum "
                "is behind (see README, \u201cLarge catalogues\u201d)."
            )
    hnsw = sum(table.hnsw_bytes for table in health.tables)
    if hnsw > health.shared_buffers_bytes:
        problems.append(
            f"The HNSW indexes take {size_mib(hnsw)} but shared_buffers is "
            f"{size_mib(health.shared_buffers_bytes)}: searches read the graphs from disk."
        )
    return problems


def _table_health(table: str) -> TableHealth:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n_live_tup, n_dead_tup, pg_table_size(relid),
                   GREATEST(last_vacuum, last_autovacuum), GREATEST(last_analyze, last_autoanalyze)
            FROM pg_stat_user_tables WHERE relname = %s
            """,
            [table],
        )
        live, dead, size, vacuumed, analyzed = cursor.fetchone()
        cursor.execute(
            "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
            "WHERE relname = %s ORDER BY indexrelname",
            [table],
        )
        indexes = dict(cursor.fetchall())
    return TableHealth(table, live, dead, size, indexes, vacuumed, analyzed)


def _postgres_settings() -> tuple[dict[str, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name",
            [list(POSTGRES_SETTINGS)],
        )
        values = dict(cursor.fetchall())
        cursor.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))")
        (shared_buffers,) = cursor.fetchone()
    return values, shared_buffers


def size_mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"
