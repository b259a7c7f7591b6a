"""The course-analytics command line: configuration errors, secrets, help, any working directory."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "course-analytics")
SECRET = "s3cret-Passw0rd-9f1c"
UMAMI_VARS = ("UMAMI_API_URL", "UMAMI_WEBSITE_ID", "UMAMI_USERNAME", "UMAMI_PASSWORD", "UMAMI_API_KEY")


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in UMAMI_VARS and k != "WAREHOUSE_DSN"}
    return subprocess.run([CLI, *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "UMAMI_API_URL"),
        ({"UMAMI_API_URL": "http://127.0.0.1:9/api"}, "UMAMI_WEBSITE_ID"),
        ({"UMAMI_API_URL": "http://127.0.0.1:9/api", "UMAMI_WEBSITE_ID": "w"}, "UMAMI_USERNAME"),
        (
            {"UMAMI_API_URL": "http://127.0.0.1:9/api", "UMAMI_WEBSITE_ID": "w", "UMAMI_USERNAME": "admin"},
            "UMAMI_PASSWORD",
        ),
    ],
)
def test_missing_setting_exits_2_and_names_it(tmp_path: Path, given: dict[str, str], missing: str) -> None:
    result = run_cli(["load"], tmp_path, **given)
    assert result.returncode == 2, result.stderr
    assert f"{missing} is not set" in result.stderr
    assert "environment variable" in result.stderr and ".dlt/" in result.stderr  # how to set it


def test_settings_are_read_from_dlt_toml_files(tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text('[sources.umami]\napi_url = "http://127.0.0.1:9/api"\n')
    result = run_cli(["load"], tmp_path)
    assert result.returncode == 2
    assert "UMAMI_WEBSITE_ID is not set" in result.stderr  # api_url came from config.toml


@pytest.mark.parametrize(
    ("option", "value"), [("--as-of", "yesterday"), ("--start-date", "2026-13-01"), ("--lookback-days", "-1")]
)
def test_a_bad_option_value_exits_2_before_anything_runs(tmp_path: Path, option: str, value: str) -> None:
    result = run_cli(["load", option, value], tmp_path, UMAMI_API_URL="http://127.0.0.1:9/api")
    assert result.returncode == 2, result.stderr
    assert option in result.stderr and "Invalid value" in result.stderr


def test_bad_api_url_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli(["load"], tmp_path, UMAMI_API_URL="umami.example.com")
    assert result.returncode == 2
    assert "must be an http(s) URL" in result.stderr


class _RejectingUmami(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.dumps({"error": {"message": "Unauthorized", "code": "incorrect-username-password", "status": 401}})
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def rejecting_umami() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RejectingUmami)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()


def _load_rejected(tmp_path: Path, umami_url: str, password: str, dsn: str) -> subprocess.CompletedProcess:
    """`load` against a Umami that rejects every login."""
    return run_cli(
        ["load", "--as-of", "2026-11-19T23:59:59Z"],
        tmp_path,
        UMAMI_API_URL=umami_url,
        UMAMI_WEBSITE_ID="w",
        UMAMI_USERNAME="admin",
        UMAMI_PASSWORD=password,
        WAREHOUSE_DSN=dsn,
    )


def test_credentials_never_printed(tmp_path: Path, rejecting_umami: str, warehouse_dsn: str) -> None:
    dsn_with_secret = warehouse_dsn.replace("postgres@", f"postgres:{SECRET}@")  # trust auth ignores it
    result = _load_rejected(tmp_path, rejecting_umami, SECRET, dsn_with_secret)
    assert result.returncode == 1
    assert "rejected the login for user 'admin'" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_a_weak_password_is_named_in_one_warning(tmp_path: Path, rejecting_umami: str, warehouse_dsn: str) -> None:
    result = _load_rejected(tmp_path, rejecting_umami, "umami", warehouse_dsn)
    assert result.returncode == 1
    warnings = [line for line in result.stderr.splitlines() if "WARNING flows.redact" in line]
    assert len(warnings) == 1, result.stderr
    assert "UMAMI_PASSWORD is shorter than 8 characters" in warnings[0]
    assert "umami" not in warnings[0].split(": ", 1)[1]


def test_unreachable_warehouse_error_hides_its_password(tmp_path: Path) -> None:
    result = run_cli(["status"], tmp_path, WAREHOUSE_DSN=f"postgresql://analyst:{SECRET}@127.0.0.1:9/db")
    assert result.returncode == 1
    assert "127.0.0.1" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_works_from_any_directory(tmp_path: Path, warehouse_dsn: str) -> None:
    result = run_cli(["status"], tmp_path, WAREHOUSE_DSN=warehouse_dsn)
    assert result.returncode == 0, result.stderr
    assert "warehouse: postgresql://postgres@127.0.0.1:" in result.stdout


def test_every_command_and_option_has_help(tmp_path: Path) -> None:
    from typer.main import get_command

    from flows.cli import app

    root = get_command(app)
    commands = [[name] for name in root.commands]
    commands += [["warehouse", name] for name in root.commands["warehouse"].commands]
    for path in commands:
        command = root
        for part in path:
            command = command.commands[part]
        assert command.help, f"{' '.join(path)} has no help text"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"{' '.join(path)} --{param.name} has no help text"
        result = run_cli([*path, "--help"], tmp_path)
        assert result.returncode == 0


def _record(name: str, level: int, path: str = "/x/prefect/task_engine.py") -> logging.LogRecord:
    return logging.LogRecord(name, level, path, 1, "Finished in state Completed()", (), None)


def test_the_console_leaves_out_only_prefects_routine_notices() -> None:
    from flows.cli import _QuietPrefectRoutine

    quiet = _QuietPrefectRoutine()
    server = "/venv/site-packages/prefect/server/api/server.py"
    assert not quiet.filter(_record("prefect.task_runs", logging.INFO))
    assert not quiet.filter(_record("prefect", logging.INFO, server))  # the temporary server's start and stop
    assert quiet.filter(_record("prefect.task_runs", logging.WARNING))
    assert quiet.filter(_record("prefect", logging.ERROR, server))
    assert quiet.filter(_record("prefect.flow_runs", logging.INFO))
    assert quiet.filter(_record("prefect", logging.INFO, "/venv/site-packages/prefect/flow_runs.py"))
    assert quiet.filter(_record("loader.pipeline", logging.INFO))
