"""What `course-analytics demo` must print, computed here from the traffic it generates (the oracle)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flows.demo import DEMO_SEED, DemoTraffic
from tests import oracle
from umami_sim import TrafficSpec, generate


def expected_top_courses(demo_output: str, limit: int = 10) -> list[tuple[str, int]]:
    """The top courses by Visitors (30d) of the traffic the demo says it generated."""
    reference = re.search(r"reference time \(end of the generated traffic\): (\S+)", demo_output).group(1)
    traffic = DemoTraffic()
    dataset = generate(
        TrafficSpec(
            seed=DEMO_SEED, users=traffic.users, courses=traffic.courses, days=traffic.days, reference_time=reference
        )
    )
    as_of = datetime.fromisoformat(reference.replace("Z", "+00:00")) - timedelta(seconds=1)
    expected = oracle.course_marts(dataset, as_of)
    visitors = {course: v for (window, course), (v, _) in expected.windows.items() if window == "last_30_days"}
    return sorted(visitors.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def printed_top_courses(demo_output: str) -> list[tuple[str, int]]:
    return [(course, int(n)) for course, n in re.findall(r"^  (shifu-\S+)\s+(\d+)$", demo_output, flags=re.MULTILINE)]
