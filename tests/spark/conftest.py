"""A real standalone Spark cluster on 127.0.0.1 for the Spark tests (one per test session).

It needs Java 17 (``apt-get install -y openjdk-17-jre-headless``; ``.ci/run`` installs it): without
it the fixture fails with that command, the tests are never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flows.spark import ClusterState, SparkCluster, java_problem


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterState]:
    problem = java_problem()
    if problem:
        pytest.fail(problem)
    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster"))
    state, started = cluster.start()
    assert started
    yield state
    cluster.stop()
