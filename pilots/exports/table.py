"""Streamed exports: a table is a fixed list of column names and an iterator of rows.

Exports never build the whole result in memory: rows are read from the database a batch at a time and written out
in chunks of about `CHUNK_BYTES`, as CSV or as a JSON document `{"<key>": [ {...}, ... ]}`. Column names are stable
(documented in the README).

A table may also carry `csv`, the same CSV written by the database itself (`pilots.exports.sql`: PostgreSQL `COPY`,
a bare cursor into `csv.writer` on SQLite), which the CSV export then uses; the generic path below is for tables
with no such writer (roster, assignments, balance, results) and for pseudonymised exports. Both paths neutralise
formula cells with `pilots.csv_safety` (text only: numbers are never escaped) and write the same bytes.

Columns that name people (`identifiers`) can be replaced by keyed pseudonyms (`pseudonymized`), for exports that
leave the operation.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from pilots.csv_safety import escape

CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportTable:
    """What an export yields: `key` names the JSON array, `columns` fixes the column order, `rows` produces dicts.

    `csv`, when given, writes the whole CSV (header included, cells escaped) as byte chunks, faster than `rows`.
    `identifiers` are the columns that name moderators, teams or auditors (see `pseudonymized`)."""

    key: str
    columns: Sequence[str]
    rows: Callable[[], Iterable[dict[str, Any]]]
    csv: Callable[[], Iterator[bytes]] | None = None
    identifiers: Sequence[str] = ()


def pseudonymized(table: ExportTable, pseudonym: Callable[[str], str]) -> ExportTable:
    """`table` with every identifier column replaced by `pseudonym(value)` (empty cells stay empty).

    The database's own CSV writer cannot compute keyed hashes, so the result always uses the generic writer."""
    names = [name for name in table.identifiers if name in table.columns]

    def rows() -> Iterator[dict[str, Any]]:
        for row in table.rows():
            for name in names:
                value = row.get(name)
                if value is not None and value != "":
                    row[name] = pseudonym(str(value))
            yield row

    return replace(table, rows=rows, csv=None)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def csv_cell(value: Any) -> Any:
    """A value as csv.writer should write it: text escaped, booleans `true`/`false`, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return escape(json.dumps(value, sort_keys=True))
    return _plain(value)


class CsvBuffer:
    """Rows written with `csv.writer` (`\\n` line ends) into a text buffer that is handed out chunk by chunk.

    `csv.writer` quotes a cell holding a line feed but not one holding a lone carriage return, which every reader
    then takes for the end of the line. Such rows (rare: identifiers cannot hold control characters) are rewritten
    with every cell quoted; one scan of the batch's text finds them."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._plain = csv.writer(self._buffer, lineterminator="\n")
        self._quoted = csv.writer(self._buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def write(self, rows: list[Sequence[Any]]) -> None:
        start = self._buffer.tell()
        self._plain.writerows(rows)
        self._buffer.seek(start)
        if "\r" in self._buffer.read():
            self._buffer.seek(start)
            self._buffer.truncate()
            for row in rows:
                cr = any(isinstance(cell, str) and "\r" in cell for cell in row)
                (self._quoted if cr else self._plain).writerow(row)

    def write_text(self, text: str) -> None:
        """Lines already written as CSV (by the database), each with its `\\n`."""
        self._buffer.write(text)

    @property
    def full(self) -> bool:
        return self._buffer.tell() >= CHUNK_BYTES

    def take(self) -> bytes:
        """The text written since the last `take`, as UTF-8."""
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data


def csv_chunks(table: ExportTable, batch: int = 500) -> Iterator[bytes]:
    """The table as UTF-8 CSV, header first, in chunks of about CHUNK_BYTES."""
    if table.csv is not None:
        yield from table.csv()
        return
    out = CsvBuffer()
    out.write([table.columns])
    columns = table.columns
    rows: list[list[Any]] = []
    for row in table.rows():
        rows.append([csv_cell(row.get(c)) for c in columns])
        if len(rows) >= batch:
            out.write(rows)
            rows.clear()
            if out.full:
                yield out.take()
    out.write(rows)
    yield out.take()


def json_chunks(table: ExportTable) -> Iterator[bytes]:
    """The table as `{"<key>": [...]}`, streamed in chunks of about CHUNK_BYTES."""
    parts: list[str] = [f'{{"{table.key}": [']
    size = 0
    first = True
    columns = table.columns
    for row in table.rows():
        text = json.dumps({c: _plain(row.get(c)) for c in columns}, separators=(",", ":"))
        parts.append(text if first else "," + text)
        size += len(text)
        first = False
        if size >= CHUNK_BYTES:
            yield "".join(parts).encode()
            parts.clear()
            size = 0
    parts.append("]}")
    yield "".join(parts).encode()
