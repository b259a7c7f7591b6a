"""Fetching the distinct id of each new session in the background while events are read.

Umami has no list of sessions with their distinct ids: each new session costs one request. Asked
for while the events resource goes on reading, those requests overlap with the event pages
instead of holding them up (a first load meets thousands of sessions in its first slices).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from loader.umami.client import UmamiClient
from loader.umami.records import session_problem

KnownSessions = Callable[[list[str]], set[str]]
SESSION_THREADS = 4


class SessionFetcher:
    """Fetches each session id once, ``workers`` at a time; ``rows()`` waits for all of them."""

    def __init__(
        self, client: UmamiClient, website_id: str, known: KnownSessions | None = None, workers: int = SESSION_THREADS
    ) -> None:
        self.client = client
        self.website_id = website_id
        self.known = known
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="umami-sessions")
        self._seen: set[str] = set()
        self._futures: list[Future[dict[str, Any]]] = []
        self._failure: BaseException | None = None
        self._lock = threading.Lock()
        self.rejected: list[tuple[dict[str, Any], str]] = []  # answers that could not be stored

    def submit(self, session_ids: Iterable[str | None]) -> None:
        """Queue the sessions not seen in this run and not already in the warehouse.

        Raises the first failed fetch, so a run whose sessions cannot be read stops early.
        """
        self._raise_failure()
        ids = [s for s in dict.fromkeys(session_ids) if s and s not in self._seen]
        self._seen.update(ids)
        if self.known is not None and ids:
            known = self.known(ids)
            ids = [s for s in ids if s not in known]
        for session_id in ids:
            future = self._pool.submit(self._fetch, session_id)
            future.add_done_callback(self._note_failure)
            self._futures.append(future)

    def rows(self) -> list[dict[str, Any]]:
        """Every fetched session, once all fetches are done; raises the first that failed."""
        try:
            return [future.result() for future in self._futures]
        finally:
            self.close()

    def close(self, wait: bool = True) -> None:
        """Stop: queued fetches are dropped; running ones finish (waited for when ``wait``)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _fetch(self, session_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/websites/{self.website_id}/sessions/{session_id}")
        found = isinstance(answer, dict) and answer.get("id") == session_id
        problem = session_problem(answer) if found else None
        if problem is not None:  # stored as not found (asked again when its events are read again)
            with self._lock:
                self.rejected.append((answer, problem))
            found = False
        return {
            "session_id": session_id,
            "website_id": self.website_id,
            "distinct_id": (answer.get("distinctId") or None) if found else None,
            "first_at": answer.get("firstAt") if found else None,
            "found": found,
            "fetched_at": datetime.now(UTC),
        }

    def _note_failure(self, future: Future[dict[str, Any]]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            with self._lock:
                self._failure = self._failure or error

    def _raise_failure(self) -> None:
        with self._lock:
            failure = self._failure
        if failure is not None:
            self.close(wait=False)
            raise failure
