"""The ``course-analytics`` command line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from flows import paths, redact

app = typer.Typer(
    help="Exact course visitor analytics from Umami: load (dlt), transform (dbt), schedule (Prefect).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
warehouse_app = typer.Typer(help="Start or stop the embedded local PostgreSQL warehouse.", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")
spark_app = typer.Typer(
    help="Start or stop a standalone Spark cluster on 127.0.0.1 (for WAREHOUSE_ENGINE=spark).", no_args_is_help=True
)
app.add_typer(spark_app, name="spark")

EXIT_CONFIG = 2
T = TypeVar("T")


@app.callback()
def _local_tools() -> None:
    """Keep every tool local: no telemetry or analytics calls from dlt, dbt or Prefect, and Prefect's
    own database inside the project's data folder (before any of them is imported; a value the
    user set wins)."""
    for key, value in {
        "DO_NOT_TRACK": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(paths.data_dir() / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }.items():
        os.environ.setdefault(key, value)


INSTANT_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%z"]
AsOf = Annotated[
    datetime | None,
    typer.Option(
        formats=INSTANT_FORMATS,
        help="ISO 8601 instant to load and compute up to, UTC without an offset (default: now minus 5 minutes).",
    ),
]
Lookback = Annotated[int, typer.Option(min=0, help="UTC days re-read and rebuilt on every run, to catch late events.")]
StartDate = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="First UTC date of the initial load (default: 2020-01-01, all history); a date before what is "
        "loaded backfills from there. Later runs without it stay incremental.",
    ),
]
PageSize = Annotated[
    int, typer.Option(min=1, help="Events per Umami request; slices with more events are split in time.")
]
FullRefresh = Annotated[
    bool, typer.Option("--full-refresh", help="Re-read all history from --start-date and rebuild every mart.")
]


class _QuietPrefectRoutine(logging.Filter):
    """Keeps Prefect's routine notices off the console: each task's "Finished in state Completed()"
    and its temporary server's start and stop (with a link to Prefect's docs). The flow run's own
    lines, every warning and error, and the logs Prefect records for its UI all stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        routine = record.name == "prefect.task_runs" or (record.name == "prefect" and record.module == "server")
        return record.levelno >= logging.WARNING or not routine


def _setup_logging() -> None:
    redact.install_log_masking()
    level = os.environ.get("COURSE_ANALYTICS_LOG_LEVEL", "INFO").upper()
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if level != "DEBUG":
        console.addFilter(_QuietPrefectRoutine())
    logging.basicConfig(level=level, handlers=[console])
    for noisy in ("httpx", "httpcore", "urllib3", "py4j"):  # one line per HTTP request (or Spark call) otherwise
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _prefect_home() -> None:
    """Make PREFECT_HOME before Prefect is imported: Prefect creates only the last folder of it and
    warns ("Failed to create the Prefect home directory") while the data folder above is not there yet."""
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(mode=0o700, parents=True, exist_ok=True)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {redact.mask(message)}", err=True)
    return typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known failures into one clear line and an exit code (2 for configuration)."""
    from flows.pgserver import PostgresUnavailable
    from flows.queries import QueryRejected
    from flows.settings import ConfigError
    from loader.umami.errors import UmamiError

    try:
        yield
    except (ConfigError, QueryRejected) as exc:
        raise _fail(str(exc), EXIT_CONFIG) from None
    except (UmamiError, PostgresUnavailable, ValueError) as exc:
        raise _fail(str(exc), 1) from None
    except Exception as exc:
        from flows.failures import describe

        raise _fail(describe(exc), 1) from None


def _with_warehouse(action: Callable[..., T]) -> T:
    from flows.warehouse import open_warehouse

    with open_warehouse() as warehouse:
        redact.register(**warehouse.secrets)
        if warehouse.embedded is not None:
            typer.echo(f"warehouse: embedded PostgreSQL at {warehouse.display}", err=True)
        elif warehouse.engine == "spark":
            typer.echo(f"warehouse: {warehouse.display}", err=True)
        return action(warehouse)


def _parameters(
    as_of: datetime | None, lookback_days: int, start_date: datetime | None, full_refresh: bool, page_size: int
):  # -> flows.sync.SyncParameters (imported late: the CLI starts fast)
    from flows.sync import SyncParameters

    day = start_date.date() if start_date is not None else None
    return SyncParameters(as_of, day, lookback_days, full_refresh, page_size)


def _require_umami() -> None:
    """A missing Umami setting fails here (exit 2), before Prefect starts."""
    from flows import settings

    settings.umami_settings()


@app.command()
def load(
    as_of: AsOf = None,
    lookback_days: Lookback = 3,
    start_date: StartDate = None,
    full_refresh: FullRefresh = False,
    page_size: PageSize = 10_000,
) -> None:
    """Load Umami events, sessions and aggregates into umami_raw: the flow's plan and load steps, without Prefect."""
    _setup_logging()
    with _errors():
        from flows.progress import on_terminal
        from flows.steps import run_sync

        with on_terminal():
            report = run_sync(_parameters(as_of, lookback_days, start_date, full_refresh, page_size), "load")
    typer.echo(f"loaded: {report.one_line()}")


