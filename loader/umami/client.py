"""HTTP client for the Umami API: authentication, client-side throttle, retries.

Every attempt waits for the throttle (Umami Cloud). Retried, with tenacity: answers 429 and 5xx,
requests that got no answer (timeouts, refused or reset connections), and HTTP 200 answers whose
body does not parse. The wait is exponential with random jitter, or what a ``Retry-After`` header
asks (capped). Requests go through a lean urllib3 transport (``loader.umami.transport``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_any,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from loader.umami.errors import UmamiAuthError, UmamiPermanentError, UmamiTransientError
from loader.umami.transport import Answer, Transport, TransportError

log = logging.getLogger(__name__)

Decoder = Callable[[bytes], Any]

RETRY_STATUS = frozenset({429, *range(500, 600)})
CLOUD_REQUESTS_PER_WINDOW = 50
CLOUD_WINDOW_SECONDS = 15.0


def display_url(url: str) -> str:
    """The URL without any user:password part, safe for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class ClientSettings:
    api_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_attempts: int = 6
    backoff_factor: float = 0.5
    max_retry_delay: float = 30.0
    jitter: float = 0.5
    # Umami Cloud allows 50 requests per 15 s per API key; None disables the throttle.
    requests_per_window: int | None = None
    window_seconds: float = CLOUD_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if not self.api_key and not (self.username and self.password):
            raise UmamiPermanentError("Umami needs an API key, or a username and a password")
        if self.api_key and self.requests_per_window is None:
            self.requests_per_window = CLOUD_REQUESTS_PER_WINDOW


