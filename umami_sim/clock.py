"""Epoch milliseconds and the ISO form Umami prints (``2026-11-19T23:59:59.000Z``)."""

from __future__ import annotations

import time
from functools import lru_cache


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    day, second_of_day = divmod(seconds, 86400)
    hour, rest = divmod(second_of_day, 3600)
    return f"{_date(day)}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _date(day: int) -> str:
    """``YYYY-MM-DD`` of a day number since the epoch (pages of events share few dates)."""
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
