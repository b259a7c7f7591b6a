"""The sync loads course_visit and every event key of the tracking plan's catalog."""

from __future__ import annotations

import csv

from flows import paths
from flows.catalog import default_event_names


def test_default_event_names_are_course_visit_and_the_catalog() -> None:
    seed = paths.dbt_project_dir() / "seeds" / "tracking_event_catalog.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        keys = [row["event_key"] for row in csv.DictReader(handle)]
    names = default_event_names()
    assert names[0] == "course_visit" and len(names) == len(set(names))
    assert set(names) == {"course_visit", *keys} and "work_play_start" in names and "daily_login" in names
