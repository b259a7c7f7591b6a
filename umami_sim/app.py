"""The application: routes, authentication and version emulation, independent of the HTTP transport.

Self-hosted mode serves the API under ``/api`` with ``POST /api/auth/login`` and bearer tokens.
Cloud mode serves it under ``/v1`` with an ``x-umami-api-key`` header, no login, and a per-key rate
limit (default 50 requests per 15 s, 429 with ``Retry-After``). Collection (``/api/send``,
``/api/batch``) is always under ``/api``, as on cloud.umami.is. Unknown routes, and the routes the
emulated version does not have, answer Next.js's HTML 404; a known route with another method 405.

Versions: ``3.1.0`` has everything; ``3.0.3`` has no ``GET /websites/{id}/event-data`` list (only
``/event-data/{eventId}``); ``2.11.0`` has neither and its ``/events`` ignores ``event=``.
"""

from __future__ import annotations

import random
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from . import admin, responses
from .accounts import Accounts
from .auth import RateLimiter, Tokens
from .collect import Collector
from .faults import FaultInjector
from .ids import IdMaker
from .reads import Reader
from .request import BadJson, Request
from .responses import Response, json_response
from .stats import Stats
from .store import Store

VERSIONS = ("3.1.0", "3.0.3", "2.11.0")
Handler = Callable[[Request, dict[str, str]], Response]
_SITE = r"/websites/(?P<website>[^/]+)"


@dataclass(frozen=True)
class Config:
    version: str = "3.1.0"
    cloud: bool = False
    api_key: str | None = None
    username: str = "admin"
    password: str = "umami"
    rate_limit: int = 50
    rate_window_s: float = 15.0

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"version must be one of {', '.join(VERSIONS)}")
        if self.cloud and not self.api_key:
            raise ValueError("cloud mode needs an api_key")

    @property
    def prefix(self) -> str:
        return "/v1" if self.cloud else "/api"


class App:
    def __init__(self, config: Config, store: Store, faults: FaultInjector, rng: random.Random) -> None:
        self.config = config
        self.store = store
        self.faults = faults
        self.rng = rng
        self.ids = IdMaker(store.meta("secret", f"{rng.getrandbits(256):064x}").encode())
        self.tokens = Tokens()
        self.accounts = Accounts(store, self.ids, self.tokens, config.username, config.password)
        self.collector = Collector(store, self.ids)
        self.reader = Reader(store, self.ids, rng, config.version)
        self.stats = Stats(store, rng)
        self._limiter = RateLimiter(config.rate_limit, config.rate_window_s)
        self._routes = [(re.compile(pattern), methods, public) for pattern, methods, public in self._route_table()]

    def handle(self, request: Request) -> Response:
        """The answer to an API or collection request (a 500 for an unexpected error, as Umami)."""
        try:
            return self._dispatch(request)
        except BadJson:
            return responses.error(400, "Bad request", "bad-request", errors=["Invalid JSON body"])
        except Exception:  # a bug here must not drop the connection: answer like Umami's serverError
            traceback.print_exc(file=sys.stderr)
            return responses.error(500, "Server error", "server-error")

    def handle_admin(self, request: Request) -> Response:
        return admin.handle(request, self.faults, self.tokens)

    def _dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in ("/api/send", "/api/batch"):
            if request.method != "POST":
                return responses.method_not_allowed()
            collect = self.collector.send if path == "/api/send" else self.collector.batch
            return collect(request.json(), request.header("user-agent"), request.sender_ip())
        prefix = self.config.prefix
        if not path.startswith(prefix + "/"):
            return responses.not_found()
        route = path[len(prefix) :]
        for pattern, methods, public in self._routes:
            match = pattern.fullmatch(route)
            if match is None:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return responses.method_not_allowed()
            refused = None if public else self._authorize(request)
            return refused or handler(request, match.groupdict())
        return responses.not_found()

    def _authorize(self, request: Request) -> Response | None:
        if not self.config.cloud:
            return None if self.tokens.valid(request.header("authorization")) else responses.unauthorized()
        key = request.header("x-umami-api-key")
        if key != self.config.api_key:
            return responses.unauthorized()
        wait = self._limiter.retry_after(key)
        if wait is None:
            return None
        answer = responses.error(429, "Too many requests", "too-many-requests")
        answer.headers["Retry-After"] = str(wait)
        return answer

    def _route_table(self) -> list[tuple[str, dict[str, Handler], bool]]:
        """(path pattern under the prefix, handler per method, public)."""
        a, r, s = self.accounts, self.reader, self.stats
        routes: list[tuple[str, dict[str, Handler], bool]] = [
            ("/heartbeat", {"GET": lambda q, m: json_response({"ok": True})}, True),
            ("/websites", {"GET": lambda q, m: a.websites(q), "POST": lambda q, m: a.add_website(q)}, False),
            (_SITE, {"GET": lambda q, m: a.website(m["website"])}, False),
            (_SITE + "/events", {"GET": lambda q, m: r.events(m["website"], q.query)}, False),
            (_SITE + "/events/stats", {"GET": lambda q, m: s.event_stats(m["website"], q.query)}, False),
            (_SITE + "/event-data/values", {"GET": lambda q, m: s.property_values(m["website"], q.query)}, False),
            (_SITE + "/sessions", {"GET": lambda q, m: r.sessions(m["website"], q.query)}, False),
            (_SITE + "/sessions/stats", {"GET": lambda q, m: s.session_stats(m["website"], q.query)}, False),
            (_SITE + "/sessions/(?P<s>[^/]+)", {"GET": lambda q, m: r.session(m["website"], m["s"])}, False),
            (_SITE + "/sessions/(?P<s>[^/]+)/properties",
             {"GET": lambda q, m: r.session_properties(m["website"], m["s"])}, False),
            (_SITE + "/stats", {"GET": lambda q, m: s.website_stats(m["website"], q.query)}, False),
            (_SITE + "/metrics", {"GET": lambda q, m: s.metrics(m["website"], q.query, False)}, False),
            (_SITE + "/metrics/expanded", {"GET": lambda q, m: s.metrics(m["website"], q.query, True)}, False),
        ]  # fmt: skip
        if self.config.version == "3.1.0":
            routes.append((_SITE + "/event-data", {"GET": lambda q, m: r.event_data(m["website"], q.query)}, False))
        if self.config.version != "2.11.0":
            routes.append((_SITE + "/event-data/(?P<e>[^/]+)",
                           {"GET": lambda q, m: r.event_properties(m["website"], m["e"])}, False))  # fmt: skip
        if not self.config.cloud:
            routes += [
                ("/auth/login", {"POST": lambda q, m: a.login(q)}, True),
                ("/auth/verify", {"POST": lambda q, m: json_response(a.user())}, False),
                ("/auth/logout", {"POST": lambda q, m: a.logout(q)}, False),
            ]
        return routes
