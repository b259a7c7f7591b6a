"""What a credential or a piece of personal data looks like: one vocabulary for the loader and the models.

The rules are rows of ``rule, finding, guard, pattern`` (the dbt project ships them as the seed
``sensitive_metadata_rules``, which its tracking models read too):

- ``key``: a property key (lower-cased, the whole flattened key such as ``asset.uploadpolicy``)
  matching ``pattern`` names a sensitive value;
- ``value``: a value (lower-cased) matching ``pattern`` is sensitive whatever its key; ``guard``
  is a cheap necessary condition the models check first (space-separated substrings, or
  ``digits>=7``); it never changes what matches;
- ``identifier``: keys whose values are business ids, kept as sent even when they happen to look
  like a value pattern (counting them exactly is the point of the warehouse).

Patterns are written in the common dialect of Python's ``re``, PostgreSQL's and Java's regular
expressions: classes, groups, alternation, quantifiers, ``^``/``$``, ``\\s`` and escaped
punctuation; no POSIX classes, no ``\\b``, no lookaround.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

REDACTED = "[redacted]"
RULE_KINDS = ("key", "value", "identifier")


@dataclass(frozen=True)
class SensitiveRules:
    key: re.Pattern[str]
    value: re.Pattern[str]
    identifier: re.Pattern[str]

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> SensitiveRules:
        patterns: dict[str, list[str]] = {kind: [] for kind in RULE_KINDS}
        for row in rows:
            kind = (row.get("rule") or "").strip()
            if kind not in patterns:
                raise ValueError(f"sensitive rule {row!r}: rule must be one of {', '.join(RULE_KINDS)}")
            pattern = row.get("pattern") or ""
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"sensitive rule {row.get('finding')!r}: bad pattern: {error}") from None
            patterns[kind].append(f"(?:{pattern})")
        if not patterns["key"] or not patterns["value"]:
            raise ValueError("the sensitive rules need at least one key rule and one value rule")
        compiled = {kind: re.compile("|".join(found) or "(?!)") for kind, found in patterns.items()}
        return cls(**compiled)

    @classmethod
    def from_csv(cls, path: Path) -> SensitiveRules:
        with path.open(newline="", encoding="utf-8") as handle:
            return cls.from_rows(csv.DictReader(handle))

    def is_sensitive(self, key: str, value: str | None) -> bool:
        """Whether a property's value must not reach the warehouse as sent."""
        lowered_key = key.lower()
        if self.identifier.search(lowered_key):
            return False
        if self.key.search(lowered_key):
            return True
        return value is not None and self.value.search(value.lower()) is not None
