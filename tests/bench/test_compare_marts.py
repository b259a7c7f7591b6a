"""bench/run.py's check that the Spark column's marts equal PostgreSQL's."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.run import compare_marts

ROWS = Counter({("analytics_course_daily_stats", "2026-11-19", "c1", "3", "2"): 1, ("x", "1"): 2})


def test_equal_marts_give_the_rows_compared() -> None:
    assert compare_marts(Counter(ROWS), Counter(ROWS)) == 3


def test_a_row_on_one_engine_only_is_named() -> None:
    spark = ROWS + Counter({("x", "2"): 1})
    with pytest.raises(RuntimeError, match=r"1 rows only on Spark .*\('x', '2'\).* 0 only on PostgreSQL"):
        compare_marts(spark, Counter(ROWS))


def test_a_row_counted_twice_differs() -> None:
    with pytest.raises(RuntimeError, match="only on Spark"):
        compare_marts(ROWS + Counter({("x", "1"): 1}), Counter(ROWS))


def test_two_empty_results_are_not_equal_marts() -> None:
    with pytest.raises(RuntimeError, match="nothing to compare"):
        compare_marts(Counter(), Counter())
