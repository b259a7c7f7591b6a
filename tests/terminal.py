"""Running a command on a real pseudo-terminal, and the screen it leaves.

A plain module (no fixtures). :func:`run_on_terminal` gives the command a pty (Python's ``pty``
module) for stderr, and for stdout too unless asked for a pipe, and keeps every byte it wrote
there. :class:`Screen` replays those bytes the way a terminal shows them, for the few controls a
live display sends outside the alternate screen (carriage return, erase line, cursor up, cursor
visibility; colours are ignored), so a test sees what is left on screen, not what was drawn once.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

COLUMNS, ROWS = 120, 40
_CONTROL = re.compile(r"\x1b\[(\??)([\d;]*)([A-Za-z])|([\r\n])")


@dataclass
class TerminalRun:
    returncode: int
    terminal: str  # everything written to the pty, controls included
    stdout: str | None  # when stdout was a pipe


def run_on_terminal(
    argv: Sequence[str], env: Mapping[str, str], *, stdout_on_terminal: bool = True, timeout: float = 300
) -> TerminalRun:
    """Run ``argv`` with stderr (and stdout, unless ``stdout_on_terminal`` is False) on a pty of
    ``COLUMNS`` x ``ROWS``; stdin is the pty too."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    stdout = follower if stdout_on_terminal else subprocess.PIPE
    with subprocess.Popen(argv, stdin=follower, stdout=stdout, stderr=follower, env=dict(env), cwd="/") as process:
        os.close(follower)
        written = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every holder of the follower side closed it
                break
            if not chunk:
                break
            written += chunk
        else:
            process.kill()
            raise TimeoutError(f"{argv[0]} still ran after {timeout}s")
        out = process.stdout.read().decode() if process.stdout else None
        process.wait()
    os.close(leader)
    return TerminalRun(process.returncode, written.decode("utf-8", "replace"), out)


class Screen:
    """The lines a terminal of ``COLUMNS`` shows after ``written`` (scrolled-off lines kept)."""

    def __init__(self, written: str, columns: int = COLUMNS) -> None:
        self.lines: list[list[str]] = [[]]
        self.row = self.column = 0
        self.cursor_visible = True
        position = 0
        for control in _CONTROL.finditer(written):
            self._text(written[position : control.start()], columns)
            self._control(*control.groups())
            position = control.end()
        self._text(written[position:], columns)

    def _text(self, text: str, columns: int) -> None:
        for char in text:
            if self.column >= columns:  # the terminal wraps a line longer than it is wide
                self._control(None, None, None, "\n")
            line = self.lines[self.row]
            line.extend(" " * (self.column - len(line) + 1))
            line[self.column] = char
            self.column += 1

    def _control(self, private: str | None, number: str | None, command: str | None, char: str | None) -> None:
        if char == "\r":
            self.column = 0
        elif char == "\n":
            self.row, self.column = self.row + 1, 0
            if self.row == len(self.lines):
                self.lines.append([])
        elif private == "?" and number == "25":
            self.cursor_visible = command == "h"
        elif command == "K" and number == "2":
            self.lines[self.row] = []
        elif command == "A":
            self.row = max(0, self.row - int(number or 1))

    @property
    def text(self) -> list[str]:
        return ["".join(line).rstrip() for line in self.lines]
