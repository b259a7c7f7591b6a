"""The dlt source: Umami events with their properties, session identities, Umami's own aggregates.

In the verified-sources shape: ``umami_source`` builds a client and returns module-level resources,
each with its own small state; none relies on the order dlt extracts them in. What a run reads is
given, as a planned :class:`~loader.umami.windows.SyncWindow`; the ``events`` resource records in
its state what it covered (the marks the next window is planned from), committed by dlt with the load.
Rows the API returned that cannot be stored go to the ``rejected_rows`` table from the resource
that met them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from loader.umami import records
from loader.umami.client import ClientSettings, UmamiClient, display_url
from loader.umami.errors import UnexpectedAnswerError
from loader.umami.progress import LogProgress, ReadProgress
from loader.umami.read_ahead import read_ahead
from loader.umami.reader import Slice, SliceReader, detect_features, page_threads
from loader.umami.sensitive import SensitiveRules
from loader.umami.windows import DEFAULT_PAGE_SIZE, SyncWindow, aggregate_window, iso, to_ms

log = logging.getLogger(__name__)

AGGREGATE_EVENT_NAMES = ("course_visit",)
AGGREGATE_PROPERTIES = ("shifu_bid",)
# dlt's extract workers fetch the sessions (dlt.defer), one connection each; the pipeline sets
# dlt's `extract.workers` to this. Four: against the Umami-compatible server, 4 threads asked
# 1,950 sessions/s, 16 threads 1,290/s (1 thread: 1,140/s)
SESSION_WORKERS = 4

EVENT_COLUMNS: dict[str, dict[str, Any]] = {
    "event_id": {"data_type": "text", "nullable": False},
    "website_id": {"data_type": "text"},
    "session_id": {"data_type": "text"},
    "event_name": {"data_type": "text"},
    "created_at": {"data_type": "timestamp", "precision": 3},
    "url_path": {"data_type": "text"},
    "has_data": {"data_type": "bool"},
    "properties": {"data_type": "json"},
    "loaded_at": {"data_type": "timestamp", "precision": 3},
}
SESSION_COLUMNS: dict[str, dict[str, Any]] = {
    "session_id": {"data_type": "text", "nullable": False},
    "website_id": {"data_type": "text"},
    "distinct_id": {"data_type": "text", "nullable": True},
    "first_at": {"data_type": "text", "nullable": True},
    "found": {"data_type": "bool"},
    "fetched_at": {"data_type": "timestamp"},
}
WINDOW_STATS_COLUMNS: dict[str, dict[str, Any]] = {
    "window_type": {"data_type": "text", "nullable": False},
    "event_name": {"data_type": "text", "nullable": False},
    "window_start_date": {"data_type": "date"},
    "window_end_date": {"data_type": "date", "nullable": False},
    "start_at": {"data_type": "timestamp"},
    "end_at": {"data_type": "timestamp"},
    "events": {"data_type": "bigint"},
    "visitors": {"data_type": "bigint"},
    "visits": {"data_type": "bigint"},
    "synced_at": {"data_type": "timestamp"},
}
PROPERTY_VALUES_COLUMNS: dict[str, dict[str, Any]] = {
    "window_type": {"data_type": "text", "nullable": False},
    "window_start_date": {"data_type": "date"},
    "window_end_date": {"data_type": "date", "nullable": False},
    "start_at": {"data_type": "timestamp"},
    "end_at": {"data_type": "timestamp"},
    "event_name": {"data_type": "text", "nullable": False},
    "property_name": {"data_type": "text", "nullable": False},
    "value": {"data_type": "text", "nullable": False},
    "total": {"data_type": "bigint"},
    "synced_at": {"data_type": "timestamp"},
}
REJECTED_COLUMNS: dict[str, dict[str, Any]] = {
    "run_id": {"data_type": "text"},
    "endpoint": {"data_type": "text"},
    "reason": {"data_type": "text"},
    "payload": {"data_type": "json"},
    "rejected_at": {"data_type": "timestamp"},
}
SYNC_RUN_COLUMNS: dict[str, dict[str, Any]] = {
    "run_id": {"data_type": "text", "nullable": False},
    "website_id": {"data_type": "text"},
    "api_url": {"data_type": "text"},
    "as_of": {"data_type": "timestamp"},
    "read_start_at": {"data_type": "timestamp"},
    "read_end_at": {"data_type": "timestamp"},
    "started_at": {"data_type": "timestamp"},
}
KnownSessions = Callable[[list[str]], set[str]]


@dataclass
class LoadReport:
    """What one extraction read, for the run's summary; each resource adds its own figures."""

    run_id: str
    api_url: str
    website_id: str
    window: SyncWindow
    started_at: datetime
    events: dict[str, int] = field(default_factory=dict)  # event name -> events read
    sessions_fetched: int = 0
    rejected: int = 0
    client: UmamiClient | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def requests(self) -> int:
        return self.client.requests_made if self.client else 0

    def add(self, *, sessions: int = 0, rejected: int = 0) -> None:
        with self._lock:
            self.sessions_fetched += sessions
            self.rejected += rejected


