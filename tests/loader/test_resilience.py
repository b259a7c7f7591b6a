"""The loader under faults, expiring tokens, Umami Cloud limits, old servers and late events."""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from flows import paths
from flows.warehouse import Warehouse
from loader.pipeline import PIPELINE_NAME, make_pipeline
from loader.umami.errors import UmamiTransientError, UmamiVersionError
from tests.loader.conftest import AS_OF, UmamiSite, expected_events, raw_events, raw_snapshot
from umami_sim import Fault, UmamiSimulator, course_visit_body

TRANSIENT_FAULTS = {
    "429 with Retry-After": Fault("status", count=2, status=429, retry_after=1),
    "500 burst": Fault("status", count=3, status=500),
    "502 burst": Fault("status", count=3, status=502),
    "503 burst": Fault("status", count=3, status=503),
    "connection reset": Fault("reset", count=2),
    "timeout": Fault("timeout", count=1, hold_s=3.0),
    "malformed JSON": Fault("malformed", count=2),
    "short page of events": Fault("short_page", count=2, path="/events", drop_rows=1),
    "short page of event-data": Fault("short_page", count=2, path="/event-data", drop_rows=2),
    "events without ids": Fault("bad_rows", count=2, path="/events", patch={"id": None}, patch_rows=2),
}


def _loaded_until(warehouse: Warehouse, website_id: str) -> int | None:
    """The read mark the loader keeps in dlt state, as a fresh pipeline object sees it."""
    pipeline = make_pipeline(warehouse.dsn, paths.data_dir() / "dlt")
    assert pipeline.pipeline_name == PIPELINE_NAME
    state = pipeline.state.get("sources", {}).get("umami", {}).get("resources", {}).get("events", {})
    return state.get("websites", {}).get(website_id, {}).get("course_visit", {}).get("loaded_until_ms")


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS.values(), ids=TRANSIENT_FAULTS.keys())
def test_transient_faults_end_in_complete_data(
    contract_site: UmamiSite, contract_dataset, fresh_database, load_site, fault: Fault
) -> None:
    contract_site.sim.add_fault(fault)
    load_site(contract_site, fresh_database, page_size=7)
    assert contract_site.sim.stats()["faults_fired"], "the fault never fired"
    assert raw_events(fresh_database) == expected_events(contract_dataset)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", count=None, status=503, path="/events"),
        Fault("short_page", count=None, path="/events"),
        Fault("bad_rows", count=None, path="/events", patch={"id": None}, patch_rows=2),
        Fault("bad_rows", count=None, path="/events", patch={"id": 5}),
        Fault("bad_rows", count=None, path="/events/stats", patch={"data": {"events": "many"}}),
    ],
    ids=[
        "endless 503",
        "endless short pages",
        "endless events without ids",
        "endless numbers for ids",
        "events/stats without counts",
    ],
)
def test_persistent_faults_fail_clearly_without_advancing(
    contract_site: UmamiSite, fresh_database, load_site, fault: Fault
) -> None:
    load_site(contract_site, fresh_database, as_of=AS_OF - timedelta(days=2))
    before = raw_snapshot(fresh_database)
    mark = _loaded_until(fresh_database, contract_site.website_id)
    contract_site.sim.add_fault(fault)
    with pytest.raises(Exception) as failure:
        load_site(contract_site, fresh_database)
    from flows.failures import describe, root_cause

    assert isinstance(root_cause(failure.value), UmamiTransientError)
    message = describe(failure.value)
    assert "/events" in message or "events" in message
    reasons = ("503", "count", "never agreed", "answered {'data': {'events': 'many'}}")
    assert any(reason in message for reason in reasons)
    assert raw_snapshot(fresh_database) == before  # nothing half-written
    assert _loaded_until(fresh_database, contract_site.website_id) == mark  # state did not advance


def test_sessions_that_cannot_be_read_fail_the_run_clearly(contract_site: UmamiSite, fresh_database, load_site) -> None:
    """Sessions are fetched in the background while events are read: a failure still stops the run."""
    contract_site.sim.add_fault(Fault("status", count=None, status=503, path="/sessions/"))
    with pytest.raises(Exception) as failure:
        load_site(contract_site, fresh_database)
    from flows.failures import describe, root_cause

    assert isinstance(root_cause(failure.value), UmamiTransientError)
    assert "/sessions/" in describe(failure.value) and "503" in describe(failure.value)
    assert _loaded_until(fresh_database, contract_site.website_id) is None  # nothing marked as read
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute("select to_regclass('umami_raw.events')")
        assert cur.fetchone()[0] is None  # nothing was loaded


def test_token_expiry_logs_in_again(contract_site: UmamiSite, contract_dataset, fresh_database, load_site) -> None:
    contract_site.sim.add_fault(Fault("token_expiry", count=1, path="/event-data"))
    load_site(contract_site, fresh_database, page_size=7)
    assert contract_site.sim.request_count("/auth/login") == 2
    assert raw_events(fresh_database) == expected_events(contract_dataset)