class SlidingWindowThrottle:
    """At most ``limit`` requests in any ``window`` seconds, as the server counts them.

    A request occupies its slot from the moment it starts until ``window`` seconds after its
    answer arrived: the server saw it arrive somewhere in between, so however much the network
    or the server delays a request, the server never counts more than ``limit`` in its window.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._slots: list[list[float]] = []  # [finished_at]; inf while in flight
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> list[float]:
        while True:
            with self._lock:
                now = time.monotonic()
                self._slots = [slot for slot in self._slots if slot[0] > now - self.window]
                if len(self._slots) < self.limit:
                    slot = [math.inf]
                    self._slots.append(slot)
                    return slot
                oldest = min(slot[0] for slot in self._slots)
                delay = min(oldest + self.window - now, 0.05) if oldest != math.inf else 0.05
            delay = max(delay, 0.001)
            self.waited_seconds += delay
            time.sleep(delay)

    @staticmethod
    def release(slot: list[float]) -> None:
        slot[0] = time.monotonic()


class UmamiClient:
    """GET and POST against one Umami API base URL, with authentication and retries."""

    def __init__(self, settings: ClientSettings, *, connections: int = 8) -> None:
        """``connections``: how many threads may send at once (each keeps a connection open)."""
        self.settings = settings
        self.base_url = settings.api_url.rstrip("/")
        self.requests_made = 0
        self.retries = 0
        self._token: str | None = None
        self._auth_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._throttle = (
            SlidingWindowThrottle(settings.requests_per_window, settings.window_seconds)
            if settings.requests_per_window
            else None
        )
        self._local = threading.local()
        self._transport = Transport(
            self.base_url,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            user_agent="course-analytics-loader",
            connections=connections,
        )
        self._backoff = wait_exponential(multiplier=settings.backoff_factor, max=settings.max_retry_delay)
        self._jitter = wait_random(0, settings.jitter)
        # ``wraps`` gives every call its own copy of the retry state: safe from several threads
        self._send_with_retries = self._build_retrying().wraps(self._attempt)

    # -- sending -------------------------------------------------------------------------------
    def _build_retrying(self) -> Retrying:
        return Retrying(
            retry=retry_any(
                retry_if_result(lambda parsed: parsed.answer.status in RETRY_STATUS),
                retry_if_exception(lambda error: isinstance(error, TransportError) and error.retryable),
                retry_if_result(self._not_json),
            ),
            wait=self._wait,
            stop=stop_after_attempt(self.settings.max_attempts),
            reraise=True,
            before_sleep=self._log_retry,
            retry_error_callback=lambda state: state.outcome.result(),
        )

    def _wait(self, state: RetryCallState) -> float:
        """What the answer's ``Retry-After`` asks (seconds; capped), else exponential; plus jitter."""
        answer = state.outcome.result().answer if state.outcome is not None and not state.outcome.failed else None
        asked = _retry_after(answer.headers.get("retry-after")) if answer is not None else None
        base = min(asked, self.settings.max_retry_delay) if asked is not None else self._backoff(state)
        return base + self._jitter(state)

    def _attempt(
        self, method: str, url: str, params: Mapping[str, Any] | None, json_body: Any, headers: Mapping[str, str]
    ) -> _Parsed:
        """One try: waits for the throttle, counts the request, sends it."""
        slot = self._throttle.acquire() if self._throttle is not None else None
        with self._count_lock:
            self.requests_made += 1
        try:
            return _Parsed(self._transport.send(method, url, params=params, json_body=json_body, headers=headers))
        finally:
            if slot is not None:
                self._throttle.release(slot)

    def _not_json(self, parsed: _Parsed) -> bool:
        """Retry an HTTP 200 whose body does not parse; keep the parsed body for the caller.

        The body is parsed here, once, by the decoder the request asked for (plain JSON by default).
        """
        if parsed.answer.status != 200:
            return False
        decode = getattr(self._local, "decode", None) or orjson.loads
        try:
            parsed.body = decode(parsed.answer.content)
        except (ValueError, msgspec.DecodeError):
            return True
        parsed.decoded = True
        return False

    def _log_retry(self, state: RetryCallState) -> None:
        with self._count_lock:
            self.retries += 1
        outcome = state.outcome
        if outcome is None:
            return
        if outcome.failed:
            reason = str(outcome.exception())
        else:
            answer = outcome.result().answer
            reason = f"HTTP {answer.status}" if answer.status != 200 else "malformed JSON"
            reason = f"{reason} from {urlsplit(answer.url).path}"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "Umami request retry %d/%d after %s; waiting %.1fs",
            state.attempt_number,
            self.settings.max_attempts,
            reason,
            wait,
        )

    # -- authentication ----------------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        if self.settings.api_key:
            return {"x-umami-api-key": self.settings.api_key}
        if self._token is None:
            self._login()
        return {"Authorization": f"Bearer {self._token}"}

    def _login(self) -> None:
        with self._auth_lock:
            parsed = self._send(
                "POST",
                "/auth/login",
                json_body={
                    "username": self.settings.username,
                    "password": self.settings.password,
                },
                headers={},
            )
            if parsed.answer.status in (400, 401, 403):
                raise UmamiAuthError(
                    f"Umami at {display_url(self.base_url)} rejected the login for user "
                    f"'{self.settings.username}' (HTTP {parsed.answer.status}); "
                    "check UMAMI_USERNAME and UMAMI_PASSWORD"
                )
            body = self._json(parsed, "/auth/login")
            token = body.get("token") if isinstance(body, dict) else None
            if not token:
                raise UmamiPermanentError(
                    f"Umami at {display_url(self.base_url)} answered the login without a token; "
                    "is UMAMI_API_URL the API base (ending in /api)?"
                )
            self._token = token

    # -- requests ------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str],
        decode: Decoder | None = None,
    ) -> _Parsed:
        url = self.base_url + path
        self._local.decode = decode
        try:
            return self._send_with_retries(method, url, params, json_body, headers)
        except TransportError as exc:
            attempts = self.settings.max_attempts
            raise UmamiTransientError(f"{method} {path} failed after {attempts} attempts: {exc}") from None
        finally:
            self._local.decode = None

    def _json(self, parsed: _Parsed, path: str) -> Any:
        if parsed.decoded:
            return parsed.body
        try:
            return orjson.loads(parsed.answer.content)
        except orjson.JSONDecodeError:
            raise UmamiTransientError(
                f"GET {path} answered HTTP {parsed.answer.status} with a body that is not JSON "
                f"after {self.settings.max_attempts} attempts"
            ) from None

    @staticmethod
    def _maybe_json(answer: Answer) -> Any:
        try:
            return orjson.loads(answer.content) if answer.content else None
        except orjson.JSONDecodeError:
            return answer.text

    def request(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        allow_status: tuple[int, ...] = (),
        decode: Decoder | None = None,
    ) -> tuple[int, Any]:
        """GET ``path`` (relative to the API base); returns (status, body parsed by ``decode``).

        ``decode`` turns an HTTP 200 body into a value (default: plain JSON); it raises
        ``ValueError`` or ``msgspec.DecodeError`` on a body that is not JSON, which is retried.
        """
        relogged = False
        while True:
            parsed = self._send("GET", path, params=params, headers=self._auth_headers(), decode=decode)
            status = parsed.answer.status
            if status == 401 and not self.settings.api_key and not relogged:
                log.info("Umami answered 401 to GET %s; logging in again", path)
                self._token = None
                relogged = True
                continue
            if status == 401:
                raise UmamiAuthError(
                    f"Umami at {display_url(self.base_url)} refused the credentials for GET {path} "
                    "(HTTP 401); "
                    + ("check UMAMI_API_KEY" if self.settings.api_key else "check UMAMI_USERNAME and UMAMI_PASSWORD")
                )
            if status in allow_status:
                return status, self._maybe_json(parsed.answer)
            if status in RETRY_STATUS:
                raise UmamiTransientError(
                    f"GET {path} still answered HTTP {status} after {self.settings.max_attempts} attempts"
                )
            if status >= 400:
                raise UmamiPermanentError(f"GET {path} answered HTTP {status}: {parsed.answer.text[:300]}")
            return status, self._json(parsed, path)

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, decode: Decoder | None = None) -> Any:
        return self.request(path, params, decode=decode)[1]


@dataclass
class _Parsed:
    """An answer and, once parsed, its body (``decoded`` tells a parsed ``null`` from none)."""

    answer: Answer
    body: Any = None
    decoded: bool = False


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
