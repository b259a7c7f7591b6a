"""Who may read: bearer tokens from ``/auth/login`` (self-hosted) or an API key with a per-key rate
limit (Umami Cloud)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from .ids import new_login_token


class Tokens:
    """Opaque bearer tokens; they never expire on their own, but can all be revoked at once."""

    def __init__(self) -> None:
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = new_login_token()
        with self._lock:
            self._tokens.add(token)
        return token

    def valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            return scheme.lower() == "bearer" and token.strip() in self._tokens

    def revoke(self, authorization: str | None) -> None:
        with self._lock:
            self._tokens.discard((authorization or "").partition(" ")[2].strip())

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()


class RateLimiter:
    """Sliding window: at most ``limit`` requests per ``window_s`` seconds per key."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """None when the request may pass (it is then counted), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window_s:
                seen.popleft()
            if len(seen) >= self.limit:
                return max(1, math.ceil(seen[0] + self.window_s - now))
            seen.append(now)
            return None
