"""Fixtures for the simulator tests: real HTTP over loopback, no mocks."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.umami_sim.helpers import CONTRACT_DIR, Api
from umami_sim import UmamiSimulator


@pytest.fixture(scope="session")
def contract_dir() -> Path:
    assert (CONTRACT_DIR / "captures.jsonl").is_file(), f"the Umami contract is missing from {CONTRACT_DIR}"
    return CONTRACT_DIR


@pytest.fixture(scope="session")
def contract_dataset(contract_dir: Path) -> dict:
    return json.loads((contract_dir / "dataset.json").read_text(encoding="utf-8"))


@pytest.fixture
def sim() -> Iterator[UmamiSimulator]:
    with UmamiSimulator(seed=int(os.environ.get("UMAMI_SIM_TEST_SEED", "11"))) as simulator:
        yield simulator


@pytest.fixture
def api(sim: UmamiSimulator) -> Api:
    """A client of ``sim`` that has logged in."""
    client = Api(sim.base_url)
    client.login(sim.username, sim.password)
    return client


@pytest.fixture(scope="session")
def contract_sim(contract_dataset: dict) -> Iterator[tuple[UmamiSimulator, str]]:
    """A simulator holding the contract dataset (sent over HTTP in seq order); read-only for tests."""
    with UmamiSimulator(seed=5) as simulator:
        website = simulator.create_website("umami-contract", "course.example.com")
        answers = simulator.send_dataset(contract_dataset, website)
        assert all(a["status"] == 200 for a in answers)
        yield simulator, website
