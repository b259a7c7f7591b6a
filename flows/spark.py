"""Apache Spark as the warehouse engine: a standalone cluster on loopback, and the driver's session.

``SparkCluster`` runs one master and two one-core workers from the pyspark wheel's own launcher
(``bin/spark-class``) in the background, every address on 127.0.0.1, logs and state under
``<data dir>/spark``. ``spark_session`` is the one SparkSession of this process (dbt-spark's
``session`` method reuses it): master from ``SPARK_MASTER``, the table metadata in a Derby
metastore and the managed tables in a warehouse folder under the data dir, UTC, no web UI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows import paths
from flows.environment import scoped_environment
from flows.settings import ConfigError, SparkSettings
from loader import pipeline as raw

if TYPE_CHECKING:
    import dlt
    from pyspark.sql import SparkSession

LOOPBACK = "127.0.0.1"
JAVA_HINT = "apt-get install -y openjdk-17-jre-headless"
SPARK_HINT = "pip install -e '.[spark]' (pyspark and dbt-spark)"
WORKERS = 2
WORKER_MEMORY = "2g"
_START_TIMEOUT_S = 90.0


def spark_dir() -> Path:
    """Spark's local files: the cluster's logs and state, the metastore, the managed tables."""
    return paths.data_dir() / "spark"


def spark_home() -> Path:
    """The pyspark wheel's Spark distribution (its jars and ``bin/spark-class``)."""
    try:
        import pyspark
    except ImportError as error:
        raise ConfigError(f"the Spark engine needs the spark extra: {SPARK_HINT}") from error
    return Path(pyspark.__file__).resolve().parent


