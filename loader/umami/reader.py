"""Count-verified reads of Umami's event lists.

Umami lists events newest first with no tiebreaker and pages by offset, so a paged read can
show a tied event twice and skip its tie-mate. No paginator can fix that from the client
side, which is why this is written by hand instead of using a dlt paginator: every time slice
is read in ONE page, and it is accepted only when the unique ids equal Umami's ``count``. A
slice with more events than a page is split in time (a single millisecond is read whole: the
API has no page-size maximum); a slice whose ids do not match is read again, a bounded number
of times, then the read fails with a clear error.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from loader.umami.client import UmamiClient
from loader.umami.errors import IncompleteReadError, UmamiPermanentError, UmamiVersionError
from loader.umami.pages import (
    EventDataPage,
    EventDataRow,
    EventRow,
    EventsPage,
    decode_event_data_page,
    decode_events_page,
)
from loader.umami.progress import LogProgress, ReadProgress, ReadStatus
from loader.umami.windows import iso

log = logging.getLogger(__name__)

PROBE_EVENT_NAME = "__course_analytics_feature_probe__"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Slice:
    start_ms: int  # inclusive
    end_ms: int  # inclusive

    def split(self, parts: int) -> list[Slice]:
        width = self.end_ms - self.start_ms + 1
        parts = max(2, min(parts, width))
        bounds = [self.start_ms + (width * i) // parts for i in range(parts + 1)]
        return [Slice(bounds[i], bounds[i + 1] - 1) for i in range(parts)]

    def __str__(self) -> str:
        return f"[{iso(self.start_ms)}, {iso(self.end_ms)}]"


@dataclass
class SliceData:
    slice: Slice
    events: list[EventRow] | list[Any]  # typed rows, or plain JSON when the page did not fit the types
    properties: dict[str, Any]  # event id -> its event-data rows (PropertyRow tuple or JSON objects)


@dataclass(frozen=True)
class Features:
    event_data_list: bool  # v3.1.0+: GET /websites/{id}/event-data lists properties by event


def detect_features(client: UmamiClient, website_id: str, until_ms: int) -> Features:
    """Check the website and what the server can do; refuse servers that cannot give properties."""
    base = f"/websites/{website_id}"
    if client.get(base) in (None, {}):
        raise UmamiPermanentError(
            f"Umami website {website_id} does not exist or this account cannot see it; check UMAMI_WEBSITE_ID"
        )
    status, body = client.request(
        f"{base}/event-data", {"startAt": 0, "endAt": 1, "pageSize": 1}, allow_status=(404, 405)
    )
    event_data_list = status == 200 and isinstance(body, dict) and "data" in body
    if not event_data_list:
        status, body = client.request(f"{base}/event-data/{UNKNOWN_ID}", allow_status=(404, 405))
        if not (status == 200 and isinstance(body, list)):
            raise UmamiVersionError(
                "This Umami server cannot provide event properties per event: the loader needs Umami v3.0 "
                "or newer (v3.1.0+ recommended, for GET /websites/{id}/event-data)."
            )
        log.warning("Umami before v3.1.0 detected: reading event properties one event at a time")
    probe = client.get(f"{base}/events", {"startAt": 0, "endAt": until_ms, "event": PROBE_EVENT_NAME, "pageSize": 1})
    if not isinstance(probe, dict) or probe.get("count", 0) != 0:
        raise UmamiVersionError(
            "This Umami server ignores the event= filter of GET /websites/{id}/events: the loader needs "
            "Umami v3.0 or newer (v3.1.0+ recommended)."
        )
    return Features(event_data_list=event_data_list)


def page_threads(slices_at_once: int) -> int:
    """Threads a ``SliceReader`` sends from: two pages per slice asked for, and the part of a slice
    split again asked for besides them."""
    return 2 * (slices_at_once + 1)


class SliceReader:
    """Reads every event of one name in a time range, slice by slice, each slice verified."""

    def __init__(
        self,
        client: UmamiClient,
        website_id: str,
        features: Features,
        *,
        page_size: int = 10_000,
        max_attempts: int = 5,
        slices_at_once: int = 3,
        progress: ReadProgress | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if slices_at_once < 1:
            raise ValueError("slices_at_once must be at least 1")
        self.client = client
        self.base = f"/websites/{website_id}"
        self.features = features
        self.page_size = page_size
        self.max_attempts = max_attempts
        self.slices_at_once = slices_at_once
        self.progress = progress if progress is not None else LogProgress()

    # -- one page -------------------------------------------------------------------------
    def _page(self, endpoint: str, event_name: str, piece: Slice, page_size: int) -> tuple[list[Any], int]:
        body = self.client.get(
            f"{self.base}/{endpoint}",
            {
                "startAt": piece.start_ms,
                "endAt": piece.end_ms,
                "event": event_name,
                "page": 1,
                "pageSize": page_size,
            },
            decode=_DECODERS[endpoint],
        )
        if isinstance(body, EventsPage | EventDataPage):
            return body.data, body.count
        if not isinstance(body, dict) or not isinstance(body.get("data"), list) or "count" not in body:
            raise IncompleteReadError(f"GET {endpoint} {piece} answered without data/count: {str(body)[:200]}")
        return body["data"], int(body["count"])

    def _read_whole(self, endpoint: str, id_key: str, event_name: str, piece: Slice) -> tuple[list | None, int]:
        """(all rows of ``piece``, verified, or None when it must be split; Umami's count)."""
        for attempt in range(1, self.max_attempts + 1):
            rows, count = self._page(endpoint, event_name, piece, self.page_size)
            if count > self.page_size:
                if piece.start_ms < piece.end_ms:
                    return None, count
                rows, count = self._page(endpoint, event_name, piece, count)  # all tied: one big page
            ids = _ids(rows, id_key)
            if len(rows) == count and len(ids) == count:
                return rows, count
            log.warning(
                "%s %s %s: %d rows with %d unique ids for Umami's count %d (attempt %d/%d); reading again",
                endpoint,
                event_name,
                piece,
                len(rows),
                len(ids),
                count,
                attempt,
                self.max_attempts,
            )
        raise IncompleteReadError(
            f"{endpoint} for {event_name} in {piece}: the ids read never matched Umami's count "
            f"after {self.max_attempts} attempts"
        )

    def _slices(
        self, tally: _Tally, window: Slice, pool: ThreadPoolExecutor
    ) -> Iterator[tuple[Slice, list, Future | None]]:
        """Verified (slice, event rows, event-data being read or None) triples covering ``window``, oldest first.

        The pages of up to ``slices_at_once`` slices are asked for at once, ahead of their turn, and
        kept until it comes (the slice handed over counts): the server does not wait for the
        loader, and a slow consumer makes the reader hold no more. A slice cut from a split is
        sized to fit a page: its events and event-data pages are asked for together. The first
        window's size is unknown: it is read alone (its events page first). When a slice must be
        split again, its parts go first, the first of them asked for at once besides the slices
        already asked for. The first window's count is the read's total (``tally.total``, set once).
        """
        event_name = tally.event_name
        queue: deque[_Planned] = deque([_Planned(window, fits=False)])

        def ask(planned: _Planned) -> None:
            planned.events = pool.submit(self._read_whole, "events", "id", event_name, planned.piece)
            if planned.fits and self.features.event_data_list:
                planned.data = pool.submit(self._read_whole, "event-data", "eventId", event_name, planned.piece)

        while queue:
            asked = sum(planned.events is not None for planned in queue)
            for planned in queue:
                if asked >= self.slices_at_once:
                    break
                if planned.events is None:
                    ask(planned)
                    asked += 1
            planned = queue.popleft()
            if planned.events is None:  # the parts of a slice split again, behind slices already asked for
                ask(planned)
            rows, count = planned.events.result()
            if tally.total is None:
                tally.total = count
                self.progress.update(tally.status())
            if rows is None:
                if planned.data is not None:
                    planned.data.cancel()  # if already sent, its answer is not used
                parts = planned.piece.split(math.ceil(count * 1.25 / self.page_size))
                queue.extendleft(_Planned(part, fits=True) for part in reversed(parts))
                continue
            yield planned.piece, rows, planned.data

    # -- properties ---------------------------------------------------------------------------
    def _properties(
        self, event_name: str, piece: Slice, events: list[Any], prefetched: Future | None = None
    ) -> dict[str, Any]:
        if events and isinstance(events[0], EventRow):
            with_data = {e.id for e in events if e.hasData}
        else:
            with_data = {e["id"] for e in events if e.get("hasData") and isinstance(e.get("id"), str)}
        if not with_data:
            return {}
        if not self.features.event_data_list:
            return {event_id: self.client.get(f"{self.base}/event-data/{event_id}") or [] for event_id in with_data}
        if prefetched is not None:
            rows, count = prefetched.result()
        else:
            rows, count = self._read_whole("event-data", "eventId", event_name, piece)
        if rows is None:
            raise _Mismatch(len(with_data), count)
        if rows and isinstance(rows[0], EventDataRow):
            found = {r.eventId: r.eventProperties or () for r in rows}
        else:
            found = {r["eventId"]: r.get("eventProperties") or [] for r in rows}
        if set(found) != with_data:
            raise _Mismatch(len(with_data), len(found))
        return found

    # -- public API ----------------------------------------------------------------------------
    def read(self, event_name: str, window: Slice) -> Iterator[SliceData]:
        """Every event of ``event_name`` in ``window``, with its properties, in verified slices."""
        pool = ThreadPoolExecutor(max_workers=page_threads(self.slices_at_once), thread_name_prefix="umami-pages")
        tally = _Tally(event_name)
        try:
            yield from self._read(tally, window, pool)
        except BaseException:  # failed, or closed by a consumer that stopped (GeneratorExit)
            self.progress.abandoned(tally.status())
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        self.progress.update(tally.status(done=True))

    def _read(self, tally: _Tally, window: Slice, pool: ThreadPoolExecutor) -> Iterator[SliceData]:
        event_name = tally.event_name
        for piece, rows, prefetched in self._slices(tally, window, pool):
            for attempt in range(1, self.max_attempts + 1):
                try:
                    properties = self._properties(event_name, piece, rows, prefetched)
                    break
                except _Mismatch as mismatch:
                    prefetched = None  # read the event-data again too
                    log.warning(
                        "event-data for %s in %s: %d events with data, %d property sets (attempt %d/%d); "
                        "reading the slice again",
                        event_name,
                        piece,
                        mismatch.expected,
                        mismatch.found,
                        attempt,
                        self.max_attempts,
                    )
                    rows, _ = self._read_whole("events", "id", event_name, piece)
                    if rows is None:  # the slice grew past a page meanwhile: split it like any other
                        break
            else:
                raise IncompleteReadError(
                    f"events and event-data for {event_name} in {piece} never agreed after {self.max_attempts} attempts"
                )
            if rows is None:
                yield from self._read(tally, piece, pool)
                continue
            tally.read += len(rows)
            tally.up_to_ms = piece.end_ms
            self.progress.update(tally.status())
            yield SliceData(piece, rows, properties)


_DECODERS = {"events": decode_events_page, "event-data": decode_event_data_page}


def _ids(rows: list[Any], id_key: str) -> set[Any]:
    """The distinct ids of a page's rows: typed rows (all of one type) or plain JSON objects."""
    if rows and isinstance(rows[0], EventRow | EventDataRow):
        return {getattr(r, id_key) for r in rows}
    return {r.get(id_key) for r in rows if isinstance(r, Mapping)}


@dataclass
class _Tally:
    """One event name's read so far, across the slices read again (and split) on the way."""

    event_name: str
    read: int = 0
    total: int | None = None
    up_to_ms: int | None = None
    started: float = field(default_factory=time.monotonic)

    def status(self, *, done: bool = False) -> ReadStatus:
        return ReadStatus(self.event_name, self.read, self.total, time.monotonic() - self.started, self.up_to_ms, done)


@dataclass
class _Planned:
    """A slice to read; ``fits`` when it was cut to fit a page, so its pages may be asked for early."""

    piece: Slice
    fits: bool
    events: Future | None = None
    data: Future | None = None


class _Mismatch(Exception):
    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"{expected} != {found}")
        self.expected, self.found = expected, found
