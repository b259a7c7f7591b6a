"""The event names the sync loads: ``course_visit`` and every key of the tracking plan's catalog."""

from __future__ import annotations

import csv
from functools import cache

from flows import paths

COURSE_EVENT = "course_visit"


@cache
def tracking_event_keys() -> tuple[str, ...]:
    """The catalog's event keys, from the dbt seed (the plan is shipped in one place only)."""
    seed = paths.dbt_project_dir() / "seeds" / "tracking_event_catalog.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        keys = [row["event_key"].strip() for row in csv.DictReader(handle) if row.get("event_key")]
    if not keys:
        raise RuntimeError(f"the tracking event catalog {seed} lists no event keys")
    return tuple(keys)


def default_event_names() -> tuple[str, ...]:
    return tuple(dict.fromkeys((COURSE_EVENT, *tracking_event_keys())))
