"""The dlt source: Umami events with their properties, session identities, Umami's own aggregates."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from loader.umami import records
from loader.umami.client import ClientSettings, UmamiClient, display_url
from loader.umami.errors import UnexpectedAnswerError
from loader.umami.event_files import EVENT_FILE_COLUMNS, EventFile, EventFiles
from loader.umami.read_ahead import read_ahead
from loader.umami.reader import Features, Slice, SliceReader, detect_features, iso, page_threads
from loader.umami.sessions import SESSION_THREADS, KnownSessions, SessionFetcher
from loader.umami.windows import aggregate_window, read_start_ms, to_ms, utc_date

log = logging.getLogger(__name__)

DEFAULT_EVENT_NAMES = ("course_visit",)
DEFAULT_START_DATE = date(2020, 1, 1)  # before Umami v2 existed: "all history"
DEFAULT_SETTLE = timedelta(minutes=5)
AGGREGATE_EVENT_NAMES = ("course_visit",)
AGGREGATE_PROPERTIES = ("shifu_bid",)


@dataclass
class LoadStats:
    """What one extraction did; filled while dlt pulls the resources."""

    run_id: str
    api_url: str
    website_id: str
    as_of: datetime
    started_at: datetime
    windows: dict[str, tuple[str, str]] = field(default_factory=dict)  # event name -> (read start, end)
    events: dict[str, int] = field(default_factory=dict)
    sessions_fetched: int = 0
    rejected: int = 0
    client: UmamiClient | None = None

    @property
    def requests(self) -> int:
        return self.client.requests_made if self.client else 0

    @property
    def read_start(self) -> datetime:
        starts = [datetime.fromisoformat(start) for start, _ in self.windows.values()]
        return min(starts) if starts else self.as_of


class _Run:
    """Shared by the resources of one source instance: client, features, statistics."""

    def __init__(
        self,
        settings: ClientSettings,
        website_id: str,
        as_of: datetime,
        page_size: int,
        slices_at_once: int,
        known_sessions: KnownSessions | None,
    ) -> None:
        # one connection per thread that sends: the page readers, the session fetchers, the
        # read-ahead thread (a slice read again, per-event properties on Umami v3.0) and this one
        self.client = UmamiClient(settings, connections=page_threads(slices_at_once) + SESSION_THREADS + 2)
        self.website_id = website_id
        self.as_of_ms = to_ms(as_of)
        self.page_size = page_size
        self.slices_at_once = slices_at_once
        self._features: Features | None = None
        self.sessions = SessionFetcher(self.client, website_id, known_sessions)
        self.stats = LoadStats(
            run_id=str(uuid.uuid4()),
            api_url=display_url(settings.api_url),
            website_id=website_id,
            as_of=as_of,
            started_at=datetime.now(UTC),
            client=self.client,
        )

    @property
    def features(self) -> Features:
        if self._features is None:
            self._features = detect_features(self.client, self.website_id, self.as_of_ms)
        return self._features

    def reader(self) -> SliceReader:
        return SliceReader(
            self.client, self.website_id, self.features, page_size=self.page_size, slices_at_once=self.slices_at_once
        )


def default_as_of(now: datetime | None = None) -> datetime:
    """Now minus a settle delay, to the second: the latest instant treated as closed."""
    moment = (now or datetime.now(UTC)) - DEFAULT_SETTLE
    return moment.replace(microsecond=0)


@dlt.source(name="umami", max_table_nesting=0)
def umami_source(
    api_url: str = dlt.config.value,
    website_id: str = dlt.config.value,
    username: str | None = dlt.secrets.value,
    password: str | None = dlt.secrets.value,
    api_key: str | None = dlt.secrets.value,
    event_names: Sequence[str] = DEFAULT_EVENT_NAMES,
    as_of: datetime | None = None,
    start_date: date | None = None,
    lookback_days: int = 3,
    windows: Sequence[str] = ("last_30_days",),
    page_size: int = 10_000,
    slices_at_once: int = 3,
    reread_all: bool = False,
    known_sessions: Any = None,
    events_present: Any = None,
    client_options: Any = None,
    stats_sink: Any = None,
) -> Iterable[DltResource]:
    """Umami events of ``event_names`` up to ``as_of``, their sessions' distinct ids, and aggregates.

    ``known_sessions(ids) -> set`` says which session ids the warehouse already holds (they are
    never fetched again); ``events_present() -> bool`` whether its events table holds any row
    (when it holds none, the events are appended instead of merged); ``stats_sink(stats)``
    receives this run's :class:`LoadStats` at once. The pages of up to ``slices_at_once`` time slices
    are asked for at once (each slice: its events page and its event-data page).
    """
    as_of = as_of or default_as_of()
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    as_of = as_of.astimezone(UTC)
    if as_of > datetime.now(UTC):
        raise ValueError(f"as_of {as_of.isoformat()} is in the future: only closed windows can be read")
    if lookback_days < 0:
        raise ValueError("lookback_days must be 0 or more")
    if slices_at_once < 1:
        raise ValueError("slices_at_once must be 1 or more")
    for window_type in windows:
        aggregate_window(window_type, 0)  # validates the name
    settings = ClientSettings(
        api_url=api_url, username=username, password=password, api_key=api_key, **(client_options or {})
    )
    # Every timestamp reaches dlt as a datetime. A string that looks like one (a property value such
    # as "2026-11-01T08:00:00Z") stays text: dlt would otherwise type a new column from its first value.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    run = _Run(settings, website_id, as_of, page_size, slices_at_once, known_sessions)
    if stats_sink is not None:
        stats_sink(run.stats)
    rejected: list[dict[str, Any]] = []
    loaded_at = run.stats.started_at

    def quarantine(endpoint: str, rows: Iterable[tuple[Any, str]]) -> None:
        rejected.extend(_rejection(run, endpoint, reason, row) for row, reason in rows)

    def table_of(events: list[Any], properties: dict[str, str]) -> pa.Table:
        """The events as a table; those whose time Arrow cannot read are quarantined."""
        try:
            return records.events_table(events, properties, loaded_at)
        except pa.ArrowInvalid:
            good, bad = records.split_times(events)
            quarantine("events", bad)
            return records.events_table(good, properties, loaded_at)

    @dlt.resource(name="events", primary_key="event_id", write_disposition="merge", columns=EVENT_FILE_COLUMNS)
    def events() -> Iterator[Any]:
        state = dlt.current.resource_state().setdefault("websites", {}).setdefault(website_id, {})
        reader = run.reader()
        encode = records.PropertiesEncoder()
        # Into an empty table, a merge would only cost a staging copy and a sort: append instead.
        # Asked here, at extraction: dlt has loaded any package an interrupted run left by now.
        append = events_present is not None and not events_present()
        files = EventFiles(Path(dlt.current.pipeline().working_dir), dlt.current.load_package_state()["load_id"])

        def imported(written: Iterator[EventFile]) -> Iterator[Any]:
            """The finished files, as dlt file imports (dlt links them into the load package)."""
            nonlocal append
            for file in written:
                hints = None
                if append:
                    append = False  # the hint holds for the rest of this extraction
                    log.info("the events table is empty: events are appended, not merged")
                    hints = dlt.mark.make_hints(write_disposition="append")
                yield dlt.mark.with_file_import(str(file.path), "csv", file.rows, hints=hints)
                file.path.unlink()

        try:
            for event_name in dict.fromkeys(event_names):
                mark = state.get(event_name, {})
                start_ms = read_start_ms(
                    as_of_ms=run.as_of_ms,
                    start_date=start_date,
                    default_start_date=DEFAULT_START_DATE,
                    loaded_from=None if reread_all or not mark else date.fromisoformat(mark["loaded_from"]),
                    loaded_until_ms=None if reread_all or not mark else mark["loaded_until_ms"],
                    lookback_days=lookback_days,
                )
                window = Slice(start_ms, run.as_of_ms)
                run.stats.windows[event_name] = (iso(window.start_ms), iso(window.end_ms))
                log.info(
                    "reading %s events in %s from %s website %s",
                    event_name,
                    window,
                    run.stats.api_url,
                    website_id,
                )
                count = 0
                if window.start_ms <= window.end_ms:
                    try:
                        for piece in read_ahead(reader.read(event_name, window)):
                            valid, bad = records.split_valid(piece.events)
                            quarantine("events", bad)
                            if not valid:
                                continue
                            properties = {event_id: encode(rows) for event_id, rows in piece.properties.items()}
                            table = table_of(valid, properties)
                            count += table.num_rows
                            run.sessions.submit(pc.unique(table["session_id"]).to_pylist())
                            yield from imported(files.add(table))
                    except BaseException:
                        run.sessions.close(wait=False)
                        raise
                run.stats.events[event_name] = count
                first = utc_date(window.start_ms) if not mark or reread_all else date.fromisoformat(mark["loaded_from"])
                state[event_name] = {
                    "loaded_from": min(first, utc_date(window.start_ms)).isoformat(),
                    "loaded_until_ms": run.as_of_ms,
                }
                log.info("%s: %d events read up to %s", event_name, count, iso(run.as_of_ms))
            yield from imported(files.flush())
        finally:
            files.close()  # what dlt has not linked yet, on any error

    @dlt.resource(
        name="sessions",
        primary_key="session_id",
        write_disposition="merge",
        columns={
            "distinct_id": {"data_type": "text", "nullable": True},
            "first_at": {"data_type": "text", "nullable": True},
        },
    )
    def sessions() -> Iterator[list[dict[str, Any]]]:
        """The sessions met by ``events``, fetched meanwhile in the background (extracted after it)."""
        rows = run.sessions.rows()
        quarantine("sessions", run.sessions.rejected)
        run.stats.sessions_fetched += len(rows)
        if rows:
            yield rows

    @dlt.resource(
        name="window_stats",
        primary_key=("window_type", "event_name", "window_end_date"),
        write_disposition="merge",
    )
    def window_stats() -> Iterator[list[dict[str, Any]]]:
        synced_at = datetime.now(UTC)
        rows = []
        for window_type in windows:
            w = aggregate_window(window_type, run.as_of_ms)
            for event_name in AGGREGATE_EVENT_NAMES:
                params = {"startAt": w.start_ms, "endAt": w.end_ms, "event": event_name}
                body = run.client.get(f"/websites/{website_id}/events/stats", params)
                counts = records.stats_counts(body)
                if counts is None:
                    raise UnexpectedAnswerError(f"events/stats answered {str(body)[:200]}")
                rows.append(
                    {
                        "window_type": window_type,
                        "event_name": event_name,
                        "window_start_date": w.start_date,
                        "window_end_date": w.end_date,
                        "start_at": _dt(w.start_ms),
                        "end_at": _dt(w.end_ms),
                        **counts,
                        "synced_at": synced_at,
                    }
                )
        yield rows

    @dlt.resource(
        name="window_property_values",
        primary_key=("window_type", "window_end_date", "event_name", "property_name", "value"),
        merge_key=("window_type", "window_end_date", "event_name", "property_name"),
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        columns={"value": {"data_type": "text"}},
    )
    def window_property_values() -> Iterator[list[dict[str, Any]]]:
        synced_at = datetime.now(UTC)
        rows = []
        for window_type in windows:
            w = aggregate_window(window_type, run.as_of_ms)
            for event_name in AGGREGATE_EVENT_NAMES:
                for prop in AGGREGATE_PROPERTIES:
                    params = {
                        "startAt": w.start_ms,
                        "endAt": w.end_ms,
                        "event": event_name,
                        "propertyName": prop,
                    }
                    body = run.client.get(f"/websites/{website_id}/event-data/values", params)
                    if not isinstance(body, list):
                        raise UnexpectedAnswerError(f"event-data/values answered {str(body)[:200]}")
                    for item in body:
                        problem = records.property_value_problem(item)
                        if problem is not None:
                            payload = item if isinstance(item, dict) else {"value": item}
                            quarantine("event-data/values", [(payload, problem)])
                            continue
                        rows.append(
                            {
                                "window_type": window_type,
                                "window_start_date": w.start_date,
                                "window_end_date": w.end_date,
                                "start_at": _dt(w.start_ms),
                                "end_at": _dt(w.end_ms),
                                "event_name": event_name,
                                "property_name": prop,
                                "value": str(item["value"]),
                                "total": records.count_value(item["total"]),
                                "synced_at": synced_at,
                            }
                        )
        yield rows

    @dlt.resource(name="rejected_rows", write_disposition="append", columns={"payload": {"data_type": "json"}})
    def rejected_rows() -> Iterator[list[dict[str, Any]]]:
        run.stats.rejected = len(rejected)
        if rejected:
            log.warning("%d rows quarantined in rejected_rows", len(rejected))
            yield rejected

    @dlt.resource(name="sync_runs", write_disposition="append")
    def sync_runs() -> Iterator[dict[str, Any]]:
        stats = run.stats
        yield {
            "run_id": stats.run_id,
            "website_id": website_id,
            "api_url": stats.api_url,
            "as_of": as_of,
            "read_start_at": stats.read_start,
            "read_end_at": as_of,
            "started_at": stats.started_at,
            "finished_at": datetime.now(UTC),
            "requests": stats.requests,
            "events_loaded": sum(stats.events.values()),
            "sessions_loaded": stats.sessions_fetched,
            "rows_rejected": stats.rejected,
        }

    # Order matters: dlt extracts these one after the other ("fifo"), so the run summary comes last.
    return events, sessions, window_stats, window_property_values, rejected_rows, sync_runs


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _rejection(run: _Run, endpoint: str, reason: str, row: Any) -> dict[str, Any]:
    return {
        "run_id": run.stats.run_id,
        "endpoint": endpoint,
        "reason": reason,
        "payload": row,
        "rejected_at": datetime.now(UTC),
    }
