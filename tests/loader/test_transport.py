"""The client's urllib3 transport: its own answers and errors, proxy settings from the environment;
the event-data page asked for beside its events page, and the pages of several slices asked for at once."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from datetime import UTC, datetime

import orjson
import pytest

from flows.warehouse import Warehouse
from loader.umami.client import ClientSettings, UmamiClient
from loader.umami.reader import Slice, SliceReader, detect_features
from loader.umami.transport import Answer, Transport, TransportError
from tests.loader.conftest import UmamiSite
from umami_sim import Fault


def _transport(url: str) -> Transport:
    return Transport(url, connect_timeout=2.0, read_timeout=2.0, user_agent="test", connections=8)


def test_answers_carry_status_lowercased_headers_and_the_whole_body(contract_site: UmamiSite) -> None:
    answer = _transport(contract_site.sim.base_url).send(
        "POST",
        contract_site.sim.base_url + "/auth/login",
        json_body={"username": contract_site.sim.username, "password": "wrong"},
        headers={},
    )
    assert isinstance(answer, Answer)
    assert answer.status == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert orjson.loads(answer.content)  # the body came back whole
    assert answer.url.endswith("/auth/login")


def test_the_proxy_from_the_environment_is_used(contract_site: UmamiSite, monkeypatch: pytest.MonkeyPatch) -> None:
    # The simulator answers a proxy-style request ("GET http://host/path") by its path, so with it as
    # the proxy, a host that does not resolve is still answered: proof the request went through it.
    root = contract_site.sim.root_url
    monkeypatch.setenv("HTTP_PROXY", root)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    answer = _transport("http://umami.invalid/api").send("GET", "http://umami.invalid/api/heartbeat", headers={})
    assert answer.status == 200
    monkeypatch.setenv("NO_PROXY", "umami.invalid")
    with pytest.raises(TransportError, match="connection"):
        _transport("http://umami.invalid/api").send("GET", "http://umami.invalid/api/heartbeat", headers={})


def test_no_answer_is_a_retryable_transport_error_that_says_why(contract_site: UmamiSite) -> None:
    with pytest.raises(TransportError) as refused:  # nothing listens on port 9 on loopback
        _transport("http://127.0.0.1:9/api").send("GET", "http://127.0.0.1:9/api/heartbeat", headers={})
    assert str(refused.value).startswith("connection refused") and refused.value.retryable  # not a timeout
    contract_site.sim.add_fault(Fault("timeout", path="/heartbeat", hold_s=3.0))
    url = contract_site.sim.base_url
    with pytest.raises(TransportError, match="read timeout"):
        Transport(url, connect_timeout=2.0, read_timeout=0.5, user_agent="test", connections=8).send(
            "GET", url + "/heartbeat", headers={}
        )


class _RecordingClient(UmamiClient):
    """Notes when each page request started and ended."""

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        self.log: list[tuple[str, float, float]] = []
        self.asked: list[tuple[str, int]] = []  # (endpoint, startAt) in the order the requests started
        self._log_lock = threading.Lock()

    def get(self, path, params=None, *, decode=None):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        with self._log_lock:
            self.asked.append((path.rsplit("/", 1)[-1], (params or {}).get("startAt", -1)))
        try:
            return super().get(path, params, decode=decode)
        finally:
            with self._log_lock:
                self.log.append((path.rsplit("/", 1)[-1], started, time.monotonic()))


def test_a_slice_cut_from_a_split_asks_for_its_event_data_while_its_events_are_read(
    contract_site: UmamiSite,
) -> None:
    sim = contract_site.sim
    client = _RecordingClient(ClientSettings(api_url=sim.base_url, username=sim.username, password=sim.password))
    until = int(datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
    reader = SliceReader(
        client, contract_site.website_id, detect_features(client, contract_site.website_id, until), page_size=20
    )
    window = Slice(int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000), until)
    whole = client.get(
        f"/websites/{contract_site.website_id}/events",
        {"startAt": window.start_ms, "endAt": window.end_ms, "event": "course_visit", "pageSize": 1000},
    )
    sim.add_fault(Fault("latency", count=None, path="/events", latency_ms=150))  # an events page takes a while
    client.log.clear()
    read = list(reader.read("course_visit", window))
    assert sorted(e.id for piece in read for e in piece.events) == sorted(e["id"] for e in whole["data"])
    assert {e.id for piece in read for e in piece.events if e.hasData} == {
        event_id for piece in read for event_id in piece.properties
    }
    pages = [entry for entry in client.log if entry[0] in ("events", "event-data")]
    events = [entry for entry in pages if entry[0] == "events"]
    event_data = [entry for entry in pages if entry[0] == "event-data"]
    assert len(events) >= 3  # the window was split
    # the first window is read alone; each slice cut from it has its event-data page in flight
    # while its events page is (the events pages take 150 ms, the event-data pages a few)
    cut = [(start, end) for _, start, end in events if start >= events[0][2]]
    overlapping = [data for data in event_data if any(data[1] < end and start < data[2] for start, end in cut)]
    assert len(overlapping) == len(event_data) >= 2


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    moments = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda m: (m[0], m[1]))
    most = now = 0
    for _, step in moments:
        now += step
        most = max(most, now)
    return most


def _slice_reader(site: UmamiSite, slices_at_once: int) -> tuple[_RecordingClient, SliceReader, Slice]:
    sim = site.sim
    client = _RecordingClient(ClientSettings(api_url=sim.base_url, username=sim.username, password=sim.password))
    until = int(datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
    features = detect_features(client, site.website_id, until)
    reader = SliceReader(client, site.website_id, features, page_size=10, slices_at_once=slices_at_once)
    client.log.clear()
    client.asked.clear()
    return client, reader, Slice(int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000), until)


def test_the_pages_of_several_slices_are_asked_for_at_once(contract_site: UmamiSite) -> None:
    client, reader, window = _slice_reader(contract_site, slices_at_once=3)
    contract_site.sim.add_fault(Fault("latency", count=None, path="/events", latency_ms=100))
    read = list(reader.read("course_visit", window))
    assert len(read) >= 4
    events = [(start, end) for name, start, end in client.log if name == "events"]
    # three slices asked for ahead, and the first part of a slice split again besides them
    assert 3 <= _most_at_once(events) <= 4


@pytest.mark.parametrize("slices_at_once", [1, 3])
def test_a_slow_consumer_gets_every_slice_in_order_and_the_reader_holds_at_most_slices_at_once(
    contract_site: UmamiSite, slices_at_once: int
) -> None:
    client, reader, window = _slice_reader(contract_site, slices_at_once)
    pieces, ahead = [], []
    for piece in reader.read("course_visit", window):
        time.sleep(0.05)  # the server is faster than this consumer
        pieces.append(piece.slice)
        with client._log_lock:
            asked = {start for name, start in client.asked if name == "events"}
        ahead.append(sum(start > piece.slice.end_ms for start in asked))
    assert len(pieces) >= 4
    assert pieces[0].start_ms == window.start_ms and pieces[-1].end_ms == window.end_ms
    assert all(a.end_ms + 1 == b.start_ms for a, b in itertools.pairwise(pieces))  # in order, no gap
    # the slice handed over and those asked for after it: never more than slices_at_once
    assert max(ahead) + 1 == slices_at_once


@pytest.mark.parametrize(("connections", "discarded"), [(12, False), (4, True)])
def test_threads_sending_at_once_each_keep_a_pooled_connection(
    contract_site: UmamiSite, caplog: pytest.LogCaptureFixture, connections: int, discarded: bool
) -> None:
    sim = contract_site.sim
    settings = ClientSettings(api_url=sim.base_url, username=sim.username, password=sim.password)
    client = UmamiClient(settings, connections=connections)
    client.get(f"/websites/{contract_site.website_id}")  # logs in first
    sim.add_fault(Fault("latency", count=None, path="/websites/", latency_ms=100))
    threads = [threading.Thread(target=client.get, args=(f"/websites/{contract_site.website_id}",)) for _ in range(12)]
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert any("Connection pool is full" in r.getMessage() for r in caplog.records) is discarded


def test_a_load_keeps_a_connection_for_each_thread_that_sends(
    contract_site: UmamiSite, fresh_database: Warehouse, load_site, caplog: pytest.LogCaptureFixture
) -> None:
    """Page readers and session fetchers all sending at once (every answer held 50 ms)."""
    contract_site.sim.add_fault(Fault("latency", count=None, path="/", latency_ms=50))
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        result = load_site(contract_site, fresh_database, page_size=3)
    assert result.rows["events"] == 51
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
