"""Offset paging with ties in arbitrary order, as PostgreSQL gives for ``ORDER BY created_at DESC``.

A page is rows ``[offset, offset + pageSize)`` of the list sorted newest first, where rows that share
``created_at`` come in a fresh random order on every request (a keyed hash of the rowid, with new
keys from the simulator's random generator each time). So two requests for neighbouring pages can
both return one tied row and neither return its tie-mate: the flaw a loader must survive. Time order,
counts and page lengths stay exact.

The index gives the page's first and last timestamps; one query then sorts only the events between
them (tie groups across the page's edges included), skips those of the first timestamp that belong
to earlier pages, and renders the rows as JSON (see ``render``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .render import HOUR_KEY, RowRender, hour_key

if TYPE_CHECKING:
    from .params import Paging
    from .query import Scope
    from .store import Store

_HOURS_AT_ONCE = 10_000  # a page spanning more hours than this asks which hours it has
# the tie order: a hash of the rowid keyed by two parameters
_SHUFFLE = "(((e.id & 16777215) * ((e.id & 16777215) + ?)) & 16777215) * ? & 274877906943"
_BY_TIME = "ORDER BY e.created_at DESC LIMIT ? OFFSET ?"


def page_rows(
    store: Store, scope: Scope, page: Paging, count: int, render: RowRender, website_json: str, rng: random.Random
) -> bytes:
    """The rendered rows of ``page`` of ``scope`` (which holds ``count`` events), comma-separated."""
    size = min(page.page_size, count - page.offset)
    if size <= 0:
        return b""
    newest, oldest = store.query_one(
        f"SELECT max(created_at), min(created_at) FROM ({scope.sql('e.created_at', tail=_BY_TIME)})",
        (*scope.params, size, page.offset),
    )
    skip = page.offset  # the events at ``newest`` on earlier pages: all before the page but the newer ones
    if skip:
        newer = scope.between(newest + 1, scope.period.end)
        skip -= store.count(newer.sql("count(*)"), newer.params)
    window = scope.between(oldest, newest)
    first, last = hour_key(oldest), hour_key(newest)
    if last - first < _HOURS_AT_ONCE:
        hours: Iterable[int] = range(first, last + 1)
    else:
        hours = [row[0] for row in store.query(window.sql(f"DISTINCT {HOUR_KEY}"), window.params)]
    ordered = window.sql(
        f"e.id, e.created_at, e.session, e.page, e.props, e.name, {render.columns}",
        tail=f"ORDER BY e.created_at DESC, {_SHUFFLE} LIMIT ? OFFSET ?",
    )
    sql = f"SELECT CAST(group_concat({render.select}) AS BLOB) FROM ({ordered}) e {render.joins}"
    keys = (rng.getrandbits(24), rng.getrandbits(37) | 1 << 37 | 1)
    return store.rendered(sql, (website_json, *window.params, *keys, size, skip), hours)