def java_problem() -> str | None:
    """Why Spark cannot start here (no Java), with the install command; None when it can."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return None
    if shutil.which("java"):
        return None
    return f"Spark needs Java 17 and none was found (JAVA_HOME unset, no java on PATH): {JAVA_HINT}"


def require_java() -> None:
    problem = java_problem()
    if problem:
        raise ConfigError(problem)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class ClusterState:
    master_url: str
    master_port: int
    web_port: int
    pids: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "pids": list(self.pids)})

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data = json.loads(text)
        return cls(data["master_url"], int(data["master_port"]), int(data["web_port"]), tuple(data["pids"]))


class SparkCluster:
    """A standalone Spark cluster on 127.0.0.1: one master, ``workers`` workers of one core each."""

    def __init__(self, base_dir: Path | None = None, workers: int = WORKERS) -> None:
        self.base_dir = base_dir or spark_dir() / "cluster"
        self.workers = workers
        self.state_file = self.base_dir / "cluster.json"
        self.log_dir = self.base_dir / "logs"

    def running(self) -> ClusterState | None:
        """The running cluster this folder started, or None."""
        if not self.state_file.is_file():
            return None
        state = ClusterState.from_json(self.state_file.read_text())
        if all(_alive(pid) for pid in state.pids) and _accepts(state.master_port):
            return state
        return None

    def _environment(self) -> dict[str, str]:
        home = spark_home()
        return {
            **os.environ,
            "SPARK_HOME": str(home),
            "SPARK_LOCAL_IP": LOOPBACK,  # every listener of the master and workers (web UIs too)
            "SPARK_LOCAL_DIRS": str(self.base_dir / "scratch"),
            "SPARK_LOG_DIR": str(self.log_dir),
        }

    def _launch(self, name: str, arguments: list[str]) -> int:
        command = [str(spark_home() / "bin" / "spark-class"), *arguments]
        log_file = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the command that started it
        )
        log_file.close()
        return process.pid

    def _alive_workers(self, web_port: int) -> int:
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{web_port}/json/", timeout=2) as answer:
                return int(json.load(answer).get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0

    def start(self) -> tuple[ClusterState, bool]:
        """Start the cluster, or find the running one; (state, started now)."""
        state = self.running()
        if state is not None:
            return state, False
        require_java()
        self.stop()  # a half-dead earlier start: clear its processes
        self.log_dir.mkdir(parents=True, exist_ok=True)
        master_port, web_port = _free_port(), _free_port()
        master_url = f"spark://{LOOPBACK}:{master_port}"
        pids = [
            self._launch(
                "master",
                [
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(master_port),
                    "--webui-port",
                    str(web_port),
                ],
            )
        ]
        state = ClusterState(master_url, master_port, web_port, tuple(pids))
        self.state_file.write_text(state.to_json())
        self._wait(lambda: _accepts(master_port), pids, "the Spark master")
        for number in range(1, self.workers + 1):
            work_dir = self.base_dir / f"worker-{number}"
            work_dir.mkdir(parents=True, exist_ok=True)
            pids.append(
                self._launch(
                    f"worker-{number}",
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        "--host",
                        LOOPBACK,
                        "--cores",
                        "1",
                        "--memory",
                        WORKER_MEMORY,
                        "--webui-port",
                        str(_free_port()),
                        "--work-dir",
                        str(work_dir),
                        master_url,
                    ],
                )
            )
            state = ClusterState(master_url, master_port, web_port, tuple(pids))
            self.state_file.write_text(state.to_json())
        self._wait(lambda: self._alive_workers(web_port) >= self.workers, pids, f"{self.workers} Spark workers")
        return state, True

    def _wait(self, ready: Any, pids: list[int], what: str) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not ready():
            dead = [pid for pid in pids if not _alive(pid)]
            if dead or time.monotonic() > deadline:
                self.stop()
                reason = "a process exited" if dead else f"not ready after {_START_TIMEOUT_S:.0f} s"
                raise RuntimeError(f"{what} did not start ({reason}); see the logs in {self.log_dir}")
            time.sleep(0.25)

    def stop(self) -> bool:
        """Stop the processes this folder started; True when some ran."""
        if not self.state_file.is_file():
            return False
        state = ClusterState.from_json(self.state_file.read_text())
        running = [pid for pid in state.pids if _alive(pid)]
        for pid in running:
            os.killpg(pid, signal.SIGTERM)  # each was started as its own session: its group is its own
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in running) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in running:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        self.state_file.unlink()
        return bool(running)


def session_conf(master: str, base_dir: Path | None = None) -> dict[str, str]:
    """The driver's settings: loopback, UTC, no web UI, the metastore and tables under ``base_dir``."""
    base = base_dir or spark_dir()
    metastore = base / "metastore_db"
    return {
        "spark.master": master,
        "spark.app.name": "course-analytics",
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": (
            f"-Duser.timezone=UTC -Dderby.system.home={base} -Dlog4j2.configurationFile=file:{base / _LOG_CONFIG}"
        ),
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.warehouse.dir": str(base / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore};create=true",
        # the marts are small per day: a few shuffle partitions, not 200
        "spark.sql.shuffle.partitions": "4",
        "spark.executor.memory": "1g",
        "spark.driver.memory": "2g",
    }


_LOG_CONFIG = "log4j2.properties"
# the driver's JVM logs errors only (Spark's INFO and WARN lines would bury the pipeline's own).
# In a Python driver Spark resets the root level to that of the Python gateway's logger (WARN
# unless configured) and says so in two lines on stderr: that logger gets the same level.
_LOG_SETTINGS = """\
rootLogger.level = error
logger.shell.name = org.apache.spark.api.python.PythonGatewayServer
logger.shell.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %p %c{1}: %m%n
"""

_SESSION: tuple[Mapping[str, str], SparkSession] | None = None


