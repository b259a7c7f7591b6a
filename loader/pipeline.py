"""The dlt pipeline that loads the Umami source into a warehouse's raw dataset (``umami_raw``).

On PostgreSQL the raw tables are merged on their keys (one row per event id, per session id).
On a lake (dlt's ``filesystem`` destination, parquet files, for Spark) every load appends: dlt
merges on a filesystem only for Delta or Iceberg tables, which Spark here cannot read without
jars fetched at run time. The staging models pick the latest copy of each key by
``_dlt_load_id`` (``latest_copies`` in the dbt project), so the marts count each row once.
What the earlier loads covered (the marks a run's window is planned from) lives in the pipeline's
state, which dlt commits with each load and restores from the warehouse when the local copy is gone.
"""

from __future__ import annotations

import csv
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dlt
import psycopg2
import pyarrow.dataset
import pyarrow.fs
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
from dlt.destinations.job_client_impl import SqlJobClientBase
from psycopg2 import sql

from loader.umami import LoadReport
from loader.umami.source import SESSION_WORKERS
from loader.umami.windows import LoadedMark

log = logging.getLogger(__name__)

PIPELINE_NAME = "umami_course_analytics"
SOURCE_NAME = "umami"
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
    """A dlt pipeline writing to ``dataset_name`` in the PostgreSQL warehouse ``dsn``."""
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.postgres(credentials=warehouse_credentials(dsn)),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir),
    )


def make_lake_pipeline(
    lake_url: str, pipelines_dir: Path, *, pipeline_name: str = PIPELINE_NAME, dataset_name: str = RAW_DATASET
) -> dlt.Pipeline:
    """A dlt pipeline writing parquet files to ``<lake_url>/<dataset_name>/<table>/`` (credentials
    for object stores from dlt's ``[destination.filesystem.credentials]``)."""
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.filesystem(bucket_url=lake_url),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir),
    )


def appending(source: dlt.sources.DltSource) -> dlt.sources.DltSource:
    """``source`` with every resource appending (its keys kept for the readers), for the lake."""
    for resource in source.resources.values():
        resource.apply_hints(write_disposition="append")
    return source


def lake_table_url(lake_url: str, table: str, dataset_name: str = RAW_DATASET) -> str:
    return f"{lake_url.rstrip('/')}/{dataset_name}/{table}"


def lake_tables(lake_url: str, dataset_name: str = RAW_DATASET) -> set[str]:
    """The raw tables the lake holds files of."""
    filesystem, root = pyarrow.fs.FileSystem.from_uri(f"{lake_url.rstrip('/')}/{dataset_name}")
    selector = pyarrow.fs.FileSelector(root, allow_not_found=True)
    return {info.base_name for info in filesystem.get_file_info(selector) if info.type == pyarrow.fs.FileType.Directory}


def known_sessions_in_lake(lake_url: str, dataset_name: str = RAW_DATASET) -> Callable[[list[str]], set[str]]:
    """Which of the given session ids the lake already holds (found in Umami), any copy."""

    def lookup(ids: list[str]) -> set[str]:
        if "sessions" not in lake_tables(lake_url, dataset_name):
            return set()
        sessions = pyarrow.dataset.dataset(lake_table_url(lake_url, "sessions", dataset_name), format="parquet")
        wanted = pyarrow.dataset.field("found") & pyarrow.dataset.field("session_id").isin(ids)
        return set(sessions.to_table(columns=["session_id"], filter=wanted).column("session_id").to_pylist())

    return lookup


def loaded_marks(pipeline: dlt.Pipeline, website_id: str) -> dict[str, LoadedMark]:
    """What the earlier loads of ``website_id`` covered, per event name (the ``events`` resource's state).

    The state is first brought up to date with the warehouse's copy (dlt's ``sync_destination``),
    so a pipeline folder that was lost or is stale plans the same window.
    """
    pipeline.sync_destination()
    resources = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    marks = resources.get("events", {}).get("websites", {}).get(website_id, {})
    return {name: LoadedMark.from_state(value) for name, value in marks.items()}


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


