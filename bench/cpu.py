"""CPU seconds (user + system) of other processes, from ``/proc/<pid>/stat`` (proc(5), Linux).

``/proc/<pid>/stat`` counts in clock ticks (10 ms at the usual 100 a second). Its ``utime`` and
``stime`` are the process's own: every thread, running or ended. Its ``cutime`` and ``cstime`` are
the children it has waited for (and theirs), counted once the child has exited and been reaped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessCpu:
    own_s: float  # utime + stime
    reaped_s: float  # cutime + cstime


def read(pid: int) -> ProcessCpu:
    """Process ``pid``'s CPU seconds so far (also readable after it exits, until it is reaped)."""
    # the command name (field 2) is in parentheses and may hold spaces or parentheses itself;
    # after it: the state (field 3) … utime, stime, cutime, cstime (fields 14 to 17)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcessCpu((utime + stime) * TICK_S, (cutime + cstime) * TICK_S)


def exit_cpu_s(pid: int) -> float:
    """The CPU seconds of child process ``pid`` over its whole life, read when it has exited.

    Waits for the exit without reaping the child (``WNOWAIT``): the exited process's ``stat`` then
    holds its final figure, and ``Popen.wait`` reaps it afterwards as usual. Not ``os.wait4``: its
    rusage adds the CPU of every child the process waited for (a ``subprocess.run`` of its own),
    which is not the process's own.
    """
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    return read(pid).own_s


def _children(pid: int) -> list[int]:
    """The running (or exited, not yet reaped) children of process ``pid``, from each thread's list."""
    return [int(child) for path in Path(f"/proc/{pid}/task").glob("*/children") for child in path.read_text().split()]


def server_cpu_s(pid: int) -> float:
    """The CPU seconds so far of process ``pid`` and its children, running or ended.

    For a server whose processes are all children of one (PostgreSQL's postmaster starts every
    backend and background process and waits for each): an ended child's time is in the parent's
    ``reaped_s``. A child reaped while its siblings are read would be counted twice or not at all,
    so the read is repeated until the parent reaped none meanwhile.
    """
    while True:
        before = read(pid)
        children = 0.0
        for child in _children(pid):
            try:
                figure = read(child)
            except OSError:  # reaped since the list was read: the next read of the parent shows it
                continue
            children += figure.own_s + figure.reaped_s
        after = read(pid)
        if after.reaped_s == before.reaped_s:
            return after.own_s + after.reaped_s + children
