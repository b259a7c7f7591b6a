"""A live display of a load's reads on a terminal, for the CLI (``rich.progress``).

The loader reports how far its reads are to a :class:`~loader.umami.progress.ReadProgress`; by
default it logs a line per event name every 10 s. The CLI's ``load`` and ``run`` wrap their work
in :func:`on_terminal`: when stderr (where the CLI logs) is a terminal, the reads are shown live
instead: a row for the event name being read (events read of Umami's count for it, the rate, the
time left) and below it one for the whole load (event names read of those it reads, the events
read so far and Umami's counts of the names reached so far: a name is counted when its read
begins). Log lines keep coming, printed above the display. Under
``COURSE_ANALYTICS_LOG_LEVEL=DEBUG`` the lines are too many to read beside a display: none is shown.

The display ends when the last name is read, leaving its final rows; a read that stops before its
end (the load failed, or is interrupted) erases it, so the error follows on a clean line and no
stale display stands while Prefect waits to retry the load.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

from loader.umami.progress import ReadProgress, ReadStatus

_installed: ReadProgress | None = None


def installed() -> ReadProgress | None:
    """What this process's loads report their reads to (None: the loader's log lines)."""
    return _installed


@contextmanager
def reporting(progress: ReadProgress) -> Iterator[None]:
    """While the block runs, this process's loads report their reads to ``progress``."""
    global _installed
    previous, _installed = _installed, progress
    try:
        yield
    finally:
        _installed = previous


@contextmanager
def on_terminal() -> Iterator[None]:
    """While the block runs, loads show their reads live on stderr when it is a terminal (and
    logging is not at DEBUG); otherwise nothing changes: the loader logs its progress lines."""
    console = Console(stderr=True)
    if not sys.stderr.isatty() or console.is_dumb_terminal or logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    display = TerminalProgress(console)
    try:
        with reporting(display):
            yield
    except BaseException:
        display.close(failed=True)
        raise
    display.close(failed=False)


class _EventRate(ProgressColumn):
    """Events read per second (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


class TerminalProgress:
    """A :class:`ReadProgress` drawn by rich on ``console``: a display per load, from its plan on."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._display: _Display | None = None

    def planned(self, event_names: Sequence[str]) -> None:
        with self._lock:
            self._stop(transient=True)  # an earlier attempt's (a retried load)
            if event_names:
                self._display = _Display(self.console, len(event_names))

    def update(self, status: ReadStatus) -> None:
        with self._lock:
            if self._display is not None and self._display.update(status):
                self._stop(transient=False)

    def abandoned(self, status: ReadStatus) -> None:
        with self._lock:
            self._stop(transient=True)  # not left standing while a retry waits

    def close(self, *, failed: bool) -> None:
        """End the display: erased after a failure, its last rows kept otherwise."""
        with self._lock:
            self._stop(transient=failed)

    def _stop(self, *, transient: bool) -> None:
        if self._display is not None:
            self._display.stop(transient=transient)
            self._display = None


class _Display:
    """One load's rows, drawn live until :meth:`stop`; log lines meanwhile print above them."""

    def __init__(self, console: Console, names: int) -> None:
        self.load = Progress(
            TextColumn("event names"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[read]:,} events read, {task.fields[counted]:,} counted"),
            TimeElapsedColumn(),
            console=console,
        )
        self.name = Progress(
            TextColumn("{task.description}", table_column=Column(max_width=24, no_wrap=True, overflow="ellipsis")),
            BarColumn(bar_width=20),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TaskProgressColumn(),
            _EventRate(table_column=Column(no_wrap=True)),
            TimeRemainingColumn(compact=True),
            console=console,
        )
        self.load_task = self.load.add_task("load", total=names, read=0, counted=0)
        self.tasks: dict[str, TaskID] = {}
        self.read_before = self.counted_before = 0  # events read, and Umami's counts, of the names done
        self.live = Live(
            Group(self.name, self.load), console=console, refresh_per_second=4, redirect_stdout=sys.stdout.isatty()
        )
        originals = (sys.stdout, sys.stderr)
        self.live.start(refresh=True)  # sys.stdout (on a terminal) and sys.stderr are its proxies now
        proxies = {id(original): now for original, now in zip(originals, (sys.stdout, sys.stderr), strict=True)}
        self.undo = _route_log_handlers({key: proxy for key, proxy in proxies.items() if proxy not in originals})

    def update(self, status: ReadStatus) -> bool:
        """Show ``status``; True when it ended the load's last name."""
        task = self.tasks.get(status.event_name)
        if task is None:
            task = self.tasks[status.event_name] = self.name.add_task(status.event_name, total=status.total)
        self.name.update(task, completed=status.read, total=status.total)
        self.load.update(
            self.load_task, read=self.read_before + status.read, counted=self.counted_before + (status.total or 0)
        )
        if not status.done:
            return False
        self.name.remove_task(self.tasks.pop(status.event_name))
        self.read_before += status.read
        self.counted_before += status.total or 0
        self.load.advance(self.load_task)
        return self.load.finished

    def stop(self, *, transient: bool) -> None:
        self.live.transient = transient
        self.live.stop()
        for undo in reversed(self.undo):
            undo()


def _route_log_handlers(streams: dict[int, IO[str]]) -> list[Callable[[], None]]:
    """Point the logging handlers that write to a stream of ``streams`` (keyed by that stream's
    id; the value is the display's proxy for it) at the proxy, so their lines print above the
    display instead of through it; and those that print through a rich console of their own
    (Prefect's). Returns what undoes each change."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers}
    undo: list[Callable[[], None]] = []
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler) and id(handler.stream) in streams:
            original = handler.setStream(streams[id(handler.stream)])
            undo.append(lambda handler=handler, original=original: handler.setStream(original))
        console = getattr(handler, "console", None)
        if isinstance(console, Console) and id(console.file) in streams:
            file = console.file
            console.file = streams[id(file)]
            undo.append(lambda console=console, file=file: setattr(console, "file", file))
    return undo
