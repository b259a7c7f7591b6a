"""The last sync's outcome, kept beside the local data (``<data dir>/last_sync.json``) for ``status``.

A sync writes ``running`` when it starts and ``success`` or ``failed`` (with the error, secrets
masked) when it ends, whatever ran it: ``run``, ``load``, ``transform`` or the deployment. A run
killed before its end leaves ``running``, which ``status`` shows as "did not finish". The file is
replaced atomically, so a crash never leaves half a record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from flows import failures, paths

FILE_NAME = "last_sync.json"


@dataclass(frozen=True)
class LastRun:
    steps: str
    state: str  # running, success or failed
    started_at: str
    finished_at: str | None = None
    error: str | None = None

    def describe(self) -> str:
        if self.state == "success":
            return f"success ({self.steps}), finished {self.finished_at}"
        if self.state == "failed":
            return f"FAILED ({self.steps}) at {self.finished_at}: {self.error}"
        if self.state == "unreadable":
            return f"unknown: {self.error}"
        return f"started {self.started_at} ({self.steps}), did not finish (still running, or killed)"


def _path() -> Path:
    return paths.data_dir() / FILE_NAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write(record: LastRun) -> None:
    paths.write_text_atomically(_path(), json.dumps(asdict(record), indent=2) + "\n")


def started(steps: str) -> LastRun:
    record = LastRun(steps=steps, state="running", started_at=_now())
    _write(record)
    return record


def finished(record: LastRun, error: BaseException | None = None) -> None:
    if error is None:
        _write(LastRun(record.steps, "success", record.started_at, _now()))
        return
    message = failures.describe(error).strip()  # the real reason under dlt's and Prefect's wrappers, masked
    first_line = message.splitlines()[0] if message else type(error).__name__
    _write(LastRun(record.steps, "failed", record.started_at, _now(), first_line[:500]))


def read() -> LastRun | None:
    """The last recorded sync, or None when none ran here."""
    path = _path()
    try:
        return LastRun(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        return LastRun(steps="?", state="unreadable", started_at="?", error=f"cannot read {path}: {exc}")
