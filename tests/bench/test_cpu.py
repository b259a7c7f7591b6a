"""bench/cpu.py reads the CPU time real processes spent: a child's own, a server's with its children."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from bench import cpu
from flows.pgserver import LocalPostgres


def _burn(seconds: float) -> str:
    """Python source that keeps one core busy for ``seconds`` of its own CPU time."""
    return f"import time\nstart = time.process_time()\nwhile time.process_time() - start < {seconds}:\n    pass\n"


def _python(source: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", source], **popen)


def test_a_busy_child_reads_its_cpu_and_can_still_be_waited_for() -> None:
    child = _python(_burn(0.5))
    assert cpu.exit_cpu_s(child.pid) >= 0.3
    assert child.wait(timeout=10) == 0


def test_a_sleeping_child_reads_almost_none() -> None:
    child = _python("import time\ntime.sleep(0.5)")
    assert cpu.exit_cpu_s(child.pid) < 0.1
    assert child.wait(timeout=10) == 0


def test_a_childs_own_children_are_not_counted_as_its_own() -> None:
    child = _python(f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {_burn(0.6)!r}], check=True)")
    assert cpu.exit_cpu_s(child.pid) < 0.2  # os.wait4 would read more than 0.6 s here
    assert child.wait(timeout=10) == 0


# A server: one child burns 0.4 s and is waited for, another burns 0.4 s and stays, until stdin closes.
LIVE_CHILD = _burn(0.4) + "import sys\nprint('burned', flush=True)\nsys.stdin.read()\n"
SERVER = f"""
import subprocess, sys
subprocess.run([sys.executable, "-c", {_burn(0.4)!r}], check=True)
live = subprocess.Popen(
    [sys.executable, "-c", {LIVE_CHILD!r}],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
)
live.stdout.readline()
print("ready", flush=True)
sys.stdin.read()
live.stdin.close()
live.wait()
"""


def test_a_server_reads_with_its_ended_and_running_children() -> None:
    server = _python(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline() == "ready\n"
        total = cpu.server_cpu_s(server.pid)
        assert total >= 0.6
        assert cpu.read(server.pid).own_s < 0.2  # the figure is the children's
        time.sleep(0.3)
        assert cpu.server_cpu_s(server.pid) - total < 0.05  # all of them idle
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


def _gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_postgresql_backends_count_after_they_end(postgres_server: LocalPostgres) -> None:
    info = postgres_server.start()
    before = cpu.server_cpu_s(info.pid)
    with psycopg2.connect(info.dsn) as conn, conn.cursor() as cur:
        cur.execute("select pg_backend_pid()")
        backend = cur.fetchone()[0]
        cur.execute("select sum(i) from generate_series(1, 3000000) as i")
        spent = cpu.read(backend).own_s
    conn.close()
    assert spent >= 0.1
    assert _gone(backend)
    assert cpu.server_cpu_s(info.pid) - before >= spent
