"""Identifiers: session, visit and event ids, login tokens and send-cache JWTs.

Umami derives session and visit ids as uuid5-style hashes of the website, the sender and a server
secret; the simulator does the same with its own secret, so the values differ from a real server
while the rules (what makes two sends share a session or a visit) are the same.

Event ids are not stored at all: an event's id is a reversible, keyed scramble of its SQLite rowid,
formatted as a random-looking version-4 uuid. SQLite computes it while it writes a page of events
(integer arithmetic and ``printf``, no Python per row), which keeps ten million events cheap to insert
and to read, and ``/event-data/{eventId}`` still finds the row.
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
_MASK24 = (1 << 24) - 1
_MASK38 = (1 << 38) - 1
# 32 check bits, 16 + 12 more (version 4 between), 14 (after the variant bits 10), the 48 scrambled rowid bits
EVENT_ID_FORMAT = "%08x-%04x-4%03x-%04x-%012x"


class _EventIds:
    """A keyed permutation of 48-bit rowids: three Feistel rounds over their two 24-bit halves with a
    quadratic, multiplicative round function, so neighbouring rowids get unrelated ids (a linear hash
    would show arithmetic progressions). SQLite integers are 64-bit and every intermediate value stays
    below 2**62, so the SQL computes exactly what Python does. The other 74 bits of the uuid are check
    bits derived from the second round: an id this server did not make is recognised."""

    def __init__(self, keys: bytes) -> None:
        words = [int.from_bytes(keys[5 * i : 5 * i + 5], "big") for i in range(12)]
        self._a = [w & _MASK24 for w in words[:6]]
        self._k = [w & ((1 << 37) - 1) | (1 << 37) | 1 for w in words[6:]]  # odd, below 2**38

    def _q(self, z: int, key: int) -> int:
        """The round function: 24 bits from a 24-bit ``z``."""
        return ((((z * (z + self._a[key])) & _MASK24) * self._k[key]) & _MASK38) >> 14

    def _q_sql(self, z: str, key: int) -> str:
        return f"((((({z}) * (({z}) + {self._a[key]}) & {_MASK24}) * {self._k[key]}) & {_MASK38}) >> 14)"

    def _rounds(self, rowid: int) -> tuple[int, int]:
        x1 = ((rowid & _MASK24) + self._q(rowid >> 24, 0)) & _MASK24
        return x1, ((rowid >> 24) + self._q(x1, 1)) & _MASK24

    def _words(self, x1: int, y1: int) -> tuple[int, ...]:
        x2 = (x1 + self._q(y1, 2)) & _MASK24
        c1, c2, c3 = self._q(y1, 3), self._q(y1, 4), self._q(y1, 5)
        return c1 << 8 | c3 & 255, c2 & 0xFFFF, c2 >> 12, 0x8000 | (c3 >> 8) & 0x3FFF, y1 << 24 | x2

    def text(self, rowid: int) -> str:
        return EVENT_ID_FORMAT % self._words(*self._rounds(rowid))

    def rowid(self, event_id: str) -> int | None:
        try:
            canonical = str(uuid.UUID(event_id))
        except ValueError:
            return None
        y1, x2 = int(canonical[24:30], 16), int(canonical[30:], 16)
        x1 = (x2 - self._q(y1, 2)) & _MASK24
        hi = (y1 - self._q(x1, 1)) & _MASK24
        rowid = hi << 24 | (x1 - self._q(hi, 0)) & _MASK24
        return rowid if self.text(rowid) == canonical else None

    def columns_sql(self, rowid: str) -> str:
        """The columns ``id_x1, id_y1`` (the first two rounds) for a subquery."""
        x1 = f"((({rowid}) & {_MASK24}) + {self._q_sql(f'({rowid}) >> 24', 0)}) & {_MASK24}"
        return f"{x1} AS id_x1, ((({rowid}) >> 24) + {self._q_sql(x1, 1)}) & {_MASK24} AS id_y1"

    def sql(self, table: str) -> str:
        x1, y1 = f"{table}.id_x1", f"{table}.id_y1"
        x2 = f"(({x1} + {self._q_sql(y1, 2)}) & {_MASK24})"
        c1, c2, c3 = (self._q_sql(y1, key) for key in (3, 4, 5))
        words = (f"{c1} << 8 | ({c3} & 255)", f"{c2} & 65535", f"{c2} >> 12", f"32768 | (({c3} >> 8) & 16383)",
                 f"{y1} << 24 | {x2}")  # fmt: skip
        return ", ".join(f"({word})" for word in words)


class IdMaker:
    """All ids that depend on the server secret."""

    def __init__(self, secret: bytes) -> None:
        self._namespace_bytes = hashlib.sha256(b"umami-sim namespace" + secret).digest()[:16]
        self._event_ids = _EventIds(hashlib.sha512(b"umami-sim event ids" + secret).digest())
        self._jwt_key = hashlib.sha256(b"umami-sim jwt" + secret).digest()

    def _uuid5(self, *parts: object) -> str:
        """``str(uuid.uuid5(namespace, name))``, without building UUID objects (a fill makes thousands)."""
        name = "\x1f".join("" if p is None else str(p) for p in parts)
        digest = bytearray(hashlib.sha1(self._namespace_bytes + name.encode()).digest()[:16])
        digest[6] = digest[6] & 0x0F | 0x50  # version 5
        digest[8] = digest[8] & 0x3F | 0x80  # RFC 4122 variant
        h = digest.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

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

    def event_id(self, rowid: int) -> str:
        """The id of the event stored at ``rowid`` (what ``EVENT_ID_FORMAT`` and ``event_id_sql`` give
        in SQLite)."""
        return self._event_ids.text(rowid)

    def event_id_columns(self, rowid: str) -> str:
        """SQL for the columns ``id_x1, id_y1`` of the event whose rowid is the expression ``rowid``,
        for a subquery (each is used several times: computed once there)."""
        return self._event_ids.columns_sql(rowid)

    def event_id_sql(self, table: str) -> str:
        """The ``printf`` arguments that ``EVENT_ID_FORMAT`` turns into the event id, from the columns
        ``id_x1, id_y1`` of ``table``."""
        return self._event_ids.sql(table)

    def event_rowid(self, event_id: str) -> int | None:
        """The rowid behind an event id, or None when the id was not made by this server."""
        return self._event_ids.rowid(event_id)

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
