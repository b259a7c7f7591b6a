"""The SQL scope of a read: one website's events in a period, filtered."""

from __future__ import annotations

from dataclasses import dataclass

from .params import Filter, Range
from .store import Store

# a visit is a session's UTC hour
VISIT_KEY = "e.session * 4194304 + e.created_at / 3600000"
JOIN_SESSION = "JOIN session s ON s.id = e.session"
JOIN_PAGE = "JOIN page p ON p.id = e.page"


@dataclass(frozen=True)
class Scope:
    """FROM … WHERE … of a query over ``event e`` (joined to ``session s`` / ``page p`` as needed)."""

    joins: str
    where: str
    params: tuple[object, ...]
    period: Range

    def sql(self, select: str, tail: str = "") -> str:
        return f"SELECT {select} FROM event e {self.joins} WHERE {self.where} {tail}"

    def between(self, start: int, end: int) -> Scope:
        """The same events in another period (the period is always the 2nd and 3rd parameter)."""
        return Scope(self.joins, self.where, (self.params[0], start, end, *self.params[3:]), Range(start, end))


def scope(
    store: Store,
    website: int,
    period: Range,
    filters: list[Filter],
    conditions: tuple[str, ...] = (),
    condition_params: tuple[object, ...] = (),
    joins: tuple[str, ...] = (),
) -> Scope:
    """Events of ``website`` with ``created_at`` in the period (inclusive) that pass the filters and the
    extra SQL conditions (whose ``?`` take ``condition_params``).

    Filters on event names and page columns are resolved to key lists first (``e.name IN (3, 7)``), so
    SQLite keeps using the covering indexes."""
    clauses = ["e.website = ?", "e.created_at BETWEEN ? AND ?", *conditions]
    values: list[object] = [website, period.start, period.end, *condition_params]
    for f in filters:
        clause, args = f.condition()
        if f.lookup is not None:
            key, table = f.lookup
            args = [row[0] for row in store.query(f"SELECT id FROM {table} WHERE {clause}", args)]
            clause = f"{key} IN ({', '.join('?' * len(args))})"
        clauses.append(clause)
        values.extend(args)
    needed = list(joins)
    if any(f.needs_session for f in filters) and JOIN_SESSION not in needed:
        needed.append(JOIN_SESSION)
    return Scope(" ".join(needed), " AND ".join(clauses), tuple(values), period)
