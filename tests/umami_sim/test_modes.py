"""Umami Cloud mode (API key, /v1, rate limit) and version emulation (feature detection targets)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.umami_sim.helpers import RANGE_40D, Api
from umami_sim import UmamiSimulator

KEY = "api_test_key_0123456789"


def test_cloud_auth_by_api_key() -> None:
    with UmamiSimulator(cloud=True, api_key=KEY) as sim:
        assert sim.base_url.endswith("/v1")
        website = sim.create_website()
        anonymous = Api(sim.base_url)
        assert anonymous.get("/websites").status_code == 401
        assert anonymous.get("/websites").json() == {
            "error": {"message": "Unauthorized", "code": "unauthorized", "status": 401}
        }
        assert Api(sim.base_url, api_key="wrong").get("/websites").status_code == 401
        keyed = Api(sim.base_url, api_key=KEY)
        assert keyed.get("/websites").json()["count"] == 1
        assert keyed.get(f"/websites/{website}/events", RANGE_40D, auth="none").json()["count"] == 0
        assert keyed.post("/auth/login", {"username": "admin", "password": "umami"}).status_code == 404
        assert requests.get(f"{sim.root_url}/api/websites", headers={"x-umami-api-key": KEY}).status_code == 404
        assert keyed.post("/websites", {"name": "second", "domain": "b.example.com"}).status_code == 200


def test_cloud_rate_limit_is_50_per_15_seconds() -> None:
    with UmamiSimulator(cloud=True, api_key=KEY) as sim:
        keyed = Api(sim.base_url, api_key=KEY)
        assert Api(sim.base_url, api_key="wrong").get("/websites").status_code == 401  # not counted
        assert [keyed.get("/websites").status_code for _ in range(50)] == [200] * 50
        limited = keyed.get("/websites")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 15
        assert keyed.get("/heartbeat").status_code == 200  # public, never limited


def test_cloud_rate_limit_recovers_after_the_window() -> None:
    with UmamiSimulator(cloud=True, api_key=KEY, rate_limit=3, rate_window_s=1.5) as sim:
        keyed = Api(sim.base_url, api_key=KEY)
        assert [keyed.get("/websites").status_code for _ in range(4)] == [200, 200, 200, 429]
        time.sleep(1.6)
        assert keyed.get("/websites").status_code == 200


@pytest.fixture
def fed(contract_dataset: dict, request: pytest.FixtureRequest) -> Iterator[tuple[Api, str, str]]:
    with UmamiSimulator(version=request.param) as sim:
        website = sim.create_website()
        sim.send_dataset(contract_dataset, website, over_http=False)
        api = Api(sim.base_url, token=sim.token())
        some_event = api.json(f"/websites/{website}/events", **RANGE_40D, event="course_visit")["data"][0]["id"]
        yield api, website, some_event


def _is_next_404(answer: requests.Response) -> bool:
    return answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("fed", ["3.1.0"], indirect=True)
def test_version_3_1_0_has_everything(fed: tuple[Api, str, str]) -> None:
    api, website, event = fed
    assert api.get(f"/websites/{website}/event-data", RANGE_40D).json()["count"] == 58
    assert len(api.get(f"/websites/{website}/event-data/{event}").json()) == 4
    assert api.json(f"/websites/{website}/events", **RANGE_40D, event="course_visit")["count"] == 51


@pytest.mark.parametrize("fed", ["3.0.3"], indirect=True)
def test_version_3_0_3_has_no_event_data_list(fed: tuple[Api, str, str]) -> None:
    api, website, event = fed
    assert _is_next_404(api.get(f"/websites/{website}/event-data", RANGE_40D))
    assert len(api.get(f"/websites/{website}/event-data/{event}").json()) == 4
    assert api.json(f"/websites/{website}/events", **RANGE_40D, event="course_visit")["count"] == 51


@pytest.mark.parametrize("fed", ["2.11.0"], indirect=True)
def test_version_2_11_0_has_no_event_data_and_ignores_the_event_filter(fed: tuple[Api, str, str]) -> None:
    api, website, event = fed
    assert _is_next_404(api.get(f"/websites/{website}/event-data", RANGE_40D))
    assert _is_next_404(api.get(f"/websites/{website}/event-data/{event}"))
    assert api.json(f"/websites/{website}/events", **RANGE_40D, event="course_visit")["count"] == 75


def test_unknown_routes_and_methods() -> None:
    with UmamiSimulator() as sim:
        api = Api(sim.base_url, token=sim.token())
        assert _is_next_404(api.get("/no-such-route"))
        assert _is_next_404(requests.get(sim.root_url + "/elsewhere"))
        assert requests.delete(sim.base_url + "/heartbeat").status_code == 405
        assert requests.get(sim.send_url).status_code == 405
