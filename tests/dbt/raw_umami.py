"""The raw Umami tables (schema ``umami_raw``) exactly as loader/README.md describes them.

The loader is written elsewhere; these helpers create its tables the way dlt would (text as
varchar, timestamptz, jsonb, dlt's ``_dlt_load_id``/``_dlt_id`` text columns, no primary-key
constraints: dlt merges on its hints, it does not create constraints by default) plus the
index the loader creates on ``events(event_name, created_at)``, and turn the contract dataset
(``tests/data/umami-contract/dataset.json``) into the rows the loader would store.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg2 import sql
from psycopg2.extras import Json, execute_values

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "data" / "umami-contract"
RAW_SCHEMA = "umami_raw"
LOAD_ID = "1795132800.000001"
WEBSITE_ID = "ca40c2e9-e9a1-46d3-8737-11d5165486df"
_NAMESPACE = uuid.UUID("6f1c1a52-3a8e-4b43-9a07-5e0f0c7a1b01")

TABLES: dict[str, list[tuple[str, str]]] = {
    "events": [
        ("event_id", "varchar"),
        ("website_id", "varchar"),
        ("session_id", "varchar"),
        ("event_name", "varchar"),
        ("created_at", "timestamp with time zone"),
        ("url_path", "varchar"),
        ("has_data", "boolean"),
        ("properties", "jsonb"),
        ("loaded_at", "timestamp with time zone"),
    ],
    "sessions": [
        ("session_id", "varchar"),
        ("website_id", "varchar"),
        ("distinct_id", "varchar"),
        ("first_at", "timestamp with time zone"),
        ("found", "boolean"),
        ("fetched_at", "timestamp with time zone"),
    ],
    "window_stats": [
        ("window_type", "varchar"),
        ("event_name", "varchar"),
        ("window_start_date", "date"),
        ("window_end_date", "date"),
        ("start_at", "timestamp with time zone"),
        ("end_at", "timestamp with time zone"),
        ("events", "bigint"),
        ("visitors", "bigint"),
        ("visits", "bigint"),
        ("synced_at", "timestamp with time zone"),
    ],
    "window_property_values": [
        ("window_type", "varchar"),
        ("window_start_date", "date"),
        ("window_end_date", "date"),
        ("start_at", "timestamp with time zone"),
        ("end_at", "timestamp with time zone"),
        ("event_name", "varchar"),
        ("property_name", "varchar"),
        ("value", "varchar"),
        ("total", "bigint"),
        ("synced_at", "timestamp with time zone"),
    ],
    "sync_runs": [
        ("run_id", "varchar"),
        ("website_id", "varchar"),
        ("api_url", "varchar"),
        ("as_of", "timestamp with time zone"),
        ("read_start_at", "timestamp with time zone"),
        ("read_end_at", "timestamp with time zone"),
        ("started_at", "timestamp with time zone"),
    ],
    "rejected_rows": [
        ("run_id", "varchar"),
        ("endpoint", "varchar"),
        ("reason", "varchar"),
        ("payload", "jsonb"),
        ("rejected_at", "timestamp with time zone"),
    ],
}


def create_raw_tables(conn, schema: str = RAW_SCHEMA) -> None:
    """Create the raw schema and its six tables (empty), as the loader's first load would."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        for table, columns in TABLES.items():
            cols = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in columns]
            cols += [sql.SQL("_dlt_load_id varchar not null"), sql.SQL("_dlt_id varchar not null")]
            cur.execute(
                sql.SQL("create table {}.{} ({})").format(
                    sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(cols)
                )
            )
        cur.execute(
            sql.SQL("create index events_event_name_created_at_idx on {}.events (event_name, created_at)").format(
                sql.Identifier(schema)
            )
        )
    conn.commit()


