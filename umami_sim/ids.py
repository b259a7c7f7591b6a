"""Identifiers: session, visit and event ids, login tokens and send-cache JWTs.

Umami derives session and visit ids as uuid5-style hashes of the website, the sender and a server
secret; the simulator does the same with its own secret, so the values differ from a real server
while the rules (what makes two sends share a session or a visit) are the same.

Event ids are not stored at all: an event's id is a reversible, keyed scramble of its SQLite rowid,
formatted as a random-looking version-4 uuid. That keeps ten million events cheap to insert and still
lets ``/event-data/{eventId}`` find the row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from datetime import UTC, datetime

_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_MASK48 = (1 << 48) - 1
_MASK80 = (1 << 80) - 1
_VERSION_MASK = ~(0xF << 76) & ((1 << 128) - 1)
_VARIANT_MASK = ~(0x3 << 62) & ((1 << 128) - 1)


def _format_uuid(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdMaker:
    """All ids that depend on the server secret."""

    def __init__(self, secret: bytes) -> None:
        self._namespace = uuid.UUID(bytes=hashlib.sha256(b"umami-sim namespace" + secret).digest()[:16])
        keys = hashlib.sha512(b"umami-sim event ids" + secret).digest()
        self._multiplier = int.from_bytes(keys[0:6], "big") | 1
        self._inverse = pow(self._multiplier, -1, 1 << 48)
        self._xor = int.from_bytes(keys[6:12], "big")
        self._mix = (int.from_bytes(keys[16:26], "big") | 1, int.from_bytes(keys[26:36], "big"))
        self._jwt_key = hashlib.sha256(b"umami-sim jwt" + secret).digest()

    def _uuid5(self, *parts: object) -> str:
        return str(uuid.uuid5(self._namespace, "\x1f".join("" if p is None else str(p) for p in parts)))

    def identified_session(self, website_id: str, distinct_id: str) -> str:
        return self._uuid5("session", website_id, distinct_id)

    def guest_session(self, website_id: str, ip: str | None, user_agent: str | None, month: str) -> str:
        """A guest's session changes with the UTC month of the event (``month`` is ``YYYY-MM``)."""
        return self._uuid5("guest", website_id, ip, user_agent, month)

    def visit(self, session_id: str, hour: int) -> str:
        """A visit is a session's UTC hour (``hour`` = epoch ms // 3_600_000)."""
        return self._uuid5("visit", session_id, hour)

    def user(self, username: str) -> str:
        return self._uuid5("user", username)

    def website(self) -> str:
        return str(uuid.uuid4())

    # --- event ids -------------------------------------------------------------------------

    def _scramble(self, rowid: int) -> int:
        x = ((rowid * self._multiplier) & _MASK48) ^ self._xor
        return x ^ (x >> 24)

    def _unscramble(self, x: int) -> int:
        x ^= x >> 24
        return ((x ^ self._xor) * self._inverse) & _MASK48

    def _event_int(self, scrambled: int) -> int:
        """The full 128-bit id: 80 keyed check bits above the 48 scrambled rowid bits."""
        multiplier, offset = self._mix
        check = ((scrambled * multiplier + offset) * multiplier) & _MASK80
        value = ((check ^ (check >> 41)) << 48) | scrambled
        value = (value & _VERSION_MASK) | (4 << 76)
        return (value & _VARIANT_MASK) | (2 << 62)

    def event_id(self, rowid: int) -> str:
        return _format_uuid(self._event_int(self._scramble(rowid)))

    def event_rowid(self, event_id: str) -> int | None:
        """The rowid behind an event id, or None when the id was not made by this server."""
        try:
            value = uuid.UUID(event_id).int
        except ValueError:
            return None
        scrambled = value & _MASK48
        if self._event_int(scrambled) != value:
            return None
        return self._unscramble(scrambled)

    # --- tokens ----------------------------------------------------------------------------

    def cache_token(self, website_id: str, session_id: str, visit_id: str) -> str:
        """A signed HS256 JWT shaped like Umami's ``cache`` answer (the simulator never reads it back)."""
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "websiteId": website_id,
            "sessionId": session_id,
            "visitId": visit_id,
            "iat": int(datetime.now(UTC).timestamp()),
        }
        signing_input = f"{_b64(json.dumps(header))}.{_b64(json.dumps(claims))}"
        signature = hmac.new(self._jwt_key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"


def is_uuid(text: str) -> bool:
    """Canonical 8-4-4-4-12 hexadecimal form (what zod's ``uuid()`` accepts)."""
    return _UUID_TEXT.fullmatch(text) is not None


def new_login_token() -> str:
    """An opaque bearer token of the same length as a real one (380 characters)."""
    return secrets.token_urlsafe(285)


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
