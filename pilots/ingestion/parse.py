"""Validate a batch of submitted audits (JSON records or CSV rows) into normalized `Outcome` tuples.

Speed matters here (millions of rows through the API and the CLI), so each row goes through one inline fast path of
plain comparisons; only a row that fails it is re-examined field by field (`_diagnose`) to produce the exact
`{row, field, message}` problems. The batch is all-or-nothing: any problem raises `ValidationFailed` and nothing is
returned. Identical repeats of an audit inside the batch are kept once and counted as duplicates; a repeat with
different content is a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pilots.errors import ValidationFailed, problem
from pilots.ingestion import fields as f
from pilots.ingestion.csv_input import CsvLayout
from pilots.ingestion.fields import Outcome, Window

_new_outcome = tuple.__new__
_fromiso = datetime.fromisoformat
_BOOLS = f.CSV_BOOLEANS
_MAX_TEXT = f.MAX_TEXT
_MAX_HANDLE = f.MAX_HANDLE_TIME_S


class _Bad(Exception):
    """Internal: the fast path gave up on a row; `_diagnose` explains why."""


@dataclass
class ParsedBatch:
    """A validated batch: unique audits in submission order, their 1-based row numbers, in-batch duplicates."""

    rows: list[Outcome] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    duplicates: int = 0


@dataclass
class _Problems:
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def add(self, row: int | None, name: str, message: str) -> None:
        self.total += 1
        if len(self.items) < ValidationFailed.MAX_DETAILS:
            self.items.append(problem(name, message, row))

    def raise_if_any(self, what: str) -> None:
        if self.total:
            noun = "problem" if self.total == 1 else "problems"
            raise ValidationFailed(
                f"{what} has {self.total} {noun}; nothing was written. The first {len(self.items)} are listed.",
                self.items,
                total=self.total,
            )


def parse_json_records(records: Sequence[Any], window: Window, first_row: int = 1) -> ParsedBatch:
    """Validate JSON-decoded records (dicts) against `window`; raise ValidationFailed listing every problem."""
    batch, problems, seen = ParsedBatch(), _Problems(), {}
    known = f.KNOWN.issuperset
    roster, earliest, end, latest = window.roster, window.earliest, window.end, window.latest
    for n, rec in enumerate(records, first_row):
        try:
            if type(rec) is not dict or not known(rec):
                raise _Bad
            a, m, c = rec["audit_id"], rec["moderator_id"], rec["correct"]
            if type(a) is not str or not a or len(a) > _MAX_TEXT or "\x00" in a or m not in roster:
                raise _Bad
            t = _utc_text(rec["audited_at"])
            if t < earliest or t >= end or t > latest or (c is not True and c is not False):
                raise _Bad
            k = rec.get("critical")
            if k is not None and k is not True and k is not False:
                raise _Bad
            h = rec.get("handle_time_s")
            if h is not None:
                if (type(h) is float or type(h) is int) and 0 <= h <= _MAX_HANDLE:
                    h = float(h)
                else:
                    raise _Bad
            p, q, au = rec.get("policy"), rec.get("queue"), rec.get("auditor_id")
            for text in (p, q, au):
                if text is not None and (type(text) is not str or len(text) > _MAX_TEXT or "\x00" in text):
                    raise _Bad
            p, q, au = p or None, q or None, au or None
        except (_Bad, KeyError, TypeError, ValueError, AttributeError, OverflowError):
            _diagnose(rec, window, n, problems, json=True)
            continue
        _keep(batch, seen, problems, _new_outcome(Outcome, (a, m, t, t[:10], c, k, h, p, q, au)), n)
    problems.raise_if_any("The batch")
    return batch


def parse_csv_rows(rows: Iterable[list[str]], layout: CsvLayout, window: Window, first_row: int = 1) -> ParsedBatch:
    """Validate CSV rows (lists of cells, header already read into `layout`); raise ValidationFailed on problems."""
    batch, problems, seen = ParsedBatch(), _Problems(), {}
    roster, earliest, end, latest = window.roster, window.earliest, window.end, window.latest
    width, getter, pad = layout.width, layout.getter, layout.pad
    for n, raw in enumerate(rows, first_row):
        try:
            if len(raw) != width:
                raise _Bad
            a, m, t, c, k, h, p, q, au = getter([*raw, ""] if pad else raw)
            if not a or len(a) > _MAX_TEXT or "\x00" in a or m not in roster:
                raise _Bad
            t = _utc_text(t)
            if t < earliest or t >= end or t > latest:
                raise _Bad
            c = _BOOLS[c]
            k = _BOOLS[k] if k else None
            if h:
                h = float(h)
                if not 0 <= h <= _MAX_HANDLE:
                    raise _Bad
            else:
                h = None
            p, q, au = p or None, q or None, au or None
            for text in (p, q, au):
                if text is not None and (len(text) > _MAX_TEXT or "\x00" in text):
                    raise _Bad
        except (_Bad, KeyError, TypeError, ValueError, OverflowError):
            _diagnose_csv(raw, layout, window, n, problems)
            continue
        _keep(batch, seen, problems, _new_outcome(Outcome, (a, m, t, t[:10], c, k, h, p, q, au)), n)
    problems.raise_if_any("The batch")
    return batch


def _utc_text(value: str) -> str:
    """Canonical UTC text of an ISO 8601 timestamp with a zone; raises (ValueError, TypeError, _Bad) otherwise.

    The common shapes (`...T08:15:12Z`, `...T08:15:12+00:00`) are rewritten by slicing once `fromisoformat` has
    confirmed they are real instants; anything else goes through a datetime.
    """
    parsed = _fromiso(value)
    size = len(value)
    if (
        ((size == 20 and value[19] == "Z") or (size == 25 and value[19:] == "+00:00"))
        and value[4] == value[7] == "-"
        and value[13] == value[16] == ":"
    ):
        return value[:10] + " " + value[11:19] + ".000000"
    if parsed.tzinfo is None:
        raise _Bad
    return parsed.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _keep(batch: ParsedBatch, seen: dict[str, int], problems: _Problems, outcome: Outcome, n: int) -> None:
    """Add a valid row, folding identical repeats of an audit id and flagging conflicting ones."""
    index = seen.get(outcome[0])
    if index is None:
        seen[outcome[0]] = len(batch.rows)
        batch.rows.append(outcome)
        batch.row_numbers.append(n)
    elif batch.rows[index][1:] == outcome[1:]:
        batch.duplicates += 1
    else:
        problems.add(
            n,
            "audit_id",
            f"{outcome[0]!r} appears again with different content (first at row {batch.row_numbers[index]})",
        )


def _diagnose_csv(raw: list[str], layout: CsvLayout, window: Window, n: int, problems: _Problems) -> None:
    if len(raw) != layout.width:
        problems.add(n, "row", f"has {len(raw)} cells but the header has {layout.width}")
        return
    values = dict(zip(f.FIELDS, layout.getter([*raw, ""] if layout.pad else raw), strict=True))
    _diagnose(values, window, n, problems, json=False)


def _diagnose(rec: Any, window: Window, n: int, problems: _Problems, *, json: bool) -> None:
    """Record every problem of a row the fast path rejected."""
    if not isinstance(rec, dict):
        problems.add(n, "row", "must be an object with the audit's fields")
        return
    before = problems.total
    for name in sorted(k for k in rec if k not in f.KNOWN) if json else ():
        shown = name if isinstance(name, str) and len(name) <= 40 else str(name)[:40] + "..."
        problems.add(n, shown, "is not a known field")
    for name in f.TEXT_FIELDS:
        message = f.text_problem(rec.get(name), name in f.REQUIRED, json)
        if message:
            problems.add(n, name, message)
    moderator = rec.get("moderator_id")
    if f.text_problem(moderator, True, json) is None and moderator not in window.roster:
        problems.add(n, "moderator_id", f"{moderator!r} is not an assigned moderator of this pilot")
    message = f.timestamp_problem(rec.get("audited_at"), window)
    if message:
        problems.add(n, "audited_at", message)
    for name, required in (("correct", True), ("critical", False)):
        message = f.bool_problem(rec.get(name), required, json)
        if message:
            problems.add(n, name, message)
    message = f.handle_time_problem(rec.get("handle_time_s"), json)
    if message:
        problems.add(n, "handle_time_s", message)
    if problems.total == before:
        # The fast path and the explanations disagree; refuse the row rather than guess.
        problems.add(n, "row", "could not be read")
