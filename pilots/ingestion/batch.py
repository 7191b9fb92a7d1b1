"""A validated batch of outcomes, in the form the write path stores it.

`values` are plain tuples in `Outcome` field order with the booleans as 0/1: `sqlite3.executemany` binds a plain
tuple of ints, floats and strings directly, while a named tuple is read item by item through the sequence protocol
and every `bool` goes through the module's adapter lookup (together ~12 ms per 10,000 rows, a third of the insert).
PostgreSQL reads 0/1 as booleans just as well. `rows` gives the same audits as `Outcome` tuples with real booleans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pilots.ingestion.fields import Outcome

# Validated booleans (and an absent optional one) as stored.
AS_INT: dict[Any, int | None] = {True: 1, False: 0, None: None}


@dataclass
class ParsedBatch:
    """A validated batch: unique audits in submission order (`values`, see module docstring), their 1-based row
    numbers, in-batch duplicates, and the rollup sums of the unique audits per (moderator_id, day) in
    `pilots.rollups.SUMS` order (used as is when every audit turns out to be new)."""

    values: list[tuple[Any, ...]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    duplicates: int = 0
    sums: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    @property
    def rows(self) -> list[Outcome]:
        """The unique audits as `Outcome` tuples (booleans as `bool`)."""
        return [
            Outcome(a, m, t, d, bool(c), None if k is None else bool(k), h, p, q, au, it)
            for a, m, t, d, c, k, h, p, q, au, it in self.values
        ]
