"""The HTTP transport under the Umami client: one urllib3 pool manager, answers as :class:`Answer`.

A small request through ``requests.Session`` cost the client 1.16 ms of CPU on this project's
machine (preparing the request, merging settings, hooks, cookies), through urllib3 alone 0.43 ms
(docs/benchmarks.md), and a first load makes one small request per new session: thousands of
them, on the loader's one busy core (GIL). This transport sends with urllib3 and answers with its
own small :class:`Answer`; a request that got no answer raises a :class:`TransportError` saying
whether trying again may help.

Environment settings are read once, as ``requests`` would read them: ``HTTP(S)_PROXY``/``NO_PROXY``
and ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (else the bundle ``requests`` ships with).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_environ_proxies
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
    ResponseError,
)

MAX_REDIRECTS = 5


class TransportError(Exception):
    """A request that got no answer; ``retryable`` when trying again may get one."""

    retryable = True


class TooManyRedirects(TransportError):
    retryable = False


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers (names lower-cased), body, and the URL asked."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    url: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class Transport:
    """Sends one HTTP request (no retries: the client retries); thread-safe, pooled keep-alive."""

    def __init__(
        self, base_url: str, *, connect_timeout: float, read_timeout: float, user_agent: str, connections: int
    ) -> None:
        """``connections`` are kept open to the server: one for each thread that may send at once
        (urllib3 discards, with a warning, a connection that does not fit back in the pool)."""
        self.user_agent = user_agent
        scheme = urlsplit(base_url).scheme
        settings: dict[str, Any] = {
            "maxsize": connections,
            "timeout": urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            # only redirects are followed here; every other retry is the client's
            "retries": urllib3.Retry(total=None, connect=0, read=0, other=0, redirect=MAX_REDIRECTS),
        }
        if scheme == "https":
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH
            settings["cert_reqs"] = "CERT_REQUIRED"
            settings["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
        proxies = get_environ_proxies(base_url)
        proxy = proxies.get(scheme) or proxies.get("all")
        if proxy:
            parts = urlsplit(proxy)
            if parts.username:
                auth = f"{parts.username}:{parts.password or ''}"
                settings["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=auth)
            self._manager: urllib3.PoolManager = urllib3.ProxyManager(proxy, **settings)
        else:
            self._manager = urllib3.PoolManager(**settings)

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str],
    ) -> Answer:
        """The server's answer, whatever its status; :class:`TransportError` when there is none."""
        if params:
            url = f"{url}?{urlencode({k: v for k, v in params.items() if v is not None})}"
        # what requests sends by default; urllib3 undoes the compression
        send_headers = {"User-Agent": self.user_agent, "Accept": "*/*", "Accept-Encoding": "gzip, deflate", **headers}
        body = None
        if json_body is not None:
            body = orjson.dumps(json_body)
            send_headers["Content-Type"] = "application/json"
        try:
            answer = self._manager.request(method, url, body=body, headers=send_headers)
        except (HTTPError, OSError) as error:  # every urllib3 failure, and the socket's own
            cause = error.reason if isinstance(error, MaxRetryError) and error.reason else error
            raise _transport_error(cause, url) from None
        headers = {name.lower(): value for name, value in answer.headers.items()}
        return Answer(answer.status, headers, answer.data, url)  # the body, already read (and decoded) by urllib3


def _transport_error(error: BaseException, url: str) -> TransportError:
    """What went wrong, named without the URL's query (which may be long)."""
    text = f"{type(error).__name__} for {urlsplit(url).path}"
    if isinstance(error, NewConnectionError):  # a subclass of ConnectTimeoutError, yet no timeout
        return TransportError(f"connection refused or failed: {text}")
    if isinstance(error, ConnectTimeoutError):
        return TransportError(f"connect timeout: {text}")
    if isinstance(error, ReadTimeoutError):
        return TransportError(f"read timeout: {text}")
    if isinstance(error, ResponseError):  # too many redirects
        return TooManyRedirects(f"too many redirects: {text}")
    return TransportError(f"connection error: {text}")
