"""A local HTTP server that answers like a real Umami v3.1.0 server, flaws included.

Standard library only. See README.md in this folder.
"""

from .bulk import BulkFillResult, FillSpec
from .faults import Fault
from .simulator import UmamiSimulator, serve
from .traffic import TrafficSpec, course_visit_body, generate, prepared_payloads

__all__ = [
    "BulkFillResult",
    "Fault",
    "FillSpec",
    "TrafficSpec",
    "UmamiSimulator",
    "course_visit_body",
    "generate",
    "prepared_payloads",
    "serve",
]
