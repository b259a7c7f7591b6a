"""The benchmark (run.py) and its floor (floor.sql, floor.py): docs/benchmarks.md."""
