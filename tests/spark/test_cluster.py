"""`course-analytics spark start` / `stop`: a standalone cluster on loopback, idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from flows.spark import LOOPBACK, ClusterState, SparkCluster, _alive

CLI = str(Path(sys.executable).parent / "course-analytics")


def _listening_addresses(pid: int) -> set[str]:
    """The local addresses process ``pid`` listens on (from /proc: its sockets' inodes)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                addresses.add(fields[1].rsplit(":", 1)[0])
    return addresses


# 127.0.0.1 as /proc writes it, in tcp (little-endian) and as a v4-mapped tcp6 address
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F"}


def test_the_cluster_listens_on_loopback_only_with_two_workers(spark_cluster: ClusterState) -> None:
    assert spark_cluster.master_url.startswith(f"spark://{LOOPBACK}:")
    assert len(spark_cluster.pids) == 3  # the master and two workers
    for pid in spark_cluster.pids:
        addresses = _listening_addresses(pid)
        assert addresses, f"process {pid} listens on nothing"
        assert addresses <= LOOPBACK_HEX, f"process {pid} listens beyond 127.0.0.1: {addresses}"
    with urllib.request.urlopen(f"http://{LOOPBACK}:{spark_cluster.web_port}/json/", timeout=5) as answer:
        status = json.load(answer)
    assert status["aliveworkers"] == 2
    assert status["cores"] == 2


def test_spark_start_is_idempotent_prints_the_url_last_and_stop_stops(tmp_path: Path) -> None:
    env = {**os.environ, "COURSE_ANALYTICS_HOME": str(tmp_path)}
    first = subprocess.run([CLI, "spark", "start"], env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr[-3000:]
    url = first.stdout.strip().splitlines()[-1]
    assert url.startswith(f"spark://{LOOPBACK}:")
    state = SparkCluster(tmp_path / "spark" / "cluster").running()
    assert state is not None and state.master_url == url
    try:
        again = subprocess.run([CLI, "spark", "start"], env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "already running" in again.stdout
        assert again.stdout.strip().splitlines()[-1] == url
    finally:
        stop = subprocess.run([CLI, "spark", "stop"], env=env, capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0, stop.stderr[-3000:]
    assert "stopped" in stop.stdout
    assert not any(_alive(pid) for pid in state.pids)
    assert SparkCluster(tmp_path / "spark" / "cluster").running() is None
    assert (tmp_path / "spark" / "cluster" / "logs" / "master.log").is_file()
