"""Reading QA outcomes as CSV: the header decides the column layout, rows are read in bounded batches.

Used by the API (a CSV request body) and the CLI (a file of millions of rows, read batch by batch so memory stays
flat). Columns may come in any order; optional columns may be missing; columns our own exports add (`day`,
`period`, `ingested_at`, `unit_id`, `arm`) are ignored so an export re-imports as is; any other column is rejected,
so a misspelt optional column cannot silently drop data.

Text cells our exports escaped against formula injection (`pilots.csv_safety`) are restored by `unescape_cells`
before validation, so an exported file re-imports to exactly the stored values.

A plain request body (no quoting, every line as wide as the header) is held as its columns (`ColumnRows`), which is
what the column-wise parser reads; the rows themselves are only built when the per-row path has to name a bad one.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

from pilots.csv_safety import QUOTE, unescape
from pilots.errors import ValidationFailed, problem
from pilots.ingestion.fields import EXPORT_ONLY, FIELDS, REQUIRED, TEXT_FIELDS

# A cell larger than this is rejected by the csv module with a clear error instead of being buffered.
csv.field_size_limit(1024 * 1024)


class CsvLayout(NamedTuple):
    """How to pull the fields, in `FIELDS` order, out of a row: `getter(row)` gives the 10 cells.

    `pad` is True when some optional column is absent: the getter then reads it from one extra empty cell that the
    caller appends (`row + [""]`). `indexes` are the fields' positions in a row (`width` for an absent field);
    `text_indexes` the positions of the text fields present (escaped on export).
    """

    width: int
    getter: Callable[[list[str]], tuple[str, ...]]
    pad: bool
    indexes: tuple[int, ...] = ()
    text_indexes: tuple[int, ...] = ()


def layout_for(header: list[str] | None) -> CsvLayout:
    """Check the header row and build the layout; raise ValidationFailed naming each bad column."""
    if not header or not any(cell.strip() for cell in header):
        raise ValidationFailed(
            "The CSV has no header row.", [problem("header", f"expected a header with columns {', '.join(FIELDS)}")]
        )
    names = [cell.strip().lstrip("\ufeff") for cell in header]
    problems = []
    for name, count in _counts(names).items():
        if count > 1:
            problems.append(problem("header", f"column {name!r} appears {count} times"))
    for name in names:
        if name not in FIELDS and name not in EXPORT_ONLY:
            problems.append(problem("header", f"unknown column {_short(name)!r}; known columns: {', '.join(FIELDS)}"))
    for name in FIELDS:
        if name in REQUIRED and name not in names:
            problems.append(problem("header", f"required column {name!r} is missing"))
    if problems:
        raise ValidationFailed("The CSV header is not usable; nothing was written.", problems)
    width = len(names)
    indexes = [names.index(name) if name in names else width for name in FIELDS]
    text_indexes = tuple(names.index(name) for name in TEXT_FIELDS if name in names)
    return CsvLayout(
        width=width,
        getter=itemgetter(*indexes),
        pad=width in indexes,
        indexes=tuple(indexes),
        text_indexes=text_indexes,
    )


class ColumnRows(Sequence[list[str]]):
    """Rows of equal width held as their columns: `columns[k][i]` is cell k of row i.

    The column-wise parser reads `columns` as they are (no transposing); iterating or indexing gives each row as a
    list, built from the columns once and kept, for the per-row path and for callers that want rows."""

    def __init__(self, columns: list[list[str]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    @cached_property
    def _rows(self) -> list[list[str]]:
        return list(map(list, zip(*self.columns, strict=True)))

    def __getitem__(self, index):  # type: ignore[override]
        return self._rows[index]

    def __iter__(self) -> Iterator[list[str]]:
        return iter(self._rows)


def unescape_cells(rows: Sequence[list[str]], layout: CsvLayout) -> None:
    """Undo the export's formula escaping in the text cells of `rows`, in place.

    Only a cell starting with a single quote can be escaped, and files with no quote at all (almost every file) are
    recognised with one scan of the joined text, so the common case costs a few milliseconds per 10,000 rows (for
    `ColumnRows`, a scan of the text columns only)."""
    if not layout.text_indexes:
        return
    if isinstance(rows, ColumnRows):
        for index in layout.text_indexes:
            column = rows.columns[index]
            if QUOTE in "".join(column):
                column[:] = [unescape(cell) if cell[:1] == QUOTE else cell for cell in column]
                rows.__dict__.pop("_rows", None)  # rows built before now would hold the escaped cells
        return
    if QUOTE not in "\n".join(map("".join, rows)):
        return
    for row in rows:
        for index in layout.text_indexes:
            if index < len(row) and row[index][:1] == QUOTE:
                row[index] = unescape(row[index])


def read_rows(reader: Iterator[list[str]], first_row: int, limit: int) -> list[list[str]]:
    """Up to `limit` rows from `reader`; a malformed CSV line becomes a ValidationFailed naming its row."""
    rows: list[list[str]] = []
    try:
        rows.extend(itertools.islice(reader, limit))
    except (csv.Error, UnicodeDecodeError) as error:
        row = first_row + len(rows)
        raise ValidationFailed(
            f"The CSV could not be read at row {row}; nothing was written.", [problem("row", str(error), row)]
        ) from error
    return rows


def batches(reader: Iterator[list[str]], size: int) -> Iterator[tuple[int, list[list[str]]]]:
    """`(first_row, rows)` batches of at most `size` rows until the reader is exhausted (rows are 1-based)."""
    first_row = 1
    while True:
        rows = read_rows(reader, first_row, size)
        if not rows:
            return
        yield first_row, rows
        first_row += len(rows)


def _counts(names: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return counts


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:40] + "..."
