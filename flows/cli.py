"""The ``course-analytics`` command line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

import typer

from flows import paths, redact

# Keep every tool local: no telemetry or analytics calls from dlt, dbt or Prefect, and Prefect's
# own database inside the project's data folder. Set before any of them is imported.
for _key, _value in {
    "DO_NOT_TRACK": "1",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_HOME": str(paths.data_dir() / "prefect"),
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}.items():
    os.environ.setdefault(_key, _value)

app = typer.Typer(
    help="Exact course visitor analytics from Umami: load (dlt), transform (dbt), schedule (Prefect).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
warehouse_app = typer.Typer(help="Start or stop the embedded local PostgreSQL warehouse.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")

EXIT_CONFIG = 2
T = TypeVar("T")


def _parse_instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 instant such as 2026-11-19T23:59:59Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date such as 2026-01-31") from None


AsOf = Annotated[
    str | None,
    typer.Option(help="ISO 8601 UTC instant to load and compute up to (default: now minus 5 minutes)."),
]
Lookback = Annotated[int, typer.Option(min=0, help="UTC days re-read and rebuilt on every run, to catch late events.")]
StartDate = Annotated[
    str | None,
    typer.Option(
        help="First UTC date of the initial load (default: 2020-01-01, all history); a date before what is "
        "loaded backfills from there. Later runs without it stay incremental."
    ),
]
PageSize = Annotated[
    int, typer.Option(min=1, help="Events per Umami request; slices with more events are split in time.")
]
FullRefresh = Annotated[
    bool, typer.Option("--full-refresh", help="Re-read all history from --start-date and rebuild every mart.")
]


def _setup_logging() -> None:
    redact.install_log_masking()
    level = os.environ.get("COURSE_ANALYTICS_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "urllib3"):  # one line per HTTP request otherwise
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {redact.mask(message)}", err=True)
    return typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known failures into one clear line and an exit code (2 for configuration)."""
    from flows.pgserver import PostgresUnavailable
    from flows.settings import ConfigError
    from loader.umami.errors import UmamiError

    try:
        yield
    except ConfigError as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except (UmamiError, PostgresUnavailable, ValueError) as exc:
        raise _fail(str(exc), 1) from None
    except Exception as exc:
        from flows.failures import describe

        raise _fail(describe(exc), 1) from None


def _with_warehouse(action: Callable[..., T]) -> T:
    from flows.warehouse import open_warehouse

    with open_warehouse() as warehouse:
        redact.register(warehouse.password)
        if warehouse.embedded is not None:
            typer.echo(f"warehouse: embedded PostgreSQL at {warehouse.display}", err=True)
        return action(warehouse)


@app.command()
def load(
    as_of: AsOf = None,
    lookback_days: Lookback = 3,
    start_date: StartDate = None,
    full_refresh: FullRefresh = False,
    page_size: PageSize = 10_000,
) -> None:
    """Load Umami events, sessions and aggregates into the warehouse's umami_raw schema."""
    _setup_logging()
    with _errors():
        from flows import settings, sync

        umami = settings.umami_settings()
        redact.register(*umami.secrets)
        options = _options(as_of, lookback_days, start_date, full_refresh, page_size)
        result = _with_warehouse(lambda wh: sync.load(wh, umami, options))
        typer.echo(result.summary())


def _options(
    as_of: str | None, lookback_days: int, start_date: str | None, full_refresh: bool, page_size: int = 10_000
):  # -> SyncOptions
    from flows import sync

    extra = {"start_date": _parse_date(start_date)} if start_date else {}
    return sync.SyncOptions.create(
        _parse_instant(as_of),
        lookback_days=lookback_days,
        full_refresh=full_refresh,
        page_size=page_size,
        **extra,
    )


@app.command()
def run(
    as_of: AsOf = None,
    lookback_days: Lookback = 3,
    start_date: StartDate = None,
    full_refresh: FullRefresh = False,
    page_size: PageSize = 10_000,
) -> None:
    """Load, then transform and publish, once: the same Prefect flow the hourly deployment runs."""
    _setup_logging()
    with _errors():
        from flows import settings

        settings.umami_settings()  # a missing setting fails here with exit 2, before Prefect starts
        options = _options(as_of, lookback_days, start_date, full_refresh, page_size)
        from flows.flow import course_analytics_sync

        report = course_analytics_sync(
            as_of=options.as_of.isoformat(),
            lookback_days=options.lookback_days,
            start_date=options.start_date.isoformat() if options.start_date else None,
            full_refresh=full_refresh,
            page_size=page_size,
        )
        typer.echo(
            f"synced up to {report['as_of']}: rows loaded {report['rows_loaded']}, "
            f"marts rows changed {report['marts_rows_changed']}, dbt {report['dbt']}"
        )