def quarantine(report: LoadReport, endpoint: str, rows: Iterable[tuple[Any, str]]) -> Any | None:
    """Rows the API returned that cannot be stored, as items of the ``rejected_rows`` table (None: none)."""
    now = datetime.now(UTC)
    rejected = [
        {"run_id": report.run_id, "endpoint": endpoint, "reason": reason, "payload": row, "rejected_at": now}
        for row, reason in rows
    ]
    if not rejected:
        return None
    report.add(rejected=len(rejected))
    log.warning("%d %s rows quarantined in rejected_rows", len(rejected), endpoint)
    return dlt.mark.with_table_name(rejected, "rejected_rows")


def quarantining(resource: DltResource, **hints: Any) -> DltResource:
    """``resource`` with the ``hints`` of its own table and a ``rejected_rows`` variant for what
    :func:`quarantine` sends there.

    The variant is made first, from the bare resource: dlt starts a table variant from the
    resource's hints as they are at that moment, so made later it would inherit this table's
    columns and keys.
    """
    resource.apply_hints(
        table_name="rejected_rows", write_disposition="append", columns=REJECTED_COLUMNS, create_table_variant=True
    )
    resource.apply_hints(**hints)
    return resource


EVENT_HINTS: dict[str, Any] = {"primary_key": "event_id", "write_disposition": "merge", "columns": EVENT_COLUMNS}
SESSION_HINTS: dict[str, Any] = {"primary_key": "session_id", "write_disposition": "merge", "columns": SESSION_COLUMNS}
PROPERTY_VALUES_HINTS: dict[str, Any] = {
    "primary_key": ("window_type", "window_end_date", "event_name", "property_name", "value"),
    "merge_key": ("window_type", "window_end_date", "event_name", "property_name"),
    "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
    "columns": PROPERTY_VALUES_COLUMNS,
}


@dlt.resource(name="events")  # hints: EVENT_HINTS, applied by umami_source (see quarantining)
def events(
    client: UmamiClient,
    website_id: str,
    window: SyncWindow,
    rules: SensitiveRules,
    report: LoadReport,
    page_size: int = DEFAULT_PAGE_SIZE,
    slices_at_once: int = 3,
    progress: ReadProgress | None = None,
) -> Iterator[Any]:
    """Every event of the window's names, read slice by slice (count-verified), as Arrow tables;
    how far the reads are goes to ``progress`` (default: log lines)."""
    yield records.EVENTS_SCHEMA.empty_table()  # the table exists even when nothing was read
    state = dlt.current.resource_state().setdefault("websites", {}).setdefault(website_id, {})
    progress = progress if progress is not None else LogProgress()
    reader = SliceReader(
        client,
        website_id,
        detect_features(client, website_id, to_ms(window.as_of)),
        page_size=page_size,
        slices_at_once=slices_at_once,
        progress=progress,
    )
    progress.planned([name for name, read in window.reads.items() if not read.is_empty])
    encode = records.PropertiesEncoder(rules)
    loaded_at = report.started_at
    for event_name, read in window.reads.items():
        count = 0
        if not read.is_empty:
            for piece in read_ahead(reader.read(event_name, Slice(read.start_ms, read.end_ms))):
                valid, bad = records.split_valid(piece.events)
                if bad:
                    yield quarantine(report, "events", bad)
                if not valid:
                    continue
                properties = {event_id: encode(rows) for event_id, rows in piece.properties.items()}
                try:
                    table = records.events_table(valid, properties, loaded_at)
                except pa.ArrowInvalid:  # a createdAt Arrow cannot read: checked row by row
                    good, bad_times = records.split_times(valid)
                    yield quarantine(report, "events", bad_times)
                    table = records.events_table(good, properties, loaded_at)
                count += table.num_rows
                if table.num_rows:
                    yield table
        report.events[event_name] = count
        state[event_name] = window.marks_after[event_name].to_state()
        if count:
            log.info("%s: %d events read in [%s, %s]", event_name, count, iso(read.start_ms), iso(read.end_ms))
        else:
            log.debug("%s: no events in [%s, %s]", event_name, iso(read.start_ms), iso(read.end_ms))


