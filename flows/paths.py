"""Where the project keeps its files: the dbt project and the local data folder."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
# A source checkout or editable install keeps dbt_project/ beside flows/; a wheel install
# carries a copy inside the package (see pyproject's force-include).
_SOURCE_ROOT = _PACKAGE_DIR.parent


def dbt_project_dir() -> Path:
    """The dbt project this installation runs, found independently of the working directory."""
    override = os.environ.get("COURSE_ANALYTICS_DBT_PROJECT_DIR")
    candidates = [Path(override)] if override else []
    candidates += [_SOURCE_ROOT / "dbt_project", _PACKAGE_DIR / "_dbt_project"]
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find the dbt project (dbt_project.yml); looked in: " + ", ".join(map(str, candidates))
    )


def data_dir() -> Path:
    """The local data folder: embedded PostgreSQL, dlt pipeline working files, Prefect's database.

    ``COURSE_ANALYTICS_HOME`` wins; a source checkout uses ``<checkout>/.course-analytics``;
    an installed wheel uses ``$XDG_DATA_HOME/course-analytics`` (``~/.local/share``).
    """
    override = os.environ.get("COURSE_ANALYTICS_HOME")
    if override:
        return Path(override).expanduser().resolve()
    if (_SOURCE_ROOT / "pyproject.toml").is_file():
        return _SOURCE_ROOT / ".course-analytics"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "course-analytics"


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: a reader or a crash never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
