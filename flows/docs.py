"""``course-analytics docs``: dbt's documentation site for the project, served on 127.0.0.1.

``dbt docs generate`` compiles the project and reads the catalog (every column's type) from the
configured warehouse; ``dbt docs serve`` then serves the site from the project's target folder
(``<data dir>/dbt/target``) until Ctrl-C. Both are dbt's own commands, run in-process.
"""

from __future__ import annotations

from pathlib import Path

from flows.dbt import run_dbt, target_dir
from flows.warehouse import Warehouse

HOST = "127.0.0.1"  # never beyond loopback
DEFAULT_PORT = 8080


def generate(warehouse: Warehouse) -> Path:
    """Write the documentation site, with a one-file ``static_index.html`` beside it; its folder."""
    run_dbt(warehouse, ["docs", "generate", "--static"])
    return target_dir()


def serve(warehouse: Warehouse, port: int) -> None:
    """Serve the generated site on 127.0.0.1:``port`` until interrupted."""
    run_dbt(warehouse, ["docs", "serve", "--no-browser", "--host", HOST, "--port", str(port)])
