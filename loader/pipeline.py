"""The dlt pipeline that loads the Umami source into a PostgreSQL warehouse (schema ``umami_raw``)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dlt
import psycopg2
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from psycopg2 import sql

from loader.umami import LoadStats

log = logging.getLogger(__name__)


PIPELINE_NAME = "umami_course_analytics"
RAW_DATASET = "umami_raw"
RAW_TABLES = ("events", "sessions", "window_stats", "window_property_values", "rejected_rows", "sync_runs")
_INDEXES = (
    ("events", "events_name_created_at_idx", ("event_name", "created_at")),
    ("events", "events_created_at_idx", ("created_at",)),
    # dlt merges on these keys without indexing them (it creates no primary keys on PostgreSQL):
    # without an index, each hourly merge would scan the whole history to find the re-read rows.
    ("events", "events_event_id_idx", ("event_id",)),
    ("sessions", "sessions_session_id_idx", ("session_id",)),
)


def warehouse_credentials(dsn: str) -> PostgresCredentials:
    """dlt credentials for any ordinary DSN, including one without a password.

    dlt insists on a password; an empty one is what libpq does without one (trust or peer
    authentication, or a password from ~/.pgpass or PGPASSWORD).
    """
    credentials = PostgresCredentials(dsn)
    if credentials.password is None:
        credentials.password = ""
    return credentials


def make_pipeline(
    dsn: str, pipelines_dir: Path, *, pipeline_name: str = PIPELINE_NAME, dataset_name: str = RAW_DATASET
) -> dlt.Pipeline:
    """A dlt pipeline writing to ``dataset_name`` in the warehouse ``dsn``."""
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.postgres(credentials=warehouse_credentials(dsn)),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir),
        progress="log" if os.environ.get("COURSE_ANALYTICS_PROGRESS") == "log" else None,
    )


def _table_exists(cur: psycopg2.extensions.cursor, dataset: str, table: str) -> bool:
    cur.execute("select to_regclass(%s)", (f"{dataset}.{table}",))
    return cur.fetchone()[0] is not None


def known_sessions_lookup(dsn: str, dataset_name: str = RAW_DATASET) -> Callable[[list[str]], set[str]]:
    """Which of the given session ids the warehouse already holds (found in Umami)."""

    def lookup(ids: list[str]) -> set[str]:
        query = sql.SQL("select session_id from {}.sessions where found and session_id = any(%s)").format(
            sql.Identifier(dataset_name)
        )
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            if not _table_exists(cur, dataset_name, "sessions"):
                return set()
            cur.execute(query, (ids,))
            return {row[0] for row in cur.fetchall()}

    return lookup


def events_present_lookup(dsn: str, dataset_name: str = RAW_DATASET) -> Callable[[], bool]:
    """Whether the warehouse's events table holds any row."""

    def present() -> bool:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            if not _table_exists(cur, dataset_name, "events"):
                return False
            cur.execute(sql.SQL("select exists (select from {}.events)").format(sql.Identifier(dataset_name)))
            return cur.fetchone()[0]

    return present


@dataclass
class LoadResult:
    stats: LoadStats
    load_ids: list[str]
    rows: dict[str, int] = field(default_factory=dict)  # rows per raw table in this run's load packages
    seconds: float = 0.0

    def summary(self) -> str:
        written = ", ".join(f"{table} {n}" for table, n in self.rows.items())
        windows = "; ".join(f"{name} {start} .. {end}" for name, (start, end) in self.stats.windows.items())
        return (
            f"Umami {self.stats.api_url} website {self.stats.website_id}: read {windows or 'nothing'}; "
            f"{self.stats.requests} requests; rows upserted: {written or 'none'}; rows rejected "
            f"{self.stats.rejected}; synced up to {self.stats.as_of.isoformat()} in {self.seconds:.1f}s"
        )


