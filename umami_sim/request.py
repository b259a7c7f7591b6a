"""A request as the application sees it, independent of the HTTP transport."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass


class BadJson(ValueError):
    """The body is not valid JSON."""


@dataclass
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    client_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    def json(self) -> object:
        """The decoded body (None when empty); raises BadJson."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise BadJson(str(exc)) from exc

    def sender_ip(self) -> str:
        """The client address as Umami sees it: ``x-forwarded-for``, ``x-real-ip``, else the socket's."""
        forwarded = self.header("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()
        return self.header("x-real-ip") or self.client_ip