@dlt.transformer(name="sessions")  # hints: SESSION_HINTS
def sessions(
    table: Any,
    client: UmamiClient,
    website_id: str,
    known: KnownSessions | None,
    report: LoadReport,
    seen: set[str],
) -> Iterator[Any]:
    """The distinct id of each session the events met, once per session id (``seen``: this run's
    ids so far): sessions the warehouse already holds (found in Umami) are not asked again. Asked
    in parallel by dlt's extract workers."""
    if not isinstance(table, pa.Table):
        return
    if table.num_rows == 0:  # the events resource's first item: the table exists even with no sessions
        yield dlt.mark.materialize_table_schema()
        return
    ids = [s for s in pc.unique(table["session_id"]).to_pylist() if s and s not in seen]
    if not ids:
        return
    seen.update(ids)
    held = known(ids) if known is not None else set()
    for session_id in ids:
        if session_id not in held:
            yield _fetch_session(client, website_id, session_id, report)


@dlt.defer
def _fetch_session(client: UmamiClient, website_id: str, session_id: str, report: LoadReport) -> Any:
    answer = client.get(f"/websites/{website_id}/sessions/{session_id}")
    found = isinstance(answer, dict) and answer.get("id") == session_id
    problem = records.session_problem(answer) if found else None
    if problem is not None:  # unknown until a later run reads its events again and Umami answers better
        return quarantine(report, "sessions", [(answer, problem)])
    report.add(sessions=1)
    return {
        "session_id": session_id,
        "website_id": website_id,
        "distinct_id": (answer.get("distinctId") or None) if found else None,
        "first_at": answer.get("firstAt") if found else None,
        "found": found,
        "fetched_at": datetime.now(UTC),
    }


@dlt.resource(
    name="window_stats",
    primary_key=("window_type", "event_name", "window_end_date"),
    write_disposition="merge",
    columns=WINDOW_STATS_COLUMNS,
)
def window_stats(client: UmamiClient, website_id: str, as_of: datetime, windows: Sequence[str]) -> Iterator[Any]:
    """Umami's ``/events/stats`` for each aggregate window ending at ``as_of``."""
    synced_at = datetime.now(UTC)
    rows = []
    for window_type in windows:
        w = aggregate_window(window_type, as_of)
        for event_name in AGGREGATE_EVENT_NAMES:
            params = {"startAt": to_ms(w.start), "endAt": to_ms(w.end), "event": event_name}
            body = client.get(f"/websites/{website_id}/events/stats", params)
            counts = records.stats_counts(body)
            if counts is None:
                raise UnexpectedAnswerError(f"events/stats answered {str(body)[:200]}")
            rows.append(
                {
                    "window_type": window_type,
                    "event_name": event_name,
                    "window_start_date": w.start_date,
                    "window_end_date": w.end_date,
                    "start_at": w.start,
                    "end_at": w.end,
                    **counts,
                    "synced_at": synced_at,
                }
            )
    yield rows


