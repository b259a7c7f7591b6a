"""Fault injection and request counters.

A fault applies to the next ``count`` requests whose path contains ``path`` (every API request when
``path`` is None; ``count=None`` keeps it until cleared). Kinds:

* ``latency``: add ``latency_ms`` before answering (all matching latency faults add up);
* ``status``: answer ``status`` (429 carries ``Retry-After: retry_after``; 500/502/503 …);
* ``reset``: close the connection without an answer (TCP reset);
* ``timeout``: hold the request ``hold_s`` seconds, then close without an answer;
* ``malformed``: answer 200 with a truncated JSON body;
* ``short_page``: a list answer silently loses ``drop_rows`` rows (``count`` still says all);
  only lists that have rows consume it;
* ``bad_rows``: ``patch_rows`` rows of a list answer, or an object answer itself, get the fields
  of ``patch`` (an object; a ``null`` value sets the field to null), as a broken proxy or a
  changed API might send them; empty lists and objects do not consume it;
* ``token_expiry``: every bearer token issued so far stops working; this request gets 401.

Besides ``latency`` at most one fault fires per request (the first matching one, in the order
they were added). Requests to the admin endpoints (``/__sim/…``) are never faulted or counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace

KINDS = ("latency", "status", "reset", "timeout", "malformed", "short_page", "bad_rows", "token_expiry")
RESPONSE_KINDS = ("status", "reset", "timeout", "malformed", "token_expiry")


@dataclass
class Fault:
    kind: str
    count: int | None = 1
    path: str | None = None
    latency_ms: int = 0
    status: int = 503
    retry_after: int = 1
    hold_s: float = 30.0
    drop_rows: int = 1
    patch: dict[str, object] | None = None
    patch_rows: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "bad_rows" and not (isinstance(self.patch, dict) and self.patch):
            raise ValueError("a bad_rows fault needs patch: an object of the fields to set")
        if self.patch_rows < 1:
            raise ValueError("patch_rows must be at least 1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1, or None for until cleared")

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Fault:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def matches(self, path: str) -> bool:
        return self.path is None or self.path in path


class FaultInjector:
    """Thread-safe fault list plus counters of requests served (per path) and faults fired."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = [replace(f) for f in faults or []]
        self._requests: Counter[str] = Counter()
        self._fired: Counter[str] = Counter()

    def set(self, faults: list[Fault]) -> None:
        """Replace the active faults (copies: the caller's objects are never consumed)."""
        with self._lock:
            self._faults = [replace(f) for f in faults]

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(replace(fault))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def record_request(self, path: str) -> None:
        with self._lock:
            self._requests[path] += 1

    def latency_s(self, path: str) -> float:
        """Total added latency for this request (consumes one use of each matching latency fault)."""
        with self._lock:
            fired = [f for f in self._faults if f.kind == "latency" and f.matches(path)]
            for fault in fired:
                self._consume(fault)
            return sum(f.latency_ms for f in fired) / 1000

    def has(self, path: str, kind: str) -> bool:
        with self._lock:
            return any(f.kind == kind and f.matches(path) for f in self._faults)

    def take(self, path: str, kinds: tuple[str, ...]) -> Fault | None:
        """The first matching fault of one of ``kinds``, consuming one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(path):
                    self._consume(fault)
                    return fault
            return None

    def _consume(self, fault: Fault) -> None:
        self._fired[fault.kind] += 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count == 0:
                self._faults.remove(fault)

    def request_count(self, path_substring: str | None = None) -> int:
        with self._lock:
            return sum(n for path, n in self._requests.items() if path_substring is None or path_substring in path)

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "total_requests": sum(self._requests.values()),
                "faults_fired": dict(self._fired),
                "active_faults": [f.to_dict() for f in self._faults],
            }

    def reset_counters(self) -> None:
        with self._lock:
            self._requests.clear()
            self._fired.clear()
