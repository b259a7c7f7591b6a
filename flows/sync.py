"""The steps of a sync: plan the window, load (dlt), transform (dbt build), publish (``flows.publish``).

Each step is a plain function of the run's :class:`~loader.umami.windows.SyncWindow`, planned
once by :func:`plan` before anything is read. ``flows.steps.run_sync`` composes them, as the
Prefect flow's tasks (``flows.flow``: ``run`` and the deployment) or as plain calls (the CLI's
``load`` and ``transform``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from flows import paths, progress, redact
from flows.catalog import default_event_names
from flows.dbt import DbtOutcome, run_dbt
from flows.settings import UmamiSettings
from flows.warehouse import Warehouse
from loader.pipeline import (
    RAW_DATASET,
    LoadResult,
    loaded_marks,
    run_load,
)
from loader.umami import LoadReport, SensitiveRules, SyncWindow, plan_sync_window, umami_source
from loader.umami.client import display_url
from loader.umami.windows import DEFAULT_LOOKBACK_DAYS, DEFAULT_PAGE_SIZE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncParameters:
    """What a run was asked for (the flow's parameters, already typed by Prefect)."""

    as_of: datetime | None = None  # None: now minus the settle delay
    start_date: date | None = None  # None: all history on a first run, never a backfill later
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    full_refresh: bool = False
    page_size: int = DEFAULT_PAGE_SIZE


@cache
def sensitive_rules() -> SensitiveRules:
    """The sensitive-metadata rules the models read too (the dbt seed ``sensitive_metadata_rules``)."""
    return SensitiveRules.from_csv(paths.dbt_project_dir() / "seeds" / "sensitive_metadata_rules.csv")


def plan(
    warehouse: Warehouse,
    umami: UmamiSettings | None,
    parameters: SyncParameters,
    event_names: Sequence[str] | None = None,
) -> SyncWindow:
    """The run's window: what it reads of ``umami`` (``event_names``, default: ``course_visit`` and
    the tracking catalog; nothing without ``umami``) and what it rebuilds."""
    marks = loaded_marks(warehouse.raw_pipeline(), umami.website_id) if umami is not None else {}
    if umami is None:
        event_names = ()
    return plan_sync_window(
        event_names=default_event_names() if event_names is None else event_names,
        marks=marks,
        as_of=parameters.as_of,
        lookback_days=parameters.lookback_days,
        start_date=parameters.start_date,
        full_refresh=parameters.full_refresh,
    )


def load(
    warehouse: Warehouse,
    umami: UmamiSettings,
    window: SyncWindow,
    page_size: int = DEFAULT_PAGE_SIZE,
    client_options: Mapping[str, Any] | None = None,
) -> LoadResult:
    """Pull ``window.reads`` into ``umami_raw``; the marks advance only when the load succeeds.
    ``client_options``: :class:`~loader.umami.client.ClientSettings` fields (timeouts, retries)."""
    redact.register(**umami.secrets, **warehouse.secrets)
    report = LoadReport(
        run_id=str(uuid.uuid4()),
        api_url=display_url(umami.api_url),
        website_id=umami.website_id,
        window=window,
        started_at=datetime.now(UTC),
    )
    source = umami_source(
        api_url=umami.api_url,
        website_id=umami.website_id,
        window=window,
        sensitive_rules=sensitive_rules(),
        username=umami.username,
        password=umami.password,
        api_key=umami.api_key,
        known_sessions=warehouse.known_sessions(),
        page_size=page_size,
        client_options=dict(client_options or {}),
        report=report,
        progress=progress.installed(),
    )
    return run_load(
        warehouse.raw_pipeline(),
        warehouse.prepare_source(source),
        report,
        loader_file_format=warehouse.loader_file_format,
        after_load=warehouse.after_load,
    )


class NothingLoaded(RuntimeError):
    """The warehouse has no raw tables yet: there is nothing to transform."""


def transform(warehouse: Warehouse, window: SyncWindow, sync_time: datetime) -> DbtOutcome:
    """``dbt build`` (models, seeds, data tests) into the build schema, with the window's vars.

    Unit tests are left to the test suite and CI, as dbt advises: their inputs are static, so
    running them every hour would re-prove the same SQL (about 3 s of each build).
    """
    missing = warehouse.missing_raw_tables()
    if missing:
        raise NothingLoaded(
            f"the warehouse {warehouse.display} has no {RAW_DATASET}.{missing[0]} yet: nothing was loaded "
            "into it; run `course-analytics run` (or `load`) first"
        )
    args = ["build", "--exclude-resource-type", "unit_test"]
    if window.full_refresh:
        args.append("--full-refresh")
    outcome = run_dbt(warehouse, args, dbt_vars=window.dbt_vars(sync_time))
    log.info("dbt build: %s", outcome.summary())
    return outcome
