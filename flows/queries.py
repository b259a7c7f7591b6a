"""``course-analytics sql``: one read-only query against the warehouse, as tab-separated text."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.warehouse import Warehouse


class QueryRejected(ValueError):
    """The query is not one read-only query, or the warehouse refused it (the message says why)."""


def _field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).replace("\t", " ").replace("\n", " ")


def tab_separated(warehouse: Warehouse, query: str) -> str:
    """The query's rows, a header line first, fields separated by tabs, NULL as an empty field.

    The query runs as a subquery (``select * from (QUERY)``), so only one SELECT or WITH query
    parses; on PostgreSQL also in a read-only transaction."""
    text = query.strip().rstrip(";").strip()
    if not text:
        raise QueryRejected("the query is empty")
    try:
        columns, rows = warehouse.query(text, read_only=True)
    except Exception as exc:  # the engine's own error: the message says what is wrong
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise QueryRejected(f"the warehouse refused the query: {first_line}") from None
    lines = ["\t".join(columns), *("\t".join(_field(v) for v in row) for row in rows)]
    return "\n".join(lines) + "\n"
