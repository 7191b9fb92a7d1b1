"""Validate a batch of submitted audits (JSON records or CSV rows) into a normalized `ParsedBatch`.

Speed matters here (millions of rows through the API and the CLI). A JSON batch first goes through the column-wise
fast path (`pilots.ingestion.columns`), which accepts the common well-formed batch or hands it back undecided.
Otherwise each row goes through one inline fast path of plain comparisons; only a row that fails it is re-examined
field by field (`_diagnose`) to produce the exact `{row, field, message}` problems. The batch is all-or-nothing: any
problem raises `ValidationFailed` and nothing is returned. Identical repeats of an audit inside the batch are kept
once and counted as duplicates; a repeat with different content is a problem.
"""

from __future__ import annotations

import gc
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pilots.errors import ValidationFailed, problem
from pilots.identifiers import clean as clean_identifier
from pilots.ingestion import fields as f
from pilots.ingestion.batch import AS_INT, ParsedBatch
from pilots.ingestion.columns import parse_columns, parse_csv_columns
from pilots.ingestion.csv_input import CsvLayout, unescape_cells
from pilots.ingestion.fields import Window

__all__ = ["ParsedBatch", "collector_paused", "parse_csv_rows", "parse_json_records"]

_fromiso = datetime.fromisoformat
_nfc = unicodedata.normalize
_CSV_INTS = {text: AS_INT[value] for text, value in f.CSV_BOOLEANS.items()}
_MAX_TEXT = f.MAX_TEXT
_MAX_HANDLE = f.MAX_HANDLE_TIME_S


class _Bad(Exception):
    """Internal: the fast path gave up on a row; `_diagnose` explains why."""


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
            shown = len(self.items)
            listed = (
                ""
                if self.total == 1
                else " Each is listed."
                if shown == self.total
                else f" The first {shown:,} are listed."
            )
            raise ValidationFailed(
                f"{what} has {self.total:,} {noun}; nothing was written.{listed}",
                self.items,
                total=self.total,
            )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is parsed.

    Parsing allocates tens of thousands of small acyclic objects while the decoded body keeps tens of thousands more
    alive, so the collector would repeatedly scan them all for cycles that cannot exist (measured: parsing takes
    2.5x as long). Nothing is leaked: reference counting frees everything as usual, and the collector resumes after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_json_records(records: Sequence[Any], window: Window, first_row: int = 1) -> ParsedBatch:
    """Validate JSON-decoded records (dicts) against `window`; raise ValidationFailed listing every problem."""
    fast = parse_columns(records, window, first_row)
    if fast is not None:
        return fast
    batch, problems, seen = ParsedBatch(), _Problems(), {}
    rows, sums, setdefault = batch.values, batch.sums, seen.setdefault
    known = f.KNOWN.issuperset
    roster, earliest, end, latest = window.roster, window.earliest, window.end, window.latest
    for n, rec in enumerate(records, first_row):
        try:
            if type(rec) is not dict or not known(rec):
                raise _Bad
            a, m, c, t = rec["audit_id"], rec["moderator_id"], rec["correct"], rec["audited_at"]
            if type(a) is not str or type(m) is not str:
                raise _Bad
            # Identifiers: ASCII needs only isprintable; anything else is checked and normalized (NFC) first.
            if not a.isascii():
                a = _identifier(a)
            if not m.isascii():
                m = _nfc("NFC", m)
            if not a or len(a) > _MAX_TEXT or not a.isprintable() or m not in roster:
                raise _Bad
            parsed = _fromiso(t)
            if len(t) in _UTC_SIZES and t[19:] in _UTC_TAILS and t[4] == t[7] == "-" and t[13] == t[16] == ":":
                t = t[:10] + " " + t[11:19] + ".000000"
            else:
                t = _utc_text(parsed)
            if t < earliest or t >= end or t > latest or (c is not True and c is not False):
                raise _Bad
            k, h = rec.get("critical"), rec.get("handle_time_s")
            if k is not None and k is not True and k is not False:
                raise _Bad
            if h is not None:
                if (type(h) is float or type(h) is int) and 0 <= h <= _MAX_HANDLE:
                    h = float(h)
                else:
                    raise _Bad
            p, q, au = rec.get("policy"), rec.get("queue"), rec.get("auditor_id")
            # The inline test accepts plain ASCII text; anything else is decided by `_identifier` (or refused).
            if p is not None and (type(p) is not str or not p.isascii() or len(p) > _MAX_TEXT or not p.isprintable()):
                p = _identifier(p)
            if q is not None and (type(q) is not str or not q.isascii() or len(q) > _MAX_TEXT or not q.isprintable()):
                q = _identifier(q)
            if au is not None and (
                type(au) is not str or not au.isascii() or len(au) > _MAX_TEXT or not au.isprintable()
            ):
                au = _identifier(au)
            it = rec.get("item_id")
            if it is not None and (
                type(it) is not str or not it.isascii() or len(it) > _MAX_TEXT or not it.isprintable()
            ):
                it = _identifier(it)
        except (_Bad, KeyError, TypeError, ValueError, AttributeError, OverflowError):
            _diagnose(rec, window, n, problems, json=True)
            continue
        d, c, k = t[:10], AS_INT[c], AS_INT[k]
        outcome = (a, m, t, d, c, k, h, p or None, q or None, au or None, it or None)
        # What follows is inlined in both loops (speed): keep the first copy of an audit id, add it to the sums.
        size = len(rows)
        if setdefault(a, size) != size:
            _repeat(batch, problems, seen[a], outcome, n)
            continue
        rows.append(outcome)
        batch.row_numbers.append(n)
        acc = sums.get((m, d))
        if acc is None:
            acc = sums[m, d] = [0, 0, 0, 0, 0, 0.0, 0.0]
        acc[0] += 1
        if c:
            acc[1] += 1
        if k is not None:
            acc[2] += 1
            if k:
                acc[3] += 1
        if h is not None:
            acc[4] += 1
            acc[5] += h
            acc[6] += h * h
    problems.raise_if_any("The batch")
    return batch


