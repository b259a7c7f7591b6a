"""The steps of a sync: load (dlt), transform (dbt build), publish (swap the marts live).

Each step is a plain function; the Prefect flow (``flows.flow``) and the CLI call them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flows import paths, redact
from flows.catalog import default_event_names
from flows.dbt import DbtOutcome, run_dbt
from flows.settings import UmamiSettings
from flows.warehouse import Warehouse
from loader.pipeline import LoadResult, events_present_lookup, known_sessions_lookup, make_pipeline, run_load
from loader.umami import LoadStats, default_as_of, umami_source

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK_DAYS = 3


@dataclass(frozen=True)
class SyncOptions:
    as_of: datetime
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    start_date: date | None = None  # None: DEFAULT_START_DATE on a first run, never a backfill
    full_refresh: bool = False
    event_names: tuple[str, ...] = field(default_factory=default_event_names)
    page_size: int = 10_000
    client_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, as_of: datetime | None = None, **kwargs: Any) -> SyncOptions:
        moment = as_of.astimezone(UTC) if as_of else default_as_of()
        return cls(as_of=moment, **kwargs)

    @property
    def as_of_date(self) -> date:
        return self.as_of.date()


def load(warehouse: Warehouse, umami: UmamiSettings, options: SyncOptions) -> LoadResult:
    """Pull Umami into ``umami_raw``; the read window advances only when the load succeeds."""
    redact.register(*umami.secrets, warehouse.password)
    captured: list[LoadStats] = []
    source = umami_source(
        api_url=umami.api_url,
        website_id=umami.website_id,
        username=umami.username,
        password=umami.password,
        api_key=umami.api_key,
        event_names=options.event_names,
        as_of=options.as_of,
        start_date=options.start_date,
        lookback_days=options.lookback_days,
        page_size=options.page_size,
        reread_all=options.full_refresh,
        known_sessions=known_sessions_lookup(warehouse.dsn),
        events_present=events_present_lookup(warehouse.dsn),
        client_options=options.client_options or None,
        stats_sink=captured.append,
    )
    pipeline = make_pipeline(warehouse.dsn, paths.data_dir() / "dlt")
    return run_load(pipeline, source, captured[0], warehouse.dsn)


def rebuild_from_date(options: SyncOptions, load_result: LoadResult | None) -> date:
    """The first UTC date the transform rebuilds: everything the load may have changed."""
    start = options.as_of_date - timedelta(days=max(options.lookback_days, 1) - 1)
    if load_result is not None:
        start = min(start, load_result.stats.read_start.date())
    return start


def dbt_vars(options: SyncOptions, sync_time: datetime, rebuild_from: date) -> dict[str, str]:
    return {
        "as_of": options.as_of.isoformat(),
        "sync_time": sync_time.isoformat(),
        "rebuild_from_date": rebuild_from.isoformat(),
        "lookback_days": str(options.lookback_days),
    }


def transform(warehouse: Warehouse, options: SyncOptions, sync_time: datetime, rebuild_from: date) -> DbtOutcome:
    """``dbt build`` (models, seeds, data tests) into the build schema.

    Unit tests are left to the test suite and CI, as dbt advises: their inputs are static, so
    running them every hour would re-prove the same SQL (18 of them: about 3 s of each build).
    """
    args = ["build", "--exclude-resource-type", "unit_test"]
    if options.full_refresh:
        args.append("--full-refresh")
    outcome = run_dbt(warehouse, args, dbt_vars=dbt_vars(options, sync_time, rebuild_from))
    log.info("dbt build: %s", outcome.summary())
    return outcome