def run_load(pipeline: dlt.Pipeline, source: dlt.sources.DltSource, stats: LoadStats, dsn: str) -> LoadResult:
    """Extract, normalize and load ``source``; the state advances only with a successful load."""
    os.environ.setdefault("EXTRACT__NEXT_ITEM_MODE", "fifo")  # resources one after another: summary last
    # The load package files live seconds on local disk: gzip would cost CPU and save nothing.
    os.environ.setdefault("DATA_WRITER__DISABLE_COMPRESSION", "true")
    # Files of at most 100k rows (the events cut theirs alike, see ``EventFiles``): a large load is
    # copied into PostgreSQL by several COPYs at once.
    os.environ.setdefault("DATA_WRITER__FILE_MAX_ITEMS", "100000")
    started = time.monotonic()
    resumed = [*pipeline.list_extracted_load_packages(), *pipeline.list_normalized_load_packages()]
    info = pipeline.run(source, loader_file_format="csv")
    result = LoadResult(stats=stats, load_ids=list(info.loads_ids))
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        if resumed:
            remove_duplicate_events(cur, pipeline.dataset_name, resumed)
        _ensure_indexes(cur, pipeline.dataset_name)
        result.rows = _rows_written(pipeline, stats, result.load_ids, cur)
    result.seconds = time.monotonic() - started
    log.info("load finished: %s", result.summary())
    return result


def remove_duplicate_events(cur: psycopg2.extensions.cursor, dataset: str, load_ids: list[str]) -> int:
    """Remove the second copy of any event written twice by the given load packages.

    A first load appends its events (see ``umami_source``). If the run is killed after a ``COPY``
    committed but before dlt recorded that job as done, the next run copies that file again:
    dlt de-duplicates merges, not appends, so the load that finishes such packages removes the
    copies here (same event id, same package; the rows are identical).
    """
    if not _table_exists(cur, dataset, "events"):
        return 0
    cur.execute(
        sql.SQL(
            "delete from {events} where ctid in (select ctid from (select ctid, row_number() over "
            "(partition by event_id order by ctid) as copy from {events} where _dlt_load_id = any(%s)) as rows "
            "where copy > 1)"
        ).format(events=sql.Identifier(dataset, "events")),
        (load_ids,),
    )
    if cur.rowcount:
        log.warning("removed %d events copied twice by an interrupted load", cur.rowcount)
    return cur.rowcount


def _rows_written(
    pipeline: dlt.Pipeline, stats: LoadStats, load_ids: list[str], cur: psycopg2.extensions.cursor
) -> dict[str, int]:
    """Rows per raw table in the load packages this run loaded, counted in the warehouse.

    Except the events, when this run loaded just the package it extracted: their number is the
    events it read (each one row of the files it wrote), as counting them in the warehouse would
    scan the whole events table every hour.
    """
    extracted = pipeline.last_trace.last_extract_info if pipeline.last_trace else None
    if extracted is None or set(extracted.loads_ids) != set(load_ids):
        return count_loaded_rows(cur, pipeline.dataset_name, load_ids)
    rows = count_loaded_rows(cur, pipeline.dataset_name, load_ids, RAW_TABLES[1:])
    return {"events": sum(stats.events.values()), **rows}


def count_loaded_rows(
    cur: psycopg2.extensions.cursor, dataset: str, load_ids: list[str], tables: tuple[str, ...] = RAW_TABLES
) -> dict[str, int]:
    """Rows per raw table written by the given load packages, counted in the warehouse."""
    rows = {}
    for table in tables:
        if not _table_exists(cur, dataset, table):
            rows[table] = 0
            continue
        cur.execute(
            sql.SQL("select count(*) from {}.{} where _dlt_load_id = any(%s)").format(
                sql.Identifier(dataset), sql.Identifier(table)
            ),
            (load_ids,),
        )
        rows[table] = cur.fetchone()[0]
    return rows


def _ensure_indexes(cur: psycopg2.extensions.cursor, dataset: str) -> None:
    cur.execute("set local maintenance_work_mem = '256MB'")  # indexes on a first load are built in memory
    for table, name, columns in _INDEXES:
        if not _table_exists(cur, dataset, table):
            continue
        cur.execute(
            sql.SQL("create index if not exists {} on {}.{} ({})").format(
                sql.Identifier(name),
                sql.Identifier(dataset),
                sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
            )
        )
