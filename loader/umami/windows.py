"""The sync window and every time rule of a sync (all UTC): what a run reads, what it rebuilds.

A run's :class:`SyncWindow` is planned once, before anything is read, from the run's parameters
and what earlier loads read (:class:`LoadedMark`, kept in the pipeline's state). The loader reads
exactly its ``reads``; the transform rebuilds from its ``rebuild_from``; publishing publishes the
same. Nothing downstream derives these values again. Every default of a sync is here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType

DEFAULT_LOOKBACK_DAYS = 3  # UTC days re-read (and rebuilt) by every run, to catch late events
DEFAULT_START_DATE = date(2020, 1, 1)  # before Umami v2 existed: "all history"
DEFAULT_PAGE_SIZE = 10_000  # events per Umami request; a slice with more is split in time
DEFAULT_SETTLE = timedelta(minutes=5)  # the latest instant treated as closed: now minus this
WINDOW_DAYS = {"last_7_days": 7, "last_30_days": 30, "last_90_days": 90}


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; pass UTC instants")
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso(ms: int) -> str:
    """An epoch millisecond as Umami writes instants: ``2026-11-19T23:59:59.000Z``."""
    return from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def default_as_of(now: datetime | None = None) -> datetime:
    """Now minus the settle delay, to the second: the latest instant treated as closed."""
    moment = (now or datetime.now(UTC)) - DEFAULT_SETTLE
    return moment.replace(microsecond=0)


def as_utc(moment: datetime) -> datetime:
    """An instant in UTC; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class LoadedMark:
    """What the earlier loads of one event name covered: from ``loaded_from`` up to ``loaded_until``."""

    loaded_from: date
    loaded_until: datetime

    def to_state(self) -> dict[str, object]:
        return {"loaded_from": self.loaded_from.isoformat(), "loaded_until_ms": to_ms(self.loaded_until)}

    @classmethod
    def from_state(cls, value: Mapping[str, object]) -> LoadedMark:
        return cls(date.fromisoformat(str(value["loaded_from"])), from_ms(int(value["loaded_until_ms"])))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReadWindow:
    """The instants one event name is read over, both inclusive, to the millisecond."""

    start: datetime
    end: datetime

    @property
    def start_ms(self) -> int:
        return to_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_ms(self.end)

    @property
    def is_empty(self) -> bool:
        return self.start > self.end


def _read_start(
    as_of: datetime, start_date: date | None, mark: LoadedMark | None, lookback_days: int, full_refresh: bool
) -> datetime:
    """The lookback rule: where a run starts reading one event name.

    First run (no mark) or a full refresh: ``start_date`` (default: all history). Later runs: the
    start of the UTC day ``lookback_days - 1`` days before the last loaded instant, so the last
    ``lookback_days`` UTC days are read again and late events are caught (``lookback_days`` 0:
    right after the last loaded instant). A ``start_date`` earlier than what is loaded backfills
    from there; none given never does.
    """
    if mark is None or full_refresh:
        return midnight(start_date or DEFAULT_START_DATE)
    if start_date is not None and start_date < mark.loaded_from:
        return midnight(start_date)
    if lookback_days <= 0:
        start = mark.loaded_until + timedelta(milliseconds=1)
    else:
        start = midnight(mark.loaded_until.date() - timedelta(days=lookback_days - 1))
    return min(max(start, midnight(start_date or mark.loaded_from)), as_of + timedelta(milliseconds=1))


@dataclass(frozen=True)
class SyncWindow:
    """One run's instants, planned once (:func:`plan_sync_window`) and passed as given."""

    as_of: datetime  # the closed instant the run loads and computes up to (UTC, whole milliseconds)
    reads: Mapping[str, ReadWindow]  # event name -> the instants read
    rebuild_from: date  # the first UTC date the transform rebuilds (and publishing republishes)
    full_refresh: bool = False
    marks_after: Mapping[str, LoadedMark] = field(default_factory=dict)  # the marks once the load succeeded

    @property
    def as_of_date(self) -> date:
        return self.as_of.date()

    @property
    def read_start(self) -> datetime:
        """The earliest instant read, or the as-of instant when nothing is read."""
        starts = [w.start for w in self.reads.values() if not w.is_empty]
        return min(starts, default=self.as_of)

    def dbt_vars(self, sync_time: datetime) -> dict[str, str]:
        """The dbt vars of this window: resolved values, nothing left for dbt to derive."""
        return {
            "as_of": self.as_of.isoformat(),
            "as_of_date": self.as_of_date.isoformat(),
            "sync_time": as_utc(sync_time).isoformat(),
            "rebuild_from_date": self.rebuild_from.isoformat(),
        }


def plan_sync_window(
    *,
    event_names: Iterable[str],
    marks: Mapping[str, LoadedMark],
    as_of: datetime | None = None,
    lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    start_date: date | None = None,
    full_refresh: bool = False,
    now: datetime | None = None,
) -> SyncWindow:
    """The run's window from its parameters and the earlier loads' ``marks`` (event name -> mark)."""
    now = now or datetime.now(UTC)
    as_of = as_utc(as_of) if as_of is not None else default_as_of(now)
    as_of = as_of.replace(microsecond=as_of.microsecond // 1000 * 1000)  # Umami's instants are milliseconds
    if as_of > now:
        raise ValueError(f"as_of {as_of.isoformat()} is in the future: only closed windows can be read")
    if lookback_days < 0:
        raise ValueError("lookback_days must be 0 or more")
    reads: dict[str, ReadWindow] = {}
    after: dict[str, LoadedMark] = {}
    for name in dict.fromkeys(event_names):
        mark = marks.get(name)
        window = ReadWindow(_read_start(as_of, start_date, mark, lookback_days, full_refresh), as_of)
        reads[name] = window
        first = window.start.date() if mark is None or full_refresh else min(mark.loaded_from, window.start.date())
        after[name] = LoadedMark(first, as_of)
    rebuild_from = as_of.date() - timedelta(days=max(lookback_days, 1) - 1)
    starts = [w.start.date() for w in reads.values() if not w.is_empty]
    return SyncWindow(
        as_of=as_of,
        reads=MappingProxyType(reads),
        rebuild_from=min([rebuild_from, *starts]),
        full_refresh=full_refresh,
        marks_after=MappingProxyType(after),
    )


@dataclass(frozen=True)
class AggregateWindow:
    window_type: str
    start_date: date
    end_date: date
    start: datetime
    end: datetime  # inclusive: the as-of instant


def aggregate_window(window_type: str, as_of: datetime) -> AggregateWindow:
    """``window_type`` (``last_<n>_days``) as of an instant: UTC dates [as_of_date - (n-1), as_of_date]."""
    try:
        days = WINDOW_DAYS[window_type]
    except KeyError:
        raise ValueError(f"unknown window {window_type!r}; known: {', '.join(WINDOW_DAYS)}") from None
    end_date = as_of.date()
    start_date = end_date - timedelta(days=days - 1)
    return AggregateWindow(window_type, start_date, end_date, midnight(start_date), as_of)
