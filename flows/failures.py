"""Finding the real reason behind a failure that dlt, dbt or Prefect wrapped, and classifying it."""

from __future__ import annotations

from collections.abc import Iterator

from flows import redact
from flows.settings import ConfigError
from loader.umami.errors import UmamiPermanentError


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: dlt's ``.exception``, then ``__cause__``/``__context__``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "exception", None)
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__ or current.__context__


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception our own code raised on purpose, else the innermost one."""
    chain = list(causes(exc))
    for candidate in chain:
        if isinstance(candidate, UmamiPermanentError | ConfigError) or type(candidate).__module__.startswith(
            ("loader.", "flows.")
        ):
            return candidate
    return chain[-1]


def is_permanent(exc: BaseException) -> bool:
    """Configuration, credentials, server version: retrying will not help."""
    return any(isinstance(c, UmamiPermanentError | ConfigError) for c in causes(exc))


def describe(exc: BaseException) -> str:
    cause = root_cause(exc)
    text = str(cause) or type(cause).__name__
    if cause is not exc and not isinstance(cause, UmamiPermanentError | ConfigError):
        text = f"{type(cause).__name__}: {text}"
    return redact.mask(text)
