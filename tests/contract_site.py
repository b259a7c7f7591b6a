"""The contract dataset on a running Umami-compatible server, for tests that run the whole CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from tests import oracle
from umami_sim import UmamiSimulator

# settings of this process that must not leak into the CLI the tests start
_OWN_SETTINGS = ("UMAMI_", "WAREHOUSE_", "SPARK_", "LAKE_")


@contextmanager
def contract_site(password: str) -> Iterator[dict[str, str]]:
    """While the block runs: a simulator holding dataset.json (sent through /api/send) and the
    environment for `course-analytics` to read it (this process's own warehouse and Umami
    settings removed)."""
    with contract_simulator(password) as (sim, website):
        yield cli_environment(sim, website)


@contextmanager
def contract_simulator(password: str = "umami") -> Iterator[tuple[UmamiSimulator, str]]:
    """While the block runs: a simulator holding dataset.json, and the website it is in."""
    with UmamiSimulator(password=password) as sim:
        website = sim.create_website("umami-contract", "course.example.com")
        answers = sim.send_dataset(oracle.load_json("dataset.json"), website)
        assert all(answer["status"] == 200 for answer in answers)
        yield sim, website


def cli_environment(sim: UmamiSimulator, website: str) -> dict[str, str]:
    """This process's environment for `course-analytics` to read ``website`` of ``sim`` (this
    process's own warehouse and Umami settings removed)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)},
        "UMAMI_API_URL": sim.base_url,
        "UMAMI_WEBSITE_ID": website,
        "UMAMI_USERNAME": sim.username,
        "UMAMI_PASSWORD": sim.password,
    }
