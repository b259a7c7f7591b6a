"""Test helpers: where the contract lives, and a small HTTP client."""

from __future__ import annotations

import os
from pathlib import Path

import requests

from tests.oracle import CONTRACT_DIR as CONTRACT_DATA_DIR

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
RANGE_40D = {"startAt": "1791676800000", "endAt": "1795132799999"}
WINDOW_30D = {"startAt": "1792540800000", "endAt": "1795132799999"}


# The captures and dataset recorded from a real Umami v3.1.0 server, kept in the repository.
CONTRACT_DIR: Path = Path(os.environ.get("UMAMI_CONTRACT_DIR") or CONTRACT_DATA_DIR)


class Api:
    """requests with the simulator's auth; ``get``/``post`` return the raw ``requests.Response``."""

    def __init__(
        self, base_url: str, token: str | None = None, api_key: str | None = None, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.timeout = timeout
        self.token = token
        if api_key is not None:
            self.http.headers["x-umami-api-key"] = api_key

    def login(self, username: str, password: str) -> str:
        response = self.http.post(
            f"{self.base_url}/auth/login",
            json={"username": username, "password": password},
            timeout=self.timeout,
        )
        response.raise_for_status()
        self.token = response.json()["token"]
        return self.token

    def _headers(self, auth: str) -> dict[str, str]:
        if auth == "bearer" and self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if auth == "bad":
            return {"Authorization": "Bearer not-a-valid-token"}
        return {}

    def get(
        self,
        path: str,
        params: dict[str, str] | None = None,
        auth: str = "bearer",
        timeout: float | None = None,
    ) -> requests.Response:
        return self.http.get(
            self.base_url + path, params=params, headers=self._headers(auth), timeout=timeout or self.timeout
        )

    def post(self, path: str, body: object = None, auth: str = "bearer") -> requests.Response:
        return self.http.post(self.base_url + path, json=body, headers=self._headers(auth), timeout=self.timeout)

    def json(self, path: str, **params: str) -> object:
        response = self.get(path, params)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def all_ids(self, path: str, page_size: int, **params: str) -> tuple[list[str], int]:
        """Naive offset paging over a list endpoint: every id seen (repeats kept) and the reported count."""
        ids: list[str] = []
        page = 1
        while True:
            body = self.json(path, **params, page=str(page), pageSize=str(page_size))
            assert isinstance(body, dict)
            ids += [row.get("id") or row.get("eventId") for row in body["data"]]
            if page * page_size >= body["count"]:
                return ids, body["count"]
            page += 1
