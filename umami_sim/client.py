"""A minimal keep-alive JSON client (stdlib) for feeding datasets to a simulator over HTTP."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


class JsonClient:
    def __init__(self, root_url: str, timeout: float = 30.0) -> None:
        url = urlsplit(root_url)
        self._conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)

    def post(self, path: str, body: object, headers: dict[str, str]) -> tuple[int, object]:
        """POST a JSON body; returns (status, decoded JSON answer or None)."""
        self._conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
        response = self._conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> JsonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
