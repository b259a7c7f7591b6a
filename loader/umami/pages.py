"""Typed decoding of the two large Umami answers: pages of events and of event data.

A page of 10,000 events is about 5 MB of JSON and its event data about 7 MB; decoding them into
dictionaries was the loader's largest cost. Decoded into the few fields the loader uses (msgspec
skips the others without building them), a page costs about a third of the time, and property rows
are hashable, so remembering encoded property sets needs no key building.

A page that does not fit these types (a row without an id, a number where a string belongs, …)
is decoded as plain JSON instead, and the tolerant path quarantines what it must: nothing is lost
and no row is judged twice. Malformed JSON raises ``msgspec.DecodeError`` (retried by the client).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import orjson

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class EventRow(msgspec.Struct, frozen=True, gc=False):
    """One row of ``GET /websites/{id}/events``: only the fields the warehouse keeps."""

    id: NonEmpty
    createdAt: NonEmpty
    websiteId: str | None = None
    sessionId: str | None = None
    eventName: str | None = None
    urlPath: str | None = None
    hasData: bool = False


class PropertyRow(msgspec.Struct, frozen=True, gc=False):
    """One property of an event (``eventProperties`` of ``GET /websites/{id}/event-data``)."""

    dataKey: Any = None
    dataType: Any = None
    stringValue: Any = None
    numberValue: Any = None
    dateValue: Any = None


class EventDataRow(msgspec.Struct, frozen=True, gc=False):
    eventId: NonEmpty
    eventProperties: tuple[PropertyRow, ...] | None = None


class EventsPage(msgspec.Struct, gc=False):
    data: list[EventRow]
    count: int


class EventDataPage(msgspec.Struct, gc=False):
    data: list[EventDataRow]
    count: int


_EVENTS = msgspec.json.Decoder(EventsPage)
_EVENT_DATA = msgspec.json.Decoder(EventDataPage)


def decode_events_page(content: bytes) -> EventsPage | Any:
    """An :class:`EventsPage`, or plain JSON when the page does not fit the types."""
    try:
        return _EVENTS.decode(content)
    except msgspec.ValidationError:
        return orjson.loads(content)


def decode_event_data_page(content: bytes) -> EventDataPage | Any:
    """An :class:`EventDataPage`, or plain JSON when the page does not fit the types."""
    try:
        return _EVENT_DATA.decode(content)
    except msgspec.ValidationError:
        return orjson.loads(content)
