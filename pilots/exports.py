"""Streamed exports: a table is a fixed list of column names and an iterator of rows.

Exports never build the whole result in memory: rows are read from the database in chunks and written out line by
line as CSV or as a JSON document `{"<key>": [ {...}, ... ]}`. Column names are stable (documented in the README).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class ExportTable:
    """What an export yields: `key` names the JSON array, `columns` fixes the column order, `rows` produces dicts."""

    key: str
    columns: Sequence[str]
    rows: Callable[[], Iterable[dict[str, Any]]]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_chunks(table: ExportTable, rows_per_chunk: int = 1000) -> Iterator[str]:
    """The table as CSV text, header first, in chunks of lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    for count, row in enumerate(table.rows(), start=1):
        writer.writerow(["" if row.get(c) is None else _csv_value(row.get(c)) for c in table.columns])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return _plain(value)


def json_chunks(table: ExportTable, rows_per_chunk: int = 1000) -> Iterator[str]:
    """The table as `{"<key>": [...]}`, streamed."""
    yield f'{{"{table.key}": ['
    parts: list[str] = []
    first = True
    for row in table.rows():
        text = json.dumps({c: _plain(row.get(c)) for c in table.columns}, separators=(",", ":"))
        parts.append(text if first else "," + text)
        first = False
        if len(parts) >= rows_per_chunk:
            yield "".join(parts)
            parts.clear()
    parts.append("]}")
    yield "".join(parts)
