"""Offset paging with ties in arbitrary order, as PostgreSQL gives for ``ORDER BY created_at DESC``.

A page is rows ``[offset, offset + pageSize)`` of the list sorted newest first, where rows that share
``created_at`` come in a fresh random order on every request. Rows of a tie group that lies wholly
inside the page are shuffled; for a group that crosses the start or the end of the page, the page
gets a random sample of the whole group (as many rows as the page has positions for that timestamp).
So two requests for neighbouring pages can both return one tied row and neither return its
tie-mate: the flaw a loader must survive. Time order, counts and page lengths stay exact.

The index gives the positions: one covering-index query for the page's (id, created_at), and one
equality query per boundary timestamp.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .params import Paging
    from .query import Scope
    from .store import Store


def page_ids(store: Store, scope: Scope, page: Paging, rng: random.Random) -> list[int]:
    rows = store.query(
        scope.sql("e.id, e.created_at", tail="ORDER BY e.created_at DESC LIMIT ? OFFSET ?"),
        (*scope.params, page.page_size, page.offset),
    )
    result = [row[0] for row in rows]
    starts = [i for i in range(len(rows)) if i == 0 or rows[i][1] != rows[i - 1][1]]
    for number, start in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(rows)
        members = result[start:end]
        if number in (0, len(starts) - 1):  # may continue on the previous or the next page
            tied = scope.at(rows[start][1])
            whole = [row[0] for row in store.query(tied.sql("e.id"), tied.params)]
            if len(whole) > len(members):
                result[start:end] = rng.sample(whole, len(members))
                continue
        if len(members) > 1:
            rng.shuffle(members)
            result[start:end] = members
    return result