@app.command()
def run(
    as_of: AsOf = None,
    lookback_days: Lookback = 3,
    start_date: StartDate = None,
    full_refresh: FullRefresh = False,
    page_size: PageSize = 10_000,
) -> None:
    """Load, then transform and publish, once: the Prefect flow the hourly deployment runs."""
    _setup_logging()
    with _errors():
        _require_umami()
        _prefect_home()
        from flows.flow import course_analytics_sync
        from flows.progress import on_terminal

        parameters = _parameters(as_of, lookback_days, start_date, full_refresh, page_size)
        with on_terminal():
            report = course_analytics_sync(**vars(parameters))
    loaded, changed = sum(report["rows_loaded"].values()), sum(report["marts_rows_changed"].values())
    typer.echo(
        f"synced up to {report['as_of']}: {loaded} rows loaded, {report['rows_rejected']} rejected, "
        f"dbt {report['dbt']}, marts rows changed {changed}"
    )


@app.command()
def transform(
    as_of: AsOf = None,
    lookback_days: Lookback = 3,
    full_refresh: FullRefresh = False,
) -> None:
    """Build and test the marts with dbt from what is loaded, then publish them: the flow's plan,
    transform and publish steps, without Prefect (no Umami calls)."""
    _setup_logging()
    with _errors():
        from flows.steps import run_sync

        report = run_sync(_parameters(as_of, lookback_days, None, full_refresh, 10_000), "transform")
    typer.echo(f"dbt build: {report.dbt}; published, marts rows changed {sum(report.marts_rows_changed.values())}")


@app.command()
def serve() -> None:
    """Run the hourly Prefect deployment (cron 0 * * * * UTC, one run at a time) on this machine."""
    _setup_logging()
    with _errors():
        _require_umami()
        _prefect_home()
        from flows.deployment import serve as serve_deployment

        serve_deployment()


class DemoEngine(str, Enum):
    postgres = "postgres"
    spark = "spark"


@app.command()
def demo(
    engine: Annotated[
        DemoEngine,
        typer.Option(
            help="postgres: the embedded PostgreSQL; spark: a local standalone Spark cluster (needs Java 17)."
        ),
    ] = DemoEngine.postgres,
) -> None:
    """Everything local, no configuration: simulated Umami traffic, a local warehouse, one sync, top courses, report."""
    _setup_logging()
    with _errors():
        _prefect_home()
        from flows.demo import run_demo

        run_demo(typer.echo, engine=engine.value)


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
    """Where the warehouse is, the last run's outcome, the last successful load, and per mart its rows and freshness."""
    _setup_logging()
    with _errors():
        from flows.status import warehouse_status

        typer.echo(_with_warehouse(warehouse_status))


@app.command()
def report(
    out: Annotated[
        Path | None, typer.Option(help="Where to write the page (default: <data dir>/report/index.html).")
    ] = None,
) -> None:
    """Write one self-contained HTML page of the published marts (charts, freshness, reconciliation)."""
    _setup_logging()
    with _errors():
        from flows.report import default_path, write_report

        path = _with_warehouse(lambda warehouse: write_report(warehouse, out or default_path()))
        typer.echo(f"report written: {path}")


@app.command()
def docs(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1 to serve the site on.")] = 8080,
    serve: Annotated[bool, typer.Option(help="Serve the site after generating it (until Ctrl-C).")] = True,
) -> None:
    """Generate dbt's documentation site for the project (models, sources, columns) and serve it on 127.0.0.1."""
    _setup_logging()
    with _errors():
        from flows import docs as dbt_docs

        def generate_and_serve(warehouse) -> None:
            site = dbt_docs.generate(warehouse)
            typer.echo(f"dbt docs generated in {site} (one-file copy: {site / 'static_index.html'})")
            if serve:
                typer.echo(f"serving dbt docs on http://{dbt_docs.HOST}:{port}/ (Ctrl-C stops)")
                dbt_docs.serve(warehouse, port)

        _with_warehouse(generate_and_serve)


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


@app.command()
def sql(query: Annotated[str, typer.Argument(help="One read-only query (SELECT or WITH) over the marts.")]) -> None:
    """Run one read-only query against the warehouse (either engine) and print tab-separated rows.

    A header line first; NULL is an empty field. Name the published marts as analytics.<mart>."""
    _setup_logging()
    with _errors():
        from flows.queries import tab_separated

        typer.echo(_with_warehouse(lambda warehouse: tab_separated(warehouse, query)), nl=False)


@spark_app.command("start")
def spark_start() -> None:
    """Start one master and two one-core workers on 127.0.0.1 (or find the running ones); prints the master URL last."""
    _setup_logging()
    with _errors():
        from flows.spark import SparkCluster

        cluster = SparkCluster()
        state, started = cluster.start()
        typer.echo(f"Spark cluster {'started' if started else 'already running'} (logs: {cluster.log_dir})")
        typer.echo(state.master_url)


@spark_app.command("stop")
def spark_stop() -> None:
    """Stop the cluster `spark start` started."""
    _setup_logging()
    with _errors():
        from flows.spark import SparkCluster

        stopped = SparkCluster().stop()
        typer.echo("Spark cluster stopped" if stopped else "Spark cluster was not running")


def main() -> None:  # pragma: no cover - console entry point
    app()