@dataclass
class LoadResult:
    report: LoadReport
    load_ids: list[str]
    rows: dict[str, int] = field(default_factory=dict)  # rows per raw table written by this run's packages
    seconds: float = 0.0

    def summary(self) -> str:
        """One short line: what was read, from when to when, how long it took."""
        report = self.report
        names = sum(1 for n in report.events.values() if n)
        return (
            f"{sum(report.events.values())} events of {names} names, {report.sessions_fetched} sessions, "
            f"{report.requests} requests, {report.rejected} rejected; read {_utc(report.window.read_start)} .. "
            f"{_utc(report.window.as_of)}; {self.seconds:.1f}s"
        )

    def written(self) -> str:
        """Where it came from and the rows written per raw table."""
        rows = ", ".join(f"{table} {n}" for table, n in self.rows.items() if n) or "none"
        return f"Umami {self.report.api_url} website {self.report.website_id}: rows written {rows}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _extracted_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per table the last run extracted into its load packages (dlt's extract metrics).

    Not the normalize metrics: with CSV load files dlt 1.31 counts there more than one item per
    row of a table extracted from dicts (9 for the one sync_runs row).
    """
    extracted = pipeline.last_trace.last_extract_info if pipeline.last_trace else None
    counts: dict[str, int] = {}
    for step_metrics in extracted.metrics.values() if extracted is not None else ():
        for metrics in step_metrics:
            for table, table_metrics in metrics["table_metrics"].items():
                counts[table] = counts.get(table, 0) + table_metrics.items_count
    return counts


class _ExpectedArrowHintNotice(logging.Filter):
    """Drops dlt's notice that the ``events`` hints differ from its Arrow tables' schema.

    They differ on purpose: ``properties`` is JSON text in Arrow (Arrow has no JSON type dlt
    reads) and a ``json`` column in the warehouse, as the resource's hint says; dlt keeps the
    hint, which is what is wanted. Any other resource's notice passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("In resource: events, when merging arrow schema")


def configure_writers() -> None:
    """dlt's settings for these loads (in dlt's own configuration, not the environment)."""
    # the staging models read each event row's load (the latest copy of an event wins)
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    # the load package files live seconds on local disk: gzip would cost CPU and save nothing
    dlt.config["data_writer.disable_compression"] = True
    # files of at most 100k rows: a large load is copied into the warehouse by several jobs at once
    dlt.config["data_writer.file_max_items"] = 100_000
    # the sessions are fetched by dlt's extract workers while the events are read; with dlt's
    # defaults (5 workers, 20 items in flight) the events' reading waited for free slots
    dlt.config["extract.workers"] = SESSION_WORKERS
    dlt.config["extract.max_parallel_items"] = 4 * SESSION_WORKERS
    dlt_logger = logging.getLogger("dlt")
    if not any(isinstance(f, _ExpectedArrowHintNotice) for f in dlt_logger.filters):
        dlt_logger.addFilter(_ExpectedArrowHintNotice())


def drop_normalized_leftovers(pipeline: dlt.Pipeline) -> list[str]:
    """Delete the extracted copies of packages dlt's normalize step had already committed; their load ids.

    Normalize commits a package by renaming its normalized copy into ``load/normalized`` and then
    deleting the extracted one in ``normalize/extracted``. A run killed between the two leaves the
    package in both folders; dlt then normalizes the extracted copy again and fails to rename it
    onto the committed one ("Directory not empty"), in that run and every run after it. The
    committed copy is whole (it was renamed in one step), so the extracted one is only a leftover.
    """
    committed = set(pipeline.list_normalized_load_packages()) | set(pipeline.list_completed_load_packages())
    leftovers = [load_id for load_id in pipeline.list_extracted_load_packages() if load_id in committed]
    for load_id in leftovers:
        log.warning("load package %s was normalized by a run that stopped; removing its extracted copy", load_id)
        shutil.rmtree(Path(pipeline.working_dir) / "normalize" / "extracted" / load_id)
    return leftovers


@dataclass(frozen=True)
class UnrecordedJob:
    """A job file of a package being loaded that a run started and dlt has no outcome of."""

    load_id: str
    table: str
    path: Path

    def row_ids(self) -> list[str] | None:
        """The ``_dlt_id`` of each row a CSV job file holds; None for a file without them (dlt's
        own INSERT files, Arrow tables)."""
        if self.path.suffix != ".csv":
            return None
        with self.path.open(newline="", encoding="utf-8") as rows:
            reader = csv.DictReader(rows)
            if "_dlt_id" not in (reader.fieldnames or ()):
                return None
            return [row["_dlt_id"] for row in reader]


