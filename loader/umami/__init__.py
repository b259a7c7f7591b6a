"""dlt source for the Umami API (v3.0+; v3.1.0+ recommended)."""

from loader.umami.sensitive import SensitiveRules
from loader.umami.source import LoadReport, umami_source
from loader.umami.windows import LoadedMark, SyncWindow, plan_sync_window

__all__ = ["LoadReport", "LoadedMark", "SensitiveRules", "SyncWindow", "plan_sync_window", "umami_source"]
