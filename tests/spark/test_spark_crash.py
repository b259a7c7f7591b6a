"""A load into the lake killed with SIGKILL where only a lake can be hurt, then `course-analytics run`
on Spark: its marts equal PostgreSQL's of an uninterrupted run, row for row.

On the lake dlt appends parquet files (no merge), so a kill can leave what PostgreSQL's
transactions never show: half a file, or a whole file dlt has no record of. Two kills in a row:
1. while the events file is being copied into the lake (half its bytes written);
2. in the next load, which first finishes the package the first left: right after the events file
   was copied whole again, before dlt records it.
The third process, `run`, finishes the package, reads its own window, builds and publishes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet
import pytest

from flows.spark import ClusterState
from flows.warehouse import Warehouse
from tests.contract_site import cli_environment, contract_simulator
from tests.loader.test_crash import BEFORE_JOB_RECORDED, KILLED_WHERE
from tests.spark.marts import AS_OF, MARTS, RUN_TIMESTAMPS, Marts, mart_columns, read_marts, run_cli

# the moment the lake holds half of the events file being copied into it
HALF_COPIED = """
from fsspec.implementations.local import LocalFileSystem
put_file = LocalFileSystem.put_file
def half_then_die(self, local_path, remote_path, *args, **kwargs):
    if "/events/" in str(remote_path):
        with open(local_path, "rb") as whole, open(remote_path, "wb") as half:
            data = whole.read()
            half.write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return put_file(self, local_path, remote_path, *args, **kwargs)
LocalFileSystem.put_file = half_then_die
"""


@dataclass
class Crashed:
    lake: Path
    half_file: Path  # the events file the first kill left half written
    half_size: int
    run: subprocess.CompletedProcess
    spark_marts: Marts
    postgres_marts: Marts


def _killed(env: dict[str, str], patch: str) -> None:
    args = ["load", "--as-of", AS_OF, "--page-size", "3"]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHERE.format(patch=patch), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-3000:]


@pytest.fixture(scope="module")
def crashed(spark_cluster: ClusterState, database_factory_module, tmp_path_factory) -> Iterator[Crashed]:
    warehouse: Warehouse = database_factory_module("spark_crash_reference")
    home, pg_home = tmp_path_factory.mktemp("spark-crash-home"), tmp_path_factory.mktemp("pg-crash-home")
    lake = home / "lake"
    with contract_simulator() as (sim, website):
        site = cli_environment(sim, website)
        spark_env = {
            **site,
            "WAREHOUSE_ENGINE": "spark",
            "SPARK_MASTER": spark_cluster.master_url,
            "LAKE_URL": str(lake),
            "COURSE_ANALYTICS_HOME": str(home),
        }
        postgres_env = {**site, "WAREHOUSE_DSN": warehouse.dsn, "COURSE_ANALYTICS_HOME": str(pg_home)}

        _killed(spark_env, HALF_COPIED)
        [half_file] = (lake / "umami_raw" / "events").glob("*.parquet")
        half_size = half_file.stat().st_size
        with pytest.raises(pyarrow.ArrowInvalid):
            pyarrow.parquet.read_metadata(half_file)  # what Spark would have met
        _killed(spark_env, BEFORE_JOB_RECORDED.format(table="events"))

        run = run_cli(["run", "--as-of", AS_OF], spark_env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
        reference = run_cli(["run", "--as-of", AS_OF], postgres_env)
        assert reference.returncode == 0, reference.stdout[-3000:] + reference.stderr[-5000:]

        columns = mart_columns(warehouse)
        kept = {m: [(c, t) for c, t in cols if c not in RUN_TIMESTAMPS] for m, cols in columns.items()}
        spark_marts, _ = read_marts(spark_env, "spark", kept)
        postgres_marts, _ = read_marts(postgres_env, "postgres", kept)
        yield Crashed(lake, half_file, half_size, run, spark_marts, postgres_marts)


def test_the_half_written_file_was_written_again_whole(crashed: Crashed) -> None:
    assert crashed.half_file.stat().st_size > crashed.half_size
    for path in (crashed.lake / "umami_raw").rglob("*.parquet"):
        pyarrow.parquet.read_metadata(path)  # every file in the lake is whole


def test_the_run_finished_the_stopped_package_first(crashed: Crashed) -> None:
    assert "finishing the load packages a stopped run left behind" in crashed.run.stdout + crashed.run.stderr


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_after_the_kills_equals_postgresql_row_for_row(crashed: Crashed, mart: str) -> None:
    assert sum(crashed.postgres_marts[mart][1].values()) > 0
    assert crashed.spark_marts[mart][1] == crashed.postgres_marts[mart][1]