def unrecorded_jobs(pipeline: dlt.Pipeline) -> Iterator[UnrecordedJob]:
    """The started jobs of the packages being loaded that carry no outcome (dlt writes one, its
    "pending transition", right after the warehouse committed the job)."""
    normalized = Path(pipeline.working_dir) / "load" / "normalized"
    for load_id in pipeline.list_normalized_load_packages():
        package = normalized / load_id
        recorded = {path.name for path in (package / ".pending_transitions").glob("*")}
        for path in sorted((package / "started_jobs").glob("*")):
            if path.name not in recorded and path.suffix != ".sql":  # dlt's merge SQL is one transaction
                yield UnrecordedJob(load_id, path.name.split(".", 1)[0], path)


def undo_unrecorded_copies(pipeline: dlt.Pipeline) -> int:
    """Delete the rows of started, unrecorded jobs that the warehouse may hold; the rows deleted.

    dlt runs such a job again. A run killed after the warehouse committed its ``COPY`` but before
    dlt recorded it left the rows there, and the second copy fails on the unique ``_dlt_id`` (in
    the staging table of a merged table, or in an appended table) in every later run:
    "duplicate key value violates unique constraint ..._dlt_id_key". The rows are found by their
    ``_dlt_id`` and load id; dlt's own state row by its load id (a package holds one).
    """
    jobs = list(unrecorded_jobs(pipeline))
    if not jobs:
        return 0
    deleted = 0
    with pipeline.destination_client() as client:
        if not isinstance(client, SqlJobClientBase):  # a lake: a job writes its own file again
            return 0
        for job in jobs:
            ids = job.row_ids()
            if ids is None and job.table != "_dlt_pipeline_state":
                continue  # no unique key a second copy could meet; the merge keeps one row per key
            staging = client.should_load_data_to_staging_dataset(job.table)
            with client.with_staging_dataset() if staging else nullcontext(client):
                table = client.sql_client.make_qualified_table_name(job.table)
                if ids is None:
                    query, args = f"delete from {table} where _dlt_load_id = %s", (job.load_id,)
                else:
                    query, args = (
                        f"delete from {table} where _dlt_load_id = %s and _dlt_id = any(%s)",
                        (job.load_id, ids),
                    )
                with client.sql_client.execute_query(query, *args) as cursor:
                    deleted += max(cursor.rowcount, 0)
    if deleted:
        log.warning("removed %d rows a stopped run had copied without dlt recording it; copying them again", deleted)
    return deleted


def finish_pending_packages(pipeline: dlt.Pipeline) -> None:
    """Normalize and load what a stopped run left in the working folder.

    ``pipeline.run`` would do it too, but would then return without extracting its source: the
    run after a kill would read nothing of its own window and report 0 events.
    """
    drop_normalized_leftovers(pipeline)
    undo_unrecorded_copies(pipeline)
    if pipeline.has_pending_data:
        log.info("finishing the load packages a stopped run left behind")
        pipeline.normalize()
        pipeline.load()


def run_load(
    pipeline: dlt.Pipeline,
    source: dlt.sources.DltSource,
    report: LoadReport,
    *,
    loader_file_format: str = "csv",
    after_load: Callable[[], None] | None = None,
) -> LoadResult:
    """Extract, normalize and load ``source``, after what a stopped run left; the state advances only
    with a successful load."""
    configure_writers()
    started = time.monotonic()
    finish_pending_packages(pipeline)
    info = pipeline.run(source, loader_file_format=loader_file_format)
    counts = _extracted_rows(pipeline)
    result = LoadResult(
        report=report,
        load_ids=list(info.loads_ids),
        rows={table: int(counts.get(table, 0)) for table in RAW_TABLES},
    )
    if after_load is not None:
        after_load()
    result.seconds = time.monotonic() - started
    log.info("load finished: %s", result.summary())
    log.debug("load finished: %s", result.written())
    return result


def ensure_indexes(dsn: str, dataset: str = RAW_DATASET) -> None:
    """The raw tables' indexes on PostgreSQL (the merge keys, the models' range reads)."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
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
