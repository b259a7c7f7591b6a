"""How far a load's reads are: what the reader reports, and the default report (log lines).

The loader holds no terminal code: it tells a :class:`ReadProgress` which event names a load
reads and, for each, how many events it has read of the total Umami counts. The total is the
``count`` of the first page of the name's read, which asks for the whole read window (the reader
asks for it anyway, to know whether the window fits one page): no request is added for it. It is
Umami's count when the read began; events that arrive meanwhile (late client timestamps) can make
the events read end above it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from loader.umami.windows import iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadStatus:
    """How far the read of one event name is."""

    event_name: str
    read: int  # events of the verified slices handed over so far
    total: int | None  # Umami's count over the whole read window; None until its first page answered
    seconds: float  # since this name's read began
    up_to_ms: int | None = None  # end of the latest slice handed over (None: none yet)
    done: bool = False  # every slice of the window was handed over


class ReadProgress(Protocol):
    """Told how far a load's reads are. Called from the thread that reads (not the caller's)."""

    def planned(self, event_names: Sequence[str]) -> None:
        """The event names this load reads (those with something to read), in their order."""

    def update(self, status: ReadStatus) -> None:
        """One name's read moved on: its total became known, a slice was handed over, or it ended."""

    def abandoned(self, status: ReadStatus) -> None:
        """One name's read stopped before its end, where ``status`` says: it failed, or the load
        stopped reading (another part of it failed). The load's other reads will not come."""


class LogProgress:
    """The default report: a log line per event name every ``every_s`` seconds while it is read."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def planned(self, event_names: Sequence[str]) -> None:
        log.debug("reading %d event names: %s", len(event_names), ", ".join(event_names))

    def update(self, status: ReadStatus) -> None:
        if status.done or status.up_to_ms is None:
            return  # the read's end is logged by the source, with what was kept of it
        now = time.monotonic()
        with self._lock:
            last = self._last.setdefault(status.event_name, now - status.seconds)
            if now - last < self.every_s:
                return
            self._last[status.event_name] = now
        of_total = f" of {status.total}" if status.total is not None else ""
        log.info(
            "%s: %d%s events read in %.0fs (up to %s)",
            status.event_name,
            status.read,
            of_total,
            status.seconds,
            iso(status.up_to_ms),
        )

    def abandoned(self, status: ReadStatus) -> None:
        log.debug("%s: reading stopped after %d events", status.event_name, status.read)
