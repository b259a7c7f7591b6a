"""What is published for analysts, mart by mart: rows, when it was published, what time its data is as of.

Read through the warehouse's plain queries, so it serves ``status`` and ``report`` on either
engine. Each publication (``analytics.mart_publications``) lists the relations it published:
``relations`` is a JSON list of ``{"relation": name, ...}``, jsonb on PostgreSQL, text on Spark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.warehouse import MARTS_SCHEMA, Warehouse

PUBLICATIONS = "mart_publications"
# Spark publishes each mart as a view over a versioned copy (<mart>__v<N>): the copies are not marts
_PUBLISHED_VERSION = re.compile(r"__v\d+$")
# enough to find every mart's latest publication: each publication lists every mart
_RECENT_PUBLICATIONS = 50


@dataclass(frozen=True)
class Publication:
    published_at: datetime
    as_of: datetime | None
    relations: tuple[str, ...]


@dataclass(frozen=True)
class MartState:
    name: str
    rows: int
    published_at: datetime | None
    as_of: datetime | None


def utc(moment: datetime | None) -> datetime | None:
    """A timestamp from either engine as an aware UTC datetime (Spark's come without an offset, in UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _relation_names(value: Any) -> tuple[str, ...]:
    entries = json.loads(value) if isinstance(value, str) else (value or [])
    return tuple(entry["relation"] for entry in entries)


def recent_publications(warehouse: Warehouse, limit: int = _RECENT_PUBLICATIONS) -> list[Publication]:
    """The newest publications first; none when nothing was ever published."""
    if not warehouse.relation_exists(MARTS_SCHEMA, PUBLICATIONS):
        return []
    _, rows = warehouse.query(
        f"select published_at, as_of, relations from {MARTS_SCHEMA}.{PUBLICATIONS} "
        f"order by publication_id desc limit {int(limit)}"
    )
    return [Publication(utc(published), utc(as_of), _relation_names(relations)) for published, as_of, relations in rows]


def mart_names(warehouse: Warehouse) -> list[str]:
    """The published marts (tables and views of the marts schema), without the publication log."""
    return [
        name for name in warehouse.tables(MARTS_SCHEMA) if name != PUBLICATIONS and not _PUBLISHED_VERSION.search(name)
    ]


def mart_states(warehouse: Warehouse) -> list[MartState]:
    """Every published mart with its row count and the latest publication that published it."""
    publications = recent_publications(warehouse)
    states = []
    for name in mart_names(warehouse):
        _, rows = warehouse.query(f"select count(*) from {MARTS_SCHEMA}.{name}")
        latest = next((p for p in publications if name in p.relations), None)
        states.append(
            MartState(
                name=name,
                rows=int(rows[0][0]),
                published_at=latest.published_at if latest else None,
                as_of=latest.as_of if latest else None,
            )
        )
    return states
