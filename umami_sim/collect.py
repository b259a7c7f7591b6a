"""``POST /api/send`` and ``POST /api/batch``: validation, bot filter, sessions, events, properties.

The order of checks is Umami's: schema, then the website, then the bot filter, then the session
(``payload.id`` over 50 characters fails here with a 500 and nothing stored), then the event row,
then its properties (a value over 500 characters fails here with a 500, after the event row is
written: a retry duplicates the event). ``x-umami-cache`` is deliberately ignored.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from . import clock, properties, responses, urls
from .ids import IdMaker, is_uuid
from .responses import NAN, NOT_INT, Response
from .store import NewSession, Store
from .useragent import client_info, is_bot

MAX_DISTINCT_ID = 50
_TYPE_OPTIONS = 'Invalid option: expected one of "event"|"identify"'
_NO_SOURCE = "Exactly one of website, link, or pixel must be provided"
_STRING_LIMITS = {"hostname": 100, "screen": 11, "language": 35, "name": 50, "tag": 50}
_OTHER_STRINGS = ("title", "url", "referrer", "id", "ip", "userAgent")
_UNDEFINED = object()


class Collector:
    def __init__(self, store: Store, ids: IdMaker) -> None:
        self._store = store
        self._ids = ids

    def send(self, body: object, user_agent: str | None, client_ip: str) -> Response:
        problem = _validate(body)
        if problem is not None:
            return problem
        assert isinstance(body, dict)
        kind, payload = body["type"], body["payload"]
        website_id = payload["website"]
        website = self._store.website_key(website_id)
        if website is None:
            return responses.bad_request("Website not found.")
        user_agent = payload.get("userAgent") or user_agent
        if is_bot(user_agent):
            return responses.json_response({"beep": "boop"})
        created_at = _created_at(payload.get("timestamp"))
        distinct_id = payload.get("id") or None
        if distinct_id is not None:
            session_id = self._ids.identified_session(website_id, distinct_id)
        else:
            month = datetime.fromtimestamp(created_at / 1000, UTC).strftime("%Y-%m")
            session_id = self._ids.guest_session(website_id, payload.get("ip") or client_ip, user_agent, month)
        if self._store.session_key(session_id) is None and len(distinct_id or "") > MAX_DISTINCT_ID:
            return responses.value_too_long_for_distinct_id()  # the session insert fails: nothing stored
        session = self._ensure_session(session_id, website, distinct_id, payload, user_agent, created_at)
        data = payload.get("data")
        rows = properties.flatten(data) if isinstance(data, dict) else []
        failure = _check(rows)
        if kind == "event":
            self._save_event(website, session, created_at, payload, [] if failure else rows)
        elif rows and not failure:
            self._store.save_session_data(session, rows, created_at)
        if failure:
            return failure
        visit_id = self._ids.visit(session_id, created_at // 3_600_000)
        cache = self._ids.cache_token(website_id, session_id, visit_id)
        return responses.json_response({"cache": cache, "sessionId": session_id, "visitId": visit_id})

    def _ensure_session(
        self, session_id: str, website: int, distinct_id: str | None, payload: dict, user_agent: str | None,
        created_at: int,
    ) -> int:  # fmt: skip
        browser, system, device = client_info(user_agent, payload.get("screen"))
        return self._store.ensure_session(NewSession(
            id=session_id, website=website, distinct_id=distinct_id, browser=browser, os=system, device=device,
            screen=payload.get("screen"), language=payload.get("language"), created_at=created_at,
        ))  # fmt: skip

    def _save_event(self, website: int, session: int, created_at: int, payload: dict, rows: list) -> None:
        page = urls.page(payload.get("hostname"), payload.get("url"), payload.get("referrer"), payload.get("title"))
        name = payload.get("name") or None  # no name: a page view
        name_key = self._store.name_key(name) if name else None
        props_key = self._store.props_key(rows) if rows else None
        self._store.insert_event((website, session, created_at, name_key, self._store.page_key(page), props_key))

    def batch(self, body: object, user_agent: str | None, client_ip: str) -> Response:
        """Each item goes through ``send``; bot-dropped items count as processed, as on Umami."""
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            return responses.error(
                400,
                "Bad request",
                "bad-request",
                errors=[f"Invalid input: expected array, received {_js_type(body)}"],
            )
        details = []
        for index, item in enumerate(body):
            answer = self.send(item, user_agent, client_ip)
            if answer.status >= 300:
                details.append({"index": index, "response": _decode_json(answer.body)})
        return responses.json_response(
            {
                "size": len(body),
                "processed": len(body) - len(details),
                "errors": len(details),
                "details": details,
            }
        )


def _check(rows: list[properties.Property]) -> Response | None:
    try:
        properties.check_lengths(rows)
    except properties.PropertyTooLong as exc:
        return responses.event_data_failed(exc.detail)
    return None


def _created_at(timestamp: object) -> int:
    """Epoch ms of ``payload.timestamp`` (Unix seconds); now when missing or 0."""
    seconds = _as_number(timestamp) if timestamp is not None else 0
    if not seconds:
        return clock.now_ms()
    return int(seconds) * 1000


def _validate(body: object) -> Response | None:
    if not isinstance(body, dict):
        return responses.error(
            400,
            "Bad request",
            "bad-request",
            errors=[f"Invalid input: expected object, received {_js_type(body)}"],
        )
    tree: dict[str, list[str] | dict] = {}
    if body.get("type") not in ("event", "identify"):
        tree["type"] = [_TYPE_OPTIONS]
    payload = body.get("payload", _UNDEFINED)
    if not isinstance(payload, dict):
        tree["payload"] = [f"Invalid input: expected object, received {_js_type(payload)}"]
    else:
        fields = _payload_problems(payload)
        if fields:
            tree["payload"] = fields
    return responses.invalid(tree) if tree else None


def _payload_problems(payload: dict[str, object]) -> dict[str, list[str] | dict]:
    problems: dict[str, list[str] | dict] = {}
    website = payload.get("website")
    if website is None:
        problems["website"] = [_NO_SOURCE]
    elif not isinstance(website, str):
        problems["website"] = [f"Invalid input: expected string, received {_js_type(website)}"]
    elif not is_uuid(website):
        problems["website"] = ["Invalid UUID"]
    for name in (*_STRING_LIMITS, *_OTHER_STRINGS):
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            problems[name] = [f"Invalid input: expected string, received {_js_type(value)}"]
        elif name in _STRING_LIMITS and len(value) > _STRING_LIMITS[name]:
            problems[name] = [f"Too big: expected string to have <={_STRING_LIMITS[name]} characters"]
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        number = _as_number(timestamp)
        if math.isnan(number):
            problems["timestamp"] = [NAN]
        elif not number.is_integer():
            problems["timestamp"] = [NOT_INT]
    data = payload.get("data")
    if data is not None and not isinstance(data, dict):
        problems["data"] = [f"Invalid input: expected record, received {_js_type(data)}"]
    return problems


def _as_number(value: object) -> float:
    """JavaScript ``Number(value)`` for JSON values."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


def _js_type(value: object) -> str:
    if value is _UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _decode_json(body: bytes) -> object:
    return json.loads(body) if body else None