@app.command()
def transform(
    as_of: AsOf = None,
    lookback_days: Lookback = 3,
    full_refresh: FullRefresh = False,
) -> None:
    """Build and test the marts with dbt from what is loaded, then publish them (no Umami calls)."""
    _setup_logging()
    with _errors():
        from flows import sync
        from flows.publish import publish

        options = _options(as_of, lookback_days, None, full_refresh)
        sync_time = datetime.now(UTC)
        rebuild_from = sync.rebuild_from_date(options, None)

        def build_and_publish(warehouse):
            outcome = sync.transform(warehouse, options, sync_time, rebuild_from)
            changed = publish(warehouse, options, sync_time, rebuild_from)
            return outcome, changed

        outcome, changed = _with_warehouse(build_and_publish)
        typer.echo(f"dbt build: {outcome.summary()}; published, rows changed {changed}")


@app.command()
def serve() -> None:
    """Run the hourly Prefect deployment (cron 0 * * * * UTC, one run at a time) on this machine."""
    _setup_logging()
    with _errors():
        from flows import settings

        settings.umami_settings()
        from flows.deployment import serve as serve_deployment

        serve_deployment()


@app.command()
def demo() -> None:
    """Everything local, no configuration: simulated Umami traffic, embedded warehouse, one sync, top courses."""
    _setup_logging()
    with _errors():
        from flows.demo import run_demo

        run_demo(typer.echo)


@app.command("umami-sim")
def umami_sim(
    host: Annotated[str, typer.Option(help="Address to listen on (keep it on loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0 picks a free one).")] = 3000,
    db: Annotated[
        str | None, typer.Option(help="SQLite file to keep the data in (default: in memory, gone on exit).")
    ] = None,
    umami_version: Annotated[
        str, typer.Option("--umami-version", help="Umami version to emulate: 3.1.0, 3.0.3 or 2.11.0.")
    ] = "3.1.0",
    cloud: Annotated[bool, typer.Option("--cloud", help="Umami Cloud mode: /v1 prefix, x-umami-api-key.")] = False,
    api_key: Annotated[str | None, typer.Option(help="The API key accepted in --cloud mode.")] = None,
) -> None:
    """Run the local Umami-compatible server in the foreground (admin / umami) until Ctrl-C."""
    from umami_sim import serve as serve_simulator

    if cloud and not api_key:
        raise _fail("--cloud needs --api-key", EXIT_CONFIG)
    serve_simulator(host=host, port=port, db_path=db, version=umami_version, cloud=cloud, api_key=api_key)


@app.command()
def status() -> None:
    """Where the warehouse is, the last successful sync per source, and row counts of the marts."""
    _setup_logging()
    with _errors():
        from flows.status import warehouse_status

        typer.echo(_with_warehouse(warehouse_status))


@warehouse_app.command("start")
def warehouse_start() -> None:
    """Start the embedded PostgreSQL (or say where the running one is) and leave it running."""
    _setup_logging()
    with _errors():
        from flows import settings
        from flows.warehouse import Warehouse, embedded_server

        if settings.warehouse_dsn():
            raise settings.ConfigError("WAREHOUSE_DSN is set: the embedded warehouse is not used.")
        server = embedded_server()
        info = server.start()
        state = "started" if info.started_here else "already running"
        typer.echo(f"embedded PostgreSQL {state}: {Warehouse(info.dsn).display} (data: {info.data_dir})")
        typer.echo(f"connect with: psql '{info.dsn}'")


@warehouse_app.command("stop")
def warehouse_stop() -> None:
    """Stop the embedded PostgreSQL if it runs."""
    _setup_logging()
    with _errors():
        from flows.warehouse import embedded_server

        stopped = embedded_server().stop()
        typer.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


def main() -> None:  # pragma: no cover - console entry point
    app()
