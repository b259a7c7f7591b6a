"""The Spark settings: a missing or wrong one is named with how to set it, and the CLI exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows import settings

CLI = str(Path(sys.executable).parent / "course-analytics")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("WAREHOUSE_ENGINE", "SPARK_MASTER", "LAKE_URL", "WAREHOUSE_DSN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_postgres_is_the_default_engine(clean_env: pytest.MonkeyPatch) -> None:
    assert settings.warehouse_engine() == "postgres"
    clean_env.setenv("WAREHOUSE_ENGINE", "Spark")
    assert settings.warehouse_engine() == "spark"


def test_an_unknown_engine_is_named(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WAREHOUSE_ENGINE", "duckdb")
    with pytest.raises(settings.ConfigError, match="WAREHOUSE_ENGINE must be one of postgres, spark, got 'duckdb'"):
        settings.warehouse_engine()


@pytest.mark.parametrize(
    ("master", "lake", "message"),
    [
        (None, "/lake", "SPARK_MASTER is not set .*`course-analytics spark start`"),
        ("yarn", "/lake", "SPARK_MASTER must be spark://host:port"),
        ("spark://127.0.0.1", "/lake", "SPARK_MASTER must be spark://host:port"),
        ("local[2]", None, r"LAKE_URL is not set: .*`bucket_url` under \[destination.filesystem\]"),
        ("local[2]", "lake", "LAKE_URL must be an absolute folder or a URL"),
        ("local[2]", "ftp://host/lake", "LAKE_URL has an unsupported scheme 'ftp'"),
    ],
)
def test_a_missing_or_wrong_spark_setting_is_named(
    clean_env: pytest.MonkeyPatch, master: str | None, lake: str | None, message: str
) -> None:
    clean_env.setenv("WAREHOUSE_ENGINE", "spark")
    if master:
        clean_env.setenv("SPARK_MASTER", master)
    if lake:
        clean_env.setenv("LAKE_URL", lake)
    with pytest.raises(settings.ConfigError, match=message):
        settings.spark_settings()


def test_good_spark_settings(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SPARK_MASTER", "spark://127.0.0.1:7077")
    clean_env.setenv("LAKE_URL", "/data/lake/")
    assert settings.spark_settings() == settings.SparkSettings("spark://127.0.0.1:7077", "file:///data/lake")
    clean_env.setenv("LAKE_URL", "s3://bucket/raw")
    assert settings.spark_settings().lake_url == "s3://bucket/raw"


def test_the_cli_exits_2_with_the_setting_named(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("SPARK_MASTER", "LAKE_URL")},
        "WAREHOUSE_ENGINE": "spark",
        "COURSE_ANALYTICS_HOME": str(tmp_path),
    }
    result = subprocess.run([CLI, "sql", "select 1"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "SPARK_MASTER is not set" in result.stderr
