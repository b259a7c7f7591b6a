"""The events written as CSV load files during extraction, for dlt to import as they are.

Yielded as Arrow tables, the events would be written by dlt's extract step as Parquet, then read
back and rewritten as CSV by its normalize step (PostgreSQL loads CSV with ``COPY``): at a million
events that rewrite took 6 s, after the reading. Written here, with the same dlt CSV writer (and
so the same CSV settings, ``DATA_WRITER__…``), the CSV is produced while the next pages are being
read, and normalize only links the files into the load package.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
from dlt.common.data_writers.writers import ArrowToCsvWriter
from dlt.common.schema.utils import dlt_load_id_column

from loader.umami.records import EVENTS_SCHEMA

LOAD_ID_COLUMN = "_dlt_load_id"
FILES_SCHEMA = EVENTS_SCHEMA.append(pa.field(LOAD_ID_COLUMN, pa.string()))
# The events table's columns as dlt must know them (dlt reads no schema from an imported file):
# the types the Arrow tables gave them before the files were written here.
EVENT_FILE_COLUMNS: dict[str, dict[str, Any]] = {
    "event_id": {"data_type": "text", "nullable": False},
    "website_id": {"data_type": "text"},
    "session_id": {"data_type": "text"},
    "event_name": {"data_type": "text"},
    "created_at": {"data_type": "timestamp", "precision": 3},
    "url_path": {"data_type": "text"},
    "has_data": {"data_type": "bool"},
    "properties": {"data_type": "json"},
    "loaded_at": {"data_type": "timestamp", "precision": 3},
    LOAD_ID_COLUMN: dlt_load_id_column(),
}
_COLUMNS_SCHEMA = {name: {"name": name, **column} for name, column in EVENT_FILE_COLUMNS.items()}
_PREFIX = "event-files-"


@dataclass(frozen=True)
class EventFile:
    path: Path
    rows: int


class EventFiles:
    """Event tables appended to CSV files of about ``rows_per_file`` rows, in ``parent``.

    Each row gets ``load_id`` (dlt's ``_dlt_load_id``, which dlt adds to rows it writes itself).
    A file is handed out once it holds ``rows_per_file`` rows or more (whole tables are never
    split); ``close`` removes whatever is left, and a new instance removes what a killed run left.
    """

    def __init__(self, parent: Path, load_id: str, rows_per_file: int = 100_000) -> None:
        if rows_per_file < 1:
            raise ValueError("rows_per_file must be 1 or more")
        for stale in parent.glob(f"{_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.directory = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=parent))
        self.load_id = load_id
        self.rows_per_file = rows_per_file
        self._file: IO[bytes] | None = None
        self._writer: ArrowToCsvWriter | None = None
        self._path: Path | None = None
        self._rows = 0
        self._count = 0

    def add(self, table: pa.Table) -> Iterator[EventFile]:
        """Write ``table`` (``EVENTS_SCHEMA``); yields the file it completed, if any."""
        if table.num_rows == 0:
            return
        if self._writer is None:
            self._count += 1
            self._path = self.directory / f"events.{self._count}.csv"
            self._file = self._path.open("wb")
            self._writer = ArrowToCsvWriter(self._file)
            self._writer.write_header(_COLUMNS_SCHEMA)
            self._rows = 0
        load_ids = pa.array([self.load_id] * table.num_rows, pa.string())
        self._writer.write_data([table.append_column(FILES_SCHEMA.field(LOAD_ID_COLUMN), load_ids)])
        self._rows += table.num_rows
        if self._rows >= self.rows_per_file:
            yield self._finish()

    def flush(self) -> Iterator[EventFile]:
        """The file being written, if it holds any row."""
        if self._writer is not None:
            yield self._finish()

    def close(self) -> None:
        self._close_file()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _finish(self) -> EventFile:
        assert self._writer is not None and self._path is not None
        self._writer.write_footer()
        self._close_file()
        return EventFile(self._path, self._rows)

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._file is not None:
            self._file.close()
            self._file = None
