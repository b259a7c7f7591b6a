"""How far a load's reads are: the real reader against the simulator reports Umami's count as
each name's total and every event it hands over; a load reports every name it reads; off a
terminal the report is a log line "N of TOTAL" every so often."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import accumulate

import pytest

from flows.progress import reporting
from flows.warehouse import Warehouse
from loader.umami.client import ClientSettings, UmamiClient
from loader.umami.errors import UmamiPermanentError
from loader.umami.progress import LogProgress, ReadStatus
from loader.umami.reader import Slice, SliceReader, detect_features
from loader.umami.windows import DEFAULT_START_DATE, midnight, to_ms
from tests.loader.conftest import AS_OF, UmamiSite
from umami_sim import Fault

WINDOW = Slice(to_ms(midnight(DEFAULT_START_DATE)), to_ms(AS_OF))  # a first load's read


class Recorder:
    """A ReadProgress that keeps what it was told."""

    def __init__(self) -> None:
        self.plans: list[list[str]] = []
        self.statuses: list[ReadStatus] = []
        self.abandoned_at: list[ReadStatus] = []
        self._lock = threading.Lock()

    def planned(self, event_names: Sequence[str]) -> None:
        self.plans.append(list(event_names))

    def update(self, status: ReadStatus) -> None:
        with self._lock:
            self.statuses.append(status)

    def abandoned(self, status: ReadStatus) -> None:
        self.abandoned_at.append(status)


def _client(site: UmamiSite) -> UmamiClient:
    sim = site.sim
    return UmamiClient(ClientSettings(api_url=sim.base_url, username=sim.username, password=sim.password))


def umami_count(site: UmamiSite, event_name: str) -> int:
    """What Umami counts of ``event_name`` over the read window (asked here, not by the reader)."""
    params = {"startAt": WINDOW.start_ms, "endAt": WINDOW.end_ms, "event": event_name, "pageSize": 1}
    return _client(site).get(f"/websites/{site.website_id}/events", params)["count"]


def _reader(site: UmamiSite, progress: object) -> SliceReader:
    client = _client(site)
    features = detect_features(client, site.website_id, WINDOW.end_ms)
    return SliceReader(client, site.website_id, features, page_size=10, progress=progress)  # type: ignore[arg-type]


def test_the_reader_reports_umamis_count_first_then_every_event_it_hands_over(contract_site: UmamiSite) -> None:
    count = umami_count(contract_site, "course_visit")
    recorder = Recorder()
    reader = _reader(contract_site, recorder)
    contract_site.sim.add_fault(Fault("short_page", path="/events", count=2))  # slices read again: counted once
    pieces = list(reader.read("course_visit", WINDOW))

    first, slices, last = recorder.statuses[0], recorder.statuses[1:-1], recorder.statuses[-1]
    assert count > 10 and len(pieces) > 1  # more than a page: the window was split
    assert (first.read, first.total, first.up_to_ms, first.done) == (0, count, None, False)
    assert [s.read for s in slices] == list(accumulate(len(p.events) for p in pieces))
    assert [s.up_to_ms for s in slices] == [p.slice.end_ms for p in pieces]
    assert all(s.total == count and not s.done for s in slices)
    assert (last.read, last.total, last.done) == (count, count, True)
    assert sum(len(p.events) for p in pieces) == count


def test_a_read_that_stops_early_or_fails_says_where_and_never_that_it_ended(contract_site: UmamiSite) -> None:
    recorder = Recorder()
    reader = _reader(contract_site, recorder)
    pieces = reader.read("course_visit", WINDOW)
    first = next(pieces)
    pieces.close()  # the consumer stops reading
    contract_site.sim.add_fault(Fault("status", count=None, path="/events", status=418))
    with pytest.raises(UmamiPermanentError, match="HTTP 418"):
        list(reader.read("daily_login", WINDOW))
    stopped = [(s.event_name, s.read, s.done) for s in recorder.abandoned_at]
    assert stopped == [("course_visit", len(first.events), False), ("daily_login", 0, False)]
    assert recorder.abandoned_at[1].total is None  # its first page never answered
    assert not any(s.done for s in recorder.statuses)


def _loaded_per_name(warehouse: Warehouse) -> Counter:
    with warehouse.connect() as conn, conn.cursor() as cur:
        cur.execute("select event_name, count(*) from umami_raw.events group by event_name")
        return Counter(dict(cur.fetchall()))


def test_a_load_reports_each_name_read_equal_to_umamis_count_and_to_the_rows_loaded(
    contract_site: UmamiSite, fresh_database: Warehouse, load_site
) -> None:
    names = ("course_visit", "daily_login", "never_sent")
    recorder = Recorder()
    with reporting(recorder):
        result = load_site(contract_site, fresh_database, event_names=names, page_size=10)
    assert recorder.plans == [list(names)]
    done = {s.event_name: s for s in recorder.statuses if s.done}
    loaded = _loaded_per_name(fresh_database)
    for name in names:
        umami = umami_count(contract_site, name)
        assert (done[name].read, done[name].total) == (umami, umami), name
        assert loaded[name] == umami == result.report.events[name], name
    assert loaded["course_visit"] > 10 and loaded["daily_login"] > 0 and done["never_sent"].read == 0
    assert [s.event_name for s in recorder.statuses if s.done] == list(names)  # read in the planned order


def test_off_a_terminal_the_reads_are_log_lines_of_umamis_count(
    contract_site: UmamiSite, caplog: pytest.LogCaptureFixture
) -> None:
    count = umami_count(contract_site, "course_visit")
    with caplog.at_level(logging.INFO, logger="loader.umami.progress"):
        list(_reader(contract_site, LogProgress(every_s=0)).read("course_visit", WINDOW))
    lines = [r.getMessage() for r in caplog.records if r.name == "loader.umami.progress"]
    assert len(lines) > 1
    pattern = rf"course_visit: (\d+) of {count} events read in \d+s \(up to 20\d\d-\d\d-\d\dT[\d:.]+Z\)"
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    assert lines[-1].startswith(f"course_visit: {count} of {count} events read")


def test_log_lines_wait_every_s_per_name_and_name_no_total_when_none_is_known(
    caplog: pytest.LogCaptureFixture,
) -> None:
    progress = LogProgress(every_s=10)
    up_to = to_ms(datetime(2026, 11, 19, 12, tzinfo=UTC))
    with caplog.at_level(logging.INFO, logger="loader.umami.progress"):
        progress.update(ReadStatus("a", 5, None, 12.0, up_to))  # 12 s into its read: a line
        progress.update(ReadStatus("a", 6, None, 12.5, up_to))  # just after that line: none
        progress.update(ReadStatus("b", 0, 7, 3.0))  # its total only, nothing read yet: none
        progress.update(ReadStatus("b", 7, 7, 3.0, up_to, done=True))  # its end: the source says it
    assert [r.getMessage() for r in caplog.records] == ["a: 5 events read in 12s (up to 2026-11-19T12:00:00.000Z)"]
