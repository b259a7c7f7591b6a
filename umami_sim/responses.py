"""HTTP answers and Umami's error bodies, word for word as the contract captures show them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

JSON_TYPE = "application/json"
NOT_FOUND_HTML = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"/><title>404: This page could not be found.'
    "</title></head><body><h1>404</h1><h2>This page could not be found.</h2></body></html>"
)
REDACTED_STACK = "<stack trace redacted>"

# zod's messages, as Umami v3.1.0 returns them
NAN = "Invalid input: expected number, received NaN"
NOT_INT = "Invalid input: expected int, received number"
TOO_SMALL = "Too small: expected number to be >0"
MISSING_STRING = "Invalid input: expected string, received undefined"
RANGE_REQUIRED = "Either startAt+endAt or startDate+endDate must be provided"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: object, status: int = 200) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, JSON_TYPE)


def error(status: int, message: str, code: str, **extra: object) -> Response:
    return json_response({"error": {"message": message, "code": code, "status": status, **extra}}, status)


def unauthorized(code: str = "unauthorized") -> Response:
    return error(401, "Unauthorized", code)


def bad_request(message: str = "Bad request") -> Response:
    """400 without details, e.g. ``Website not found.``"""
    return error(400, message, "bad-request")


def bad_request_errors(*messages: str) -> Response:
    """400 with top-level messages only (the range check)."""
    return error(400, "Bad request", "bad-request", errors=list(messages))


def invalid(tree: dict[str, list[str] | dict]) -> Response:
    """400 for a failed schema check, in zod's tree shape.

    ``tree`` maps a field to its messages, or to a nested tree for an object field
    (``{"payload": {"name": ["Too big: …"]}}``).
    """
    return error(400, "Bad request", "bad-request", **_zod_tree(tree))


def _zod_tree(tree: dict[str, list[str] | dict]) -> dict[str, object]:
    properties: dict[str, object] = {}
    for name, value in tree.items():
        properties[name] = {"errors": list(value)} if isinstance(value, list) else _zod_tree(value)
    return {"errors": [], "properties": properties}


def empty_server_error() -> Response:
    """500 with an empty body and no content type (what ``startDate``/``endDate``-only reads get)."""
    return Response(500)


def not_found() -> Response:
    """An unknown Next.js route."""
    return Response(404, NOT_FOUND_HTML.encode(), "text/html; charset=utf-8")


def method_not_allowed() -> Response:
    return Response(405)


def value_too_long_for_distinct_id() -> Response:
    """500 for a ``payload.id`` over 50 characters (the session insert fails)."""
    message = "value too long for type character varying(50)"
    return error(
        500,
        "Server error",
        "server-error",
        errorObject={
            "code": "P2010",
            "meta": {"driverAdapterError": _driver_error(message)},
            "clientVersion": "7.6.0",
            "name": "PrismaClientKnownRequestError",
            "message": "\nInvalid `prisma.$queryRawUnsafe()` invocation:\n\n\n"
            f"Raw query failed. Code: `22001`. Message: `{message}`",
            "stack": REDACTED_STACK,
        },
    )


def event_data_failed(detail: str) -> Response:
    """500 when the event's properties cannot be saved (the event row is already written)."""
    return error(
        500,
        "Server error",
        "server-error",
        errorObject={
            "code": "P2000",
            "meta": {"modelName": "EventData", "driverAdapterError": _driver_error(detail)},
            "clientVersion": "7.6.0",
            "name": "PrismaClientKnownRequestError",
            "message": "\nInvalid `prisma.eventData.createMany()` invocation:\n\n\n"
            "The provided value for the column is too long for the column's type. "
            "Column: (not available)",
            "stack": REDACTED_STACK,
        },
    )


def _driver_error(message: str) -> dict[str, object]:
    return {
        "name": "DriverAdapterError",
        "cause": {"originalCode": "22001", "originalMessage": message, "kind": "LengthMismatch"},
        "message": "LengthMismatch",
        "stack": REDACTED_STACK,
    }