@dlt.resource(name="window_property_values")  # hints: PROPERTY_VALUES_HINTS
def window_property_values(
    client: UmamiClient, website_id: str, as_of: datetime, windows: Sequence[str], report: LoadReport
) -> Iterator[Any]:
    """Umami's ``/event-data/values`` (events per ``shifu_bid`` value, top 100) for each window."""
    yield dlt.mark.materialize_table_schema()
    synced_at = datetime.now(UTC)
    for window_type in windows:
        w = aggregate_window(window_type, as_of)
        for event_name in AGGREGATE_EVENT_NAMES:
            for prop in AGGREGATE_PROPERTIES:
                params = {"startAt": to_ms(w.start), "endAt": to_ms(w.end), "event": event_name, "propertyName": prop}
                body = client.get(f"/websites/{website_id}/event-data/values", params)
                if not isinstance(body, list):
                    raise UnexpectedAnswerError(f"event-data/values answered {str(body)[:200]}")
                rows, bad = [], []
                for item in body:
                    problem = records.property_value_problem(item)
                    if problem is not None:
                        bad.append((item if isinstance(item, dict) else {"value": item}, problem))
                        continue
                    rows.append(
                        {
                            "window_type": window_type,
                            "window_start_date": w.start_date,
                            "window_end_date": w.end_date,
                            "start_at": w.start,
                            "end_at": w.end,
                            "event_name": event_name,
                            "property_name": prop,
                            "value": str(item["value"]),
                            "total": records.count_value(item["total"]),
                            "synced_at": synced_at,
                        }
                    )
                if bad:
                    yield quarantine(report, "event-data/values", bad)
                if rows:
                    yield rows


@dlt.resource(name="rejected_rows", write_disposition="append", columns=REJECTED_COLUMNS)
def rejected_rows() -> Iterator[Any]:
    """The quarantine table; its rows come from the resources that met them (see ``quarantine``)."""
    yield dlt.mark.materialize_table_schema()


@dlt.resource(name="sync_runs", write_disposition="append", columns=SYNC_RUN_COLUMNS)
def sync_runs(report: LoadReport) -> Iterator[dict[str, Any]]:
    """One row per successful load, written with the data it describes: what the run read."""
    window = report.window
    yield {
        "run_id": report.run_id,
        "website_id": report.website_id,
        "api_url": report.api_url,
        "as_of": window.as_of,
        "read_start_at": window.read_start,
        "read_end_at": window.as_of,
        "started_at": report.started_at,
    }


@dlt.source(name="umami", max_table_nesting=0)
def umami_source(
    api_url: str,
    website_id: str,
    window: SyncWindow,
    sensitive_rules: SensitiveRules,
    username: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    known_sessions: KnownSessions | None = None,
    aggregate_windows: Sequence[str] = ("last_30_days",),
    page_size: int = DEFAULT_PAGE_SIZE,
    slices_at_once: int = 3,
    client_options: dict[str, Any] | None = None,
    report: LoadReport | None = None,
    progress: ReadProgress | None = None,
) -> Iterable[DltResource]:
    """Umami's events of ``window.reads`` with their properties, their sessions' distinct ids, and
    Umami's own aggregates of ``aggregate_windows`` as of ``window.as_of``.

    ``known_sessions(ids) -> set`` says which session ids the warehouse already holds (found in
    Umami: never fetched again); ``report`` (a :class:`LoadReport`, made here when not given)
    collects the run's figures; ``progress`` is told how far the events' reads are (default: a
    log line per event name every 10 s). The pages of up to ``slices_at_once`` time slices are
    asked for at once.
    """
    if page_size < 1:
        raise ValueError("page_size must be 1 or more")
    if slices_at_once < 1:
        raise ValueError("slices_at_once must be 1 or more")
    for window_type in aggregate_windows:
        aggregate_window(window_type, window.as_of)  # validates the name
    settings = ClientSettings(
        api_url=api_url, username=username, password=password, api_key=api_key, **(client_options or {})
    )
    # Every timestamp reaches dlt as a datetime. A string that looks like one (a property value such
    # as "2026-11-01T08:00:00Z") stays text: dlt would otherwise type a new column from its first value.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    # one connection per thread that sends: the page readers, dlt's workers fetching sessions, the
    # read-ahead thread (a slice read again, per-event properties on Umami v3.0) and this one
    client = UmamiClient(settings, connections=page_threads(slices_at_once) + SESSION_WORKERS + 2)
    if report is None:
        report = LoadReport(str(uuid.uuid4()), display_url(api_url), website_id, window, datetime.now(UTC))
    report.client = client
    read = quarantining(
        events(client, website_id, window, sensitive_rules, report, page_size, slices_at_once, progress),
        **EVENT_HINTS,
    )
    return (
        read,
        read | quarantining(sessions(client, website_id, known_sessions, report, set()), **SESSION_HINTS),
        window_stats(client, website_id, window.as_of, aggregate_windows),
        quarantining(
            window_property_values(client, website_id, window.as_of, aggregate_windows, report),
            **PROPERTY_VALUES_HINTS,
        ),
        rejected_rows(),
        sync_runs(report),
    )
