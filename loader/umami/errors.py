"""Errors the Umami source raises. None of their messages ever holds a credential."""

from __future__ import annotations


class UmamiError(Exception):
    """Base class for everything the Umami source raises on purpose."""


class UmamiPermanentError(UmamiError):
    """Retrying will not help: configuration, credentials or server version must change."""


class UmamiAuthError(UmamiPermanentError):
    """Umami rejected the credentials."""


class UmamiVersionError(UmamiPermanentError):
    """The server cannot provide event-level properties (Umami older than v3.0)."""


class UmamiTransientError(UmamiError):
    """The server kept failing (5xx, 429, timeouts, resets, malformed answers) past the retry budget."""


class IncompleteReadError(UmamiTransientError):
    """A time slice could not be read completely (ids never matched Umami's count)."""


class UnexpectedAnswerError(UmamiTransientError):
    """An endpoint answered with a shape the loader does not know."""