def insert_rows(conn, table: str, rows: Sequence[Mapping[str, Any]], schema: str = RAW_SCHEMA) -> None:
    """Insert rows (dicts keyed by the table's columns; dlt columns are filled in when absent)."""
    if not rows:
        return
    names = [name for name, _ in TABLES[table]] + ["_dlt_load_id", "_dlt_id"]
    values = []
    for row in rows:
        full = {"_dlt_load_id": LOAD_ID, "_dlt_id": uuid.uuid4().hex[:14], **row}
        values.append(tuple(Json(full.get(n)) if isinstance(full.get(n), dict | list) else full.get(n) for n in names))
    query = sql.SQL("insert into {}.{} ({}) values %s").format(
        sql.Identifier(schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with conn.cursor() as cur:
        execute_values(cur, query.as_string(cur), values)
    conn.commit()


# -- the contract dataset as the loader stores it ------------------------------------------------


def load_dataset() -> dict[str, Any]:
    return json.loads((CONTRACT_DIR / "dataset.json").read_text(encoding="utf-8"))


def load_expected() -> dict[str, Any]:
    return json.loads((CONTRACT_DIR / "expected.json").read_text(encoding="utf-8"))


def _js_to_fixed4(value: float) -> str:
    return str(value) if isinstance(value, float) and not math.isfinite(value) else f"{value:.4f}"


def _looks_like_iso_date_with_ms(value: str) -> bool:
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


def encode_properties(data: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Umami's stored event data for a payload's ``data``, in the loader's ``properties`` shape."""

    out: dict[str, dict[str, Any]] = {}

    def put(
        key: str, data_type: int, string_value: str, number_value: str | None = None, date_value: str | None = None
    ) -> None:
        out[key] = {
            "data_type": data_type,
            "string_value": string_value,
            "number_value": number_value,
            "date_value": date_value,
        }

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):  # nested objects arrive flattened: a.b
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, bool):
            put(prefix, 3, "true" if value else "false")
        elif isinstance(value, int | float):
            number = str(int(value)) if float(value).is_integer() else repr(value)
            put(prefix, 2, _js_to_fixed4(value), number)
        elif isinstance(value, str):
            if _looks_like_iso_date_with_ms(value):
                put(prefix, 4, value, None, value)
            else:
                put(prefix, 1, value)
        else:  # null and arrays: data_type 5, JSON text
            put(prefix, 5, json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    for key, value in (data or {}).items():
        walk(key, value)
    return out


def session_id_for(payload: Mapping[str, Any], at: datetime) -> str:
    """Identified: one session per user; guest: one per (ip, userAgent, UTC month), as Umami does."""
    if isinstance(payload.get("id"), str) and payload["id"]:
        return str(uuid.uuid5(_NAMESPACE, f"id:{payload['id']}"))
    return str(uuid.uuid5(_NAMESPACE, f"guest:{payload.get('ip')}:{payload.get('userAgent')}:{at:%Y-%m}"))


def dataset_raw_rows(dataset: Mapping[str, Any], loaded_at: datetime) -> dict[str, list[dict[str, Any]]]:
    """events and sessions rows for every named custom event of the dataset (pageviews and
    identify calls store no event row the loader reads)."""
    events: list[dict[str, Any]] = []
    sessions: dict[str, dict[str, Any]] = {}
    for item in dataset["payloads"]:
        body = item["body"]
        payload = body["payload"]
        if body.get("type") != "event" or not payload.get("name"):
            continue
        at = datetime.fromtimestamp(payload["timestamp"], UTC)
        session_id = session_id_for(payload, at)
        data = payload.get("data")
        events.append(
            {
                "event_id": str(uuid.uuid5(_NAMESPACE, f"event:{item['seq']}")),
                "website_id": WEBSITE_ID,
                "session_id": session_id,
                "event_name": payload["name"],
                "created_at": at,
                "url_path": payload.get("url", "").split("?", 1)[0],
                "has_data": bool(data),
                "properties": encode_properties(data),
                "loaded_at": loaded_at,
                "_seq": item["seq"],
            }
        )
        session = sessions.setdefault(
            session_id,
            {
                "session_id": session_id,
                "website_id": WEBSITE_ID,
                "distinct_id": payload.get("id") or None,
                "first_at": at,
                "found": True,
                "fetched_at": loaded_at,
            },
        )
        session["first_at"] = min(session["first_at"], at)
    return {"events": events, "sessions": list(sessions.values())}


def window_rows(expected: Mapping[str, Any], synced_at: datetime) -> dict[str, list[dict[str, Any]]]:
    """Umami's 30-day window aggregates for the dataset (the captured answers, which equal the
    oracle's ``umami_semantics`` predictions)."""
    window = expected["window_30d_utc"]
    umami = expected["umami_semantics"]
    start_at = datetime.fromtimestamp(window["start_ms"] / 1000, UTC)
    end_at = datetime.fromtimestamp(window["end_ms_inclusive"] / 1000, UTC)
    common = {
        "window_type": "last_30_days",
        "window_start_date": date.fromisoformat(window["start_date"]),
        "window_end_date": date.fromisoformat(window["end_date"]),
        "start_at": start_at,
        "end_at": end_at,
        "event_name": "course_visit",
        "synced_at": synced_at,
    }
    stats = umami["window_30d_utc"]
    return {
        "window_stats": [
            {**common, "events": stats["events"], "visitors": stats["visitors"], "visits": stats["visits"]}
        ],
        "window_property_values": [
            {**common, "property_name": "shifu_bid", "value": v["value"], "total": v["total"]}
            for v in umami["window_30d_utc_event_data_values_shifu_bid"]
        ],
    }


def sync_run_row(as_of: datetime, finished_at: datetime) -> dict[str, Any]:
    return {
        "run_id": f"run-{as_of:%Y%m%dT%H%M%S}",
        "website_id": WEBSITE_ID,
        "api_url": "http://127.0.0.1:3000/api",
        "as_of": as_of,
        "read_start_at": as_of - timedelta(days=40),
        "read_end_at": as_of,
        "started_at": finished_at - timedelta(seconds=30),
    }


def load_contract_dataset(conn, *, loaded_at: datetime | None = None, schema: str = RAW_SCHEMA) -> dict[str, Any]:
    """Create the raw tables and fill them with the contract dataset; returns what was stored."""
    dataset = load_dataset()
    expected = load_expected()
    loaded_at = loaded_at or datetime(2026, 11, 20, 0, 5, tzinfo=UTC)
    rows = dataset_raw_rows(dataset, loaded_at)
    windows = window_rows(expected, loaded_at)
    create_raw_tables(conn, schema)
    insert_rows(conn, "events", [{k: v for k, v in e.items() if not k.startswith("_")} for e in rows["events"]], schema)
    insert_rows(conn, "sessions", rows["sessions"], schema)
    insert_rows(conn, "window_stats", windows["window_stats"], schema)
    insert_rows(conn, "window_property_values", windows["window_property_values"], schema)
    closed_until = datetime(2026, 11, 19, 23, 59, 59, 999000, tzinfo=UTC)
    insert_rows(
        conn,
        "sync_runs",
        [sync_run_row(closed_until, loaded_at)],
        schema,
    )
    return {"dataset": dataset, "expected": expected, **rows, **windows}


def rows_as_dicts(cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def query(conn, statement: str, params: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(statement, params)
        return rows_as_dicts(cur)