def spark_session(master: str, base_dir: Path | None = None) -> SparkSession:
    """This process's SparkSession (created on first use; the same one afterwards)."""
    global _SESSION
    conf = session_conf(master, base_dir)
    if _SESSION is not None:
        previous, session = _SESSION
        if previous != conf:
            where = Path(previous["spark.sql.warehouse.dir"]).parent
            raise ConfigError(
                f"this process already runs a Spark session with other settings (master {previous['spark.master']}, "
                f"metastore under {where}); a process keeps one Spark session: run the other in another process"
            )
        return session
    require_java()
    spark_home()
    from pyspark.sql import SparkSession

    base = base_dir or spark_dir()
    base.mkdir(parents=True, exist_ok=True)
    (base / _LOG_CONFIG).write_text(_LOG_SETTINGS)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in conf.items():
        builder = builder.config(key, value)
    with scoped_environment({"SPARK_LOCAL_IP": LOOPBACK}):
        session = builder.getOrCreate()
    _SESSION = (conf, session)
    return session


def spark_location(lake_url: str) -> str:
    """A lake URL as Spark's Hadoop file systems name it (``s3://`` is ``s3a://`` there)."""
    return "s3a://" + lake_url.removeprefix("s3://") if lake_url.startswith("s3://") else lake_url


def _utc(value: Any) -> Any:
    # pyspark gives timestamps as naive datetimes in this process's local time zone
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo is None else value


@dataclass
class SparkWarehouse:
    """Spark over a lake: dlt appends parquet files to ``LAKE_URL``, dbt-spark builds the marts."""

    settings: SparkSettings
    engine = "spark"
    dbt_target = "spark"
    loader_file_format = "parquet"
    embedded = None

    @property
    def secrets(self) -> dict[str, str | None]:
        """None of its settings is a credential (an object store's are dlt's own configuration)."""
        return {}

    @property
    def display(self) -> str:
        return f"Spark {self.settings.master}, lake {self.settings.lake_url}"

    @property
    def key(self) -> str:
        """A short stable name of this warehouse: its lake (the raw data and the pipeline's state)."""
        return hashlib.sha256(f"spark|{self.settings.lake_url}".encode()).hexdigest()[:16]

    def session(self) -> SparkSession:
        return spark_session(self.settings.master)

    def dbt_env(self) -> dict[str, str]:
        return {}

    def dbt_vars(self) -> dict[str, str]:
        return {"lake_url": spark_location(self.settings.lake_url)}

    def prepare_dbt(self) -> None:
        """Start this process's Spark session: dbt-spark's ``session`` method uses it."""
        self.session()

    def raw_pipeline(self) -> dlt.Pipeline:
        return raw.make_lake_pipeline(self.settings.lake_url, paths.data_dir() / "dlt" / self.key)

    def prepare_source(self, source: dlt.sources.DltSource) -> dlt.sources.DltSource:
        return raw.appending(source)

    def known_sessions(self) -> Callable[[list[str]], set[str]]:
        return raw.known_sessions_in_lake(self.settings.lake_url)

    def after_load(self) -> None:
        """Nothing: the dbt run refreshes the raw tables' file listings (``raw_tables`` on-run-start)."""

    def missing_raw_tables(self) -> list[str]:
        present = raw.lake_tables(self.settings.lake_url)
        return [table for table in raw.RAW_TABLES if table not in present]

    def query(self, text: str, *, read_only: bool = False) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one statement; its column names and rows. ``read_only``: only a query runs (it is
        parsed as a subquery, so no other statement can)."""
        session = self.session()
        frame = session.sql(f"select * from ({text}) as q" if read_only else text)
        return list(frame.columns), [tuple(_utc(v) for v in row) for row in frame.collect()]

    def relation_exists(self, schema: str, name: str) -> bool:
        return bool(self.session().catalog.tableExists(f"{schema}.{name}"))

    def tables(self, schema: str) -> list[str]:
        session = self.session()
        if not session.catalog.databaseExists(schema):
            return []
        return sorted(table.name for table in session.catalog.listTables(schema) if not table.isTemporary)

    def close(self) -> None:
        """Nothing: the session lives as long as the process (dbt-spark keeps using it)."""

    def __enter__(self) -> SparkWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