def test_wrong_password_is_a_clear_permanent_error(contract_site: UmamiSite, fresh_database, load_site) -> None:
    with pytest.raises(Exception) as failure:
        load_site(contract_site, fresh_database, settings={"password": "not-the-password"})
    from flows.failures import describe, is_permanent

    assert is_permanent(failure.value)
    assert "rejected the login for user 'admin'" in describe(failure.value)
    assert "not-the-password" not in describe(failure.value)


def test_umami_cloud_mode_is_throttled_client_side(contract_dataset, fresh_database, load_site) -> None:
    """The simulator enforces 10 requests per 2 s with 429; the client keeps under it by itself."""
    with UmamiSimulator(cloud=True, api_key="cloud-key-123", rate_limit=10, rate_window_s=2.0) as sim:
        website = sim.create_website("cloud", "course.example.com")
        sim.send_dataset(contract_dataset, website)
        site = UmamiSite(sim, website)
        started = time.monotonic()
        result = load_site(
            site,
            fresh_database,
            page_size=7,
            client_options={"requests_per_window": 10, "window_seconds": 2.0},
        )
        elapsed = time.monotonic() - started
        assert sim.base_url.endswith("/v1")
    assert result.report.requests > 20
    assert result.report.client.retries == 0  # never answered 429: the server's limit was never hit
    assert elapsed >= 2.0 * (result.report.requests // 10 - 1)  # it really waited
    assert raw_events(fresh_database) == expected_events(contract_dataset)


def test_umami_v3_0_falls_back_to_one_request_per_event(contract_dataset, fresh_database, load_site) -> None:
    with UmamiSimulator(version="3.0.3") as sim:
        website = sim.create_website("v30", "course.example.com")
        sim.send_dataset(contract_dataset, website)
        load_site(UmamiSite(sim, website), fresh_database, page_size=7)
        per_event = [
            path
            for path in sim.stats()["requests"]
            if re.search(r"/event-data/[0-9a-f-]{36}$", path) and not path.endswith("-000000000000")
        ]
    assert len(per_event) == 50  # one request per course_visit that has data, none for the one without
    assert raw_events(fresh_database) == expected_events(contract_dataset)


def test_umami_v2_is_refused_with_the_version_requirement(contract_dataset, fresh_database, load_site) -> None:
    with UmamiSimulator(version="2.11.0") as sim:
        website = sim.create_website("v2", "course.example.com")
        sim.send_dataset(contract_dataset, website)
        with pytest.raises(Exception) as failure:
            load_site(UmamiSite(sim, website), fresh_database)
    from flows.failures import describe, root_cause

    assert isinstance(root_cause(failure.value), UmamiVersionError)
    assert "Umami v3.0 or newer" in describe(failure.value)


def test_late_events_inside_the_lookback_are_picked_up(
    contract_site: UmamiSite, contract_dataset, fresh_database, load_site
) -> None:
    load_site(contract_site, fresh_database)
    late = [
        _visit(contract_site.website_id, "u-0009", "shifu-late", AS_OF - timedelta(days=1, hours=3)),  # in lookback
        _visit(contract_site.website_id, "u-0009", "shifu-late", AS_OF - timedelta(days=20)),  # too old
    ]
    for body in late:
        assert contract_site.sim.send(body)[0] == 200
    next_as_of = AS_OF + timedelta(hours=1)
    load_site(contract_site, fresh_database, as_of=next_as_of)
    loaded = {e.at for e in raw_events(fresh_database) if e.user == "u-0009"}
    assert loaded == {AS_OF.replace(microsecond=0) - timedelta(days=1, hours=3)}  # the 20-day-old one waits
    load_site(contract_site, fresh_database, as_of=next_as_of, full_refresh=True)  # a full re-read gets it
    assert len({e.at for e in raw_events(fresh_database) if e.user == "u-0009"}) == 2


def test_no_credential_in_logs_errors_or_tables(
    contract_dataset, fresh_database, load_site, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Kp9-planted-secret-7731"
    caplog.set_level(logging.DEBUG)
    with UmamiSimulator(password=secret) as sim:
        site = UmamiSite(sim, sim.create_website("secret", "course.example.com"))
        sim.send_dataset(contract_dataset, site.website_id)
        sim.add_fault(Fault("status", count=2, status=503))
        sim.add_fault(Fault("token_expiry", count=1, path="/websites/"))
        load_site(site, fresh_database)
        assert sim.request_count("/auth/login") >= 2  # the password was sent again after the expiry
        sim.add_fault(Fault("status", count=None, status=500))
        with pytest.raises(Exception) as failure:
            load_site(site, fresh_database, client_options={"max_attempts": 2})
    from flows.failures import describe

    assert secret not in caplog.text
    assert secret not in describe(failure.value) and secret not in repr(failure.value)
    with fresh_database.connect() as conn, conn.cursor() as cur:
        cur.execute("select table_name from information_schema.tables where table_schema = 'umami_raw'")
        for (table,) in cur.fetchall():
            cur.execute(f'select count(*) from umami_raw."{table}" t where t::text like %s', (f"%{secret}%",))
            assert cur.fetchone()[0] == 0, table


def _visit(website_id: str, user: str, course: str, at: datetime) -> dict:
    return course_visit_body(website_id, user, course, int(at.astimezone(UTC).timestamp()))
