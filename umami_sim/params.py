"""Query parameters of the read API: date range, paging and filters, with Umami's error answers.

Filters are ``name=value`` pairs on the columns below. A value may carry an operator prefix
(v3.1.0): ``eq.`` equals (the default), ``neq.`` not equal, ``c.`` contains and ``dnc.`` does not
contain (case-insensitive, like PostgreSQL ``ilike``), ``re.`` and ``nre.`` regular expression
(PostgreSQL ``~``). For ``eq``/``neq``/``c``/``dnc`` a comma-separated value means any of the values
(for ``neq``/``dnc``: none of them); regular expressions are never split. A NULL column matches no
filter at all, as in SQL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import responses
from .responses import NAN, NOT_INT, RANGE_REQUIRED, TOO_SMALL, Response

# filter name -> (column, lookup): event and page columns live in lookup tables referenced by the
# event row (event_name via e.name, page via e.page); session columns are read through the join.
FILTER_COLUMNS: dict[str, tuple[str, tuple[str, str] | None]] = {
    "event": ("name", ("e.name", "event_name")),
    "path": ("url_path", ("e.page", "page")),
    "query": ("url_query", ("e.page", "page")),
    "hostname": ("hostname", ("e.page", "page")),
    "title": ("page_title", ("e.page", "page")),
    "referrer": ("referrer_domain", ("e.page", "page")),
    "distinctId": ("s.distinct_id", None),
    **{
        name: (f"s.{name}", None)
        for name in ("browser", "os", "device", "screen", "language", "country", "region", "city")
    },
}
_OPERATORS = ("eq", "neq", "c", "dnc", "re", "nre")


@dataclass(frozen=True)
class Filter:
    column: str
    operator: str
    values: tuple[str, ...]
    lookup: tuple[str, str] | None  # (foreign key on the event, lookup table)

    @property
    def needs_session(self) -> bool:
        return self.lookup is None

    def condition(self) -> tuple[str, list[object]]:
        """SQL testing ``column`` (on the lookup table when there is one) and its parameters."""
        marks = ", ".join("?" * len(self.values))
        contains = " OR ".join(f"instr(lower({self.column}), lower(?)) > 0" for _ in self.values)
        clause = {
            "eq": f"{self.column} IN ({marks})",
            "neq": f"{self.column} NOT IN ({marks})",
            "c": f"({contains})",
            "dnc": f"NOT ({contains})",
            "re": f"sim_regexp(?, {self.column}) = 1",
            "nre": f"sim_regexp(?, {self.column}) = 0",
        }[self.operator]
        return clause, list(self.values)


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class Range:
    start: int
    end: int

    def shifted_back(self) -> Range:
        """The previous period of the same length (Umami's ``comparison``: whole minutes)."""
        minutes = int((self.end - self.start) / 60_000)
        return Range(self.start - minutes * 60_000, self.end - minutes * 60_000)


class Problems:
    """Collects zod-style field errors; ``response()`` is the 400 answer when there are any."""

    def __init__(self) -> None:
        self.tree: dict[str, list[str] | dict] = {}

    def add(self, name: str, message: str) -> None:
        messages = self.tree.setdefault(name, [])
        assert isinstance(messages, list)
        messages.append(message)

    def response(self) -> Response | None:
        return responses.invalid(self.tree) if self.tree else None


def number(problems: Problems, query: Mapping[str, str], name: str, positive: bool) -> int | None:
    """An optional integer parameter (zod ``coerce.number().int()``, optionally ``.positive()``)."""
    raw = query.get(name)
    if raw is None:
        return None
    text = raw.strip()
    try:
        value = float(text) if text else 0.0
    except ValueError:
        value = math.nan
    if math.isnan(value):
        problems.add(name, NAN)
    elif not value.is_integer():
        problems.add(name, NOT_INT)
    elif positive and value <= 0:
        problems.add(name, TOO_SMALL)
    else:
        return int(value)
    return None


def paging(problems: Problems, query: Mapping[str, str]) -> Paging:
    page = number(problems, query, "page", positive=True)
    page_size = number(problems, query, "pageSize", positive=True)
    return Paging(page or 1, page_size or 20)


def required_range(problems: Problems, query: Mapping[str, str]) -> Range | None:
    """``startAt``/``endAt`` required by the schema (``/event-data``, ``/event-data/values``)."""
    for name in ("startAt", "endAt"):
        if name not in query:
            problems.add(name, NAN)
    start = number(problems, query, "startAt", positive=False)
    end = number(problems, query, "endAt", positive=False)
    return Range(start, end) if start is not None and end is not None else None


def optional_range(problems: Problems, query: Mapping[str, str]) -> Range | Response | None:
    """``startAt``/``endAt`` checked after the schema (``/events``, stats, sessions, metrics).

    Returns the range, an error answer, or None when ``problems`` already holds a schema error.
    """
    start = number(problems, query, "startAt", positive=False)
    end = number(problems, query, "endAt", positive=False)
    if problems.tree:
        return None
    if start is not None and end is not None:
        return Range(start, end)
    if "startDate" in query and "endDate" in query:
        return responses.empty_server_error()
    return responses.bad_request_errors(RANGE_REQUIRED)


def filters(query: Mapping[str, str], ignore: frozenset[str] = frozenset()) -> list[Filter]:
    result = []
    for name, (column, lookup) in FILTER_COLUMNS.items():
        raw = query.get(name)
        if raw is None or name in ignore:
            continue
        operator, dot, rest = raw.partition(".")
        if operator not in _OPERATORS or not dot:
            operator, rest = "eq", raw
        values = (rest,) if operator in ("re", "nre") else tuple(rest.split(","))
        result.append(Filter(column, operator, values, lookup))
    return result
