"""dlt source for the Umami API (v3.0+; v3.1.0+ recommended)."""

from loader.umami.source import (
    DEFAULT_EVENT_NAMES,
    DEFAULT_START_DATE,
    LoadStats,
    default_as_of,
    umami_source,
)

__all__ = ["DEFAULT_EVENT_NAMES", "DEFAULT_START_DATE", "LoadStats", "default_as_of", "umami_source"]
