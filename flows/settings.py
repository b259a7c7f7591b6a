"""Configuration: environment variables first, then dlt's ``.dlt/config.toml`` / ``secrets.toml``.

Every value has one name. A missing value raises :class:`ConfigError`, which names the value and
how to set it; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import dlt


class ConfigError(Exception):
    """A setting is missing or invalid. The message says which and how to fix it."""


@dataclass(frozen=True)
class Setting:
    env: str
    dlt_key: str
    secret: bool = False

    def how_to_set(self) -> str:
        section, _, key = self.dlt_key.rpartition(".")
        toml = ".dlt/secrets.toml" if self.secret else ".dlt/config.toml"
        return f"set the environment variable {self.env}, or `{key}` under [{section}] in {toml}"

    def read(self) -> str | None:
        value = os.environ.get(self.env)
        if value is None or value == "":
            accessor = dlt.secrets if self.secret else dlt.config
            value = accessor.get(self.dlt_key)
        if value is None:
            return None
        value = str(value).strip()
        return value or None


UMAMI_API_URL = Setting("UMAMI_API_URL", "sources.umami.api_url")
UMAMI_WEBSITE_ID = Setting("UMAMI_WEBSITE_ID", "sources.umami.website_id")
UMAMI_USERNAME = Setting("UMAMI_USERNAME", "sources.umami.username", secret=True)
UMAMI_PASSWORD = Setting("UMAMI_PASSWORD", "sources.umami.password", secret=True)
UMAMI_API_KEY = Setting("UMAMI_API_KEY", "sources.umami.api_key", secret=True)
WAREHOUSE_DSN = Setting("WAREHOUSE_DSN", "destination.postgres.credentials", secret=True)
WAREHOUSE_ENGINE = Setting("WAREHOUSE_ENGINE", "warehouse.engine")
SPARK_MASTER = Setting("SPARK_MASTER", "warehouse.spark_master")
LAKE_URL = Setting("LAKE_URL", "destination.filesystem.bucket_url")

ENGINES = ("postgres", "spark")
LAKE_SCHEMES = ("file", "s3", "gs", "gcs", "az", "abfs", "abfss")


@dataclass(frozen=True)
class UmamiSettings:
    api_url: str
    website_id: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)

    @property
    def secrets(self) -> dict[str, str | None]:
        """The credentials by the setting they come from (for ``flows.redact.register``)."""
        return {UMAMI_PASSWORD.env: self.password, UMAMI_API_KEY.env: self.api_key}


def _require(setting: Setting) -> str:
    value = setting.read()
    if value is None:
        raise ConfigError(f"{setting.env} is not set: {setting.how_to_set()}.")
    return value


def umami_settings() -> UmamiSettings:
    """The Umami connection, or a ConfigError naming the first missing value."""
    api_url = _require(UMAMI_API_URL)
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{UMAMI_API_URL.env} must be an http(s) URL including the API prefix, e.g. "
            "https://umami.example.com/api (self-hosted) or https://api.umami.is/v1 (Umami Cloud)."
        )
    website_id = _require(UMAMI_WEBSITE_ID)
    api_key = UMAMI_API_KEY.read()
    if api_key:
        return UmamiSettings(api_url.rstrip("/"), website_id, api_key=api_key)
    username = UMAMI_USERNAME.read()
    password = UMAMI_PASSWORD.read()
    if not username or not password:
        missing = UMAMI_USERNAME if not username else UMAMI_PASSWORD
        raise ConfigError(
            f"{missing.env} is not set: {missing.how_to_set()}. Self-hosted Umami needs "
            f"{UMAMI_USERNAME.env} and {UMAMI_PASSWORD.env}; Umami Cloud needs {UMAMI_API_KEY.env} instead."
        )
    return UmamiSettings(api_url.rstrip("/"), website_id, username=username, password=password)


def warehouse_dsn() -> str | None:
    """The configured warehouse DSN, or None for the embedded default."""
    dsn = WAREHOUSE_DSN.read()
    if dsn is not None and not dsn.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"{WAREHOUSE_DSN.env} must be a postgresql:// URL, e.g. postgresql://user:password@host:5432/db."
        )
    return dsn


def warehouse_engine() -> str:
    """``postgres`` (the default) or ``spark``."""
    engine = (WAREHOUSE_ENGINE.read() or "postgres").lower()
    if engine not in ENGINES:
        raise ConfigError(
            f"{WAREHOUSE_ENGINE.env} must be one of {', '.join(ENGINES)}, got {engine!r}: "
            f"{WAREHOUSE_ENGINE.how_to_set()}."
        )
    return engine


@dataclass(frozen=True)
class SparkSettings:
    master: str  # spark://host:port, or local[N] for a quick try
    lake_url: str  # where dlt writes the raw parquet files: a folder (file://) or an object store


def _valid_master(master: str) -> bool:
    if master.startswith("spark://"):
        host, _, port = master.removeprefix("spark://").rpartition(":")
        return bool(host) and port.isdigit()
    if master == "local":
        return True
    inner = master.removeprefix("local[").removesuffix("]")
    return master.startswith("local[") and master.endswith("]") and (inner == "*" or inner.isdigit())


def spark_settings() -> SparkSettings:
    """The Spark cluster and the lake, or a ConfigError naming the first missing or wrong value."""
    master = SPARK_MASTER.read()
    if master is None:
        raise ConfigError(
            f"{SPARK_MASTER.env} is not set ({WAREHOUSE_ENGINE.env} is spark): {SPARK_MASTER.how_to_set()}; "
            "`course-analytics spark start` runs a local cluster and prints its URL."
        )
    if not _valid_master(master):
        raise ConfigError(
            f"{SPARK_MASTER.env} must be spark://host:port (a standalone master) or local[N], got {master!r}."
        )
    lake = _require(LAKE_URL)
    scheme, sep, _ = lake.partition("://")
    if sep:
        if scheme not in LAKE_SCHEMES:
            raise ConfigError(
                f"{LAKE_URL.env} has an unsupported scheme {scheme!r}: use a local folder or one of "
                f"{', '.join(s + '://' for s in LAKE_SCHEMES)}."
            )
    elif not lake.startswith("/"):
        raise ConfigError(f"{LAKE_URL.env} must be an absolute folder or a URL (file://, s3://, ...), got {lake!r}.")
    else:
        lake = "file://" + lake
    return SparkSettings(master=master, lake_url=lake.rstrip("/"))