def parse_csv_rows(rows: Sequence[list[str]], layout: CsvLayout, window: Window, first_row: int = 1) -> ParsedBatch:
    """Validate CSV rows (lists of cells, header already read into `layout`; formula-escaped text cells are restored
    in place first); raise ValidationFailed on problems."""
    unescape_cells(rows, layout)
    fast = parse_csv_columns(rows, layout, window, first_row)
    if fast is not None:
        return fast
    batch, problems, seen = ParsedBatch(), _Problems(), {}
    kept, sums, setdefault = batch.values, batch.sums, seen.setdefault
    roster, earliest, end, latest = window.roster, window.earliest, window.end, window.latest
    width, getter, pad = layout.width, layout.getter, layout.pad
    for n, raw in enumerate(rows, first_row):
        try:
            if len(raw) != width:
                raise _Bad
            a, m, t, c, k, h, p, q, au, it = getter([*raw, ""] if pad else raw)
            if not a.isascii():
                a = _identifier(a)
            if not m.isascii():
                m = _nfc("NFC", m)
            if not a or len(a) > _MAX_TEXT or not a.isprintable() or m not in roster:
                raise _Bad
            parsed = _fromiso(t)
            if len(t) in _UTC_SIZES and t[19:] in _UTC_TAILS and t[4] == t[7] == "-" and t[13] == t[16] == ":":
                t = t[:10] + " " + t[11:19] + ".000000"
            else:
                t = _utc_text(parsed)
            if t < earliest or t >= end or t > latest:
                raise _Bad
            c = _CSV_INTS[c]
            k = _CSV_INTS[k] if k else None
            if h:
                h = float(h)
                if not 0 <= h <= _MAX_HANDLE:
                    raise _Bad
            else:
                h = None
            if p and (not p.isascii() or len(p) > _MAX_TEXT or not p.isprintable()):
                p = _identifier(p)
            if q and (not q.isascii() or len(q) > _MAX_TEXT or not q.isprintable()):
                q = _identifier(q)
            if au and (not au.isascii() or len(au) > _MAX_TEXT or not au.isprintable()):
                au = _identifier(au)
            if it and (not it.isascii() or len(it) > _MAX_TEXT or not it.isprintable()):
                it = _identifier(it)
        except (_Bad, KeyError, TypeError, ValueError, OverflowError):
            _diagnose_csv(raw, layout, window, n, problems)
            continue
        d = t[:10]
        outcome = (a, m, t, d, c, k, h, p or None, q or None, au or None, it or None)
        size = len(kept)
        if setdefault(a, size) != size:
            _repeat(batch, problems, seen[a], outcome, n)
            continue
        kept.append(outcome)
        batch.row_numbers.append(n)
        acc = sums.get((m, d))
        if acc is None:
            acc = sums[m, d] = [0, 0, 0, 0, 0, 0.0, 0.0]
        acc[0] += 1
        if c:
            acc[1] += 1
        if k is not None:
            acc[2] += 1
            if k:
                acc[3] += 1
        if h is not None:
            acc[4] += 1
            acc[5] += h
            acc[6] += h * h
    problems.raise_if_any("The batch")
    return batch


_UTC_SIZES = (20, 25)
_UTC_TAILS = ("Z", "+00:00")


def _identifier(value: Any) -> str:
    """A text value the inline tests did not accept: non-ASCII text in NFC within the length limit, else `_Bad`.

    The refused characters are those of `pilots.identifiers`; the limit applies to the normalized text.
    """
    if type(value) is not str:
        raise _Bad
    cleaned = clean_identifier(value)
    if cleaned is None or len(cleaned) > _MAX_TEXT:
        raise _Bad
    return cleaned


def _utc_text(parsed: datetime) -> str:
    """Canonical UTC text of a parsed timestamp; `_Bad` when it has no zone.

    The loops rewrite the common shapes (`...T08:15:12Z`, `...T08:15:12+00:00`) by slicing once `fromisoformat`
    has confirmed they are real instants; everything else comes here.
    """
    if parsed.tzinfo is None:
        raise _Bad
    return parsed.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def _repeat(batch: ParsedBatch, problems: _Problems, index: int, outcome: tuple[Any, ...], n: int) -> None:
    """A second copy of an audit id in the batch: a duplicate when identical, a problem otherwise."""
    if batch.values[index][1:] == outcome[1:]:
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
    if isinstance(moderator, str):
        moderator = _nfc("NFC", moderator)
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
