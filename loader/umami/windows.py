"""Time ranges: closed read windows, the lookback, and the rolling aggregate windows (all UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

WINDOW_DAYS = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90}


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; pass UTC instants")
    return int(moment.timestamp() * 1000)


def midnight_ms(day: date) -> int:
    return to_ms(datetime.combine(day, time.min, UTC))


def utc_date(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def read_start_ms(
    *,
    as_of_ms: int,
    start_date: date | None,
    loaded_from: date | None,
    loaded_until_ms: int | None,
    lookback_days: int,
    default_start_date: date = date(2020, 1, 1),
) -> int:
    """Where this run starts reading one event name.

    First run: ``start_date`` (``default_start_date`` when not given). Later runs: the start of the
    UTC day ``lookback_days - 1`` days before the last loaded instant (so the last ``lookback_days``
    UTC days are read again and late events are caught); with ``lookback_days`` 0, right after the
    last loaded instant. A ``start_date`` given earlier than the first load's start backfills from
    there; one not given never does (the scheduled runs after a first run with ``--start-date``
    stay incremental).
    """
    if loaded_until_ms is None or loaded_from is None:
        return midnight_ms(start_date or default_start_date)
    if start_date is not None and start_date < loaded_from:
        return midnight_ms(start_date)
    if lookback_days <= 0:
        start = loaded_until_ms + 1
    else:
        start = midnight_ms(utc_date(loaded_until_ms) - timedelta(days=lookback_days - 1))
    return min(max(start, midnight_ms(start_date or loaded_from)), as_of_ms + 1)


@dataclass(frozen=True)
class AggregateWindow:
    window_type: str
    start_date: date
    end_date: date
    start_ms: int
    end_ms: int  # inclusive: the as-of instant


def aggregate_window(window_type: str, as_of_ms: int) -> AggregateWindow:
    """``window_type`` (``last_<n>_days``) as of an instant: UTC dates [as_of_date - (n-1), as_of_date]."""
    try:
        days = WINDOW_DAYS[window_type]
    except KeyError:
        raise ValueError(f"unknown window {window_type!r}; known: {', '.join(WINDOW_DAYS)}") from None
    end_date = utc_date(as_of_ms)
    start_date = end_date - timedelta(days=days - 1)
    return AggregateWindow(window_type, start_date, end_date, midnight_ms(start_date), as_of_ms)
