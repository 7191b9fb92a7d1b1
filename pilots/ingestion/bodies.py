"""Turning a request body (JSON or CSV bytes) into rows for `pilots.ingestion.parse`, with clear errors.

A malformed body is a 400 naming the body; a well-formed body of the wrong shape is a 422 naming the field. The row
limit is checked before any row is validated, so an oversized batch costs little.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import orjson

from pilots.errors import PilotLabError, ValidationFailed, problem
from pilots.ingestion.csv_input import ColumnRows, CsvLayout, layout_for, read_rows

MAX_ROWS_PER_REQUEST = 50_000


class MalformedBody(PilotLabError):
    """The body could not be decoded at all (not JSON, not UTF-8...)."""

    http_status = 400
    code = "malformed_body"


def json_records(data: bytes) -> list[Any]:
    """The `outcomes` list of a JSON body `{"outcomes": [...]}` (at most MAX_ROWS_PER_REQUEST records)."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson is ~3x faster but stricter (NaN/Infinity, integers over 64 bits, lone surrogates, UTF-16/32,
        # nesting depth): whatever it refuses is decoded exactly as before, so behaviour and messages do not change.
        document = _stdlib_loads(data)
    return _outcomes(document)


def _stdlib_loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        raise MalformedBody(f"The body is not valid JSON: {error}", [problem("body", str(error))]) from error


def _outcomes(document: Any) -> list[Any]:
    if not isinstance(document, dict):
        raise ValidationFailed(
            "The body must be a JSON object.", [problem("body", 'expected {"outcomes": [ {...}, ... ]}')]
        )
    extra = sorted(str(key)[:40] for key in document if key != "outcomes")
    problems = [problem(key, "is not a known field (the body has only 'outcomes')") for key in extra]
    records = document.get("outcomes")
    if not isinstance(records, list):
        problems.append(problem("outcomes", "is required and must be a list of audit objects"))
    if problems:
        raise ValidationFailed("The body is not an outcomes batch; nothing was written.", problems)
    _check_size(len(records))
    return records


def csv_rows(data: bytes) -> tuple[CsvLayout, Sequence[list[str]]]:
    """The layout and rows of a CSV body (UTF-8, header first, at most MAX_ROWS_PER_REQUEST rows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedBody(
            f"The CSV body is not UTF-8 text (byte {error.start}).", [problem("body", "must be UTF-8 text")]
        ) from error
    columns = _plain_columns(text)
    split = None if columns is not None else _split_plain(text)
    if columns is not None:
        header, rows = columns
        layout = layout_for(header)
    elif split is not None:
        header, rows = split[:1], split[1:]
        layout = layout_for(header[0] if header else None)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = read_rows(reader, 0, 1)
        layout = layout_for(header[0] if header else None)
        rows = read_rows(reader, 1, MAX_ROWS_PER_REQUEST + 1)
    _check_size(len(rows))
    return layout, rows


def _plain_columns(text: str) -> tuple[list[str], ColumnRows] | None:
    """The header and the columns of a plain CSV text (as `_split_plain` accepts) whose lines are all as wide as the
    header, split in one pass: each line end becomes a cell holding only NUL (a character no accepted text has), so
    one `str.split` gives every cell and a row of width w ends exactly every w + 1 cells. None otherwise."""
    text = _plain(text)
    if text is None:
        return None
    width = text.count(",", 0, text.find("\n") if "\n" in text else len(text)) + 1
    cells = text.replace("\n", ",\x00,").split(",")
    step = width + 1
    ends = cells[width::step]
    # Every line end must fall where a row of the header's width ends: the cells at those places are all line ends,
    # and they are all of them (a short line would put a line end elsewhere: ",,\n1\n1" is not one row "1,\n,1").
    if (len(cells) + 1) % step or not set(ends) <= {"\x00"} or len(ends) != text.count("\n"):
        return None
    if len(text) > csv.field_size_limit() and max(map(len, cells)) > csv.field_size_limit():
        return None
    return cells[:width], ColumnRows([cells[step + k :: step] for k in range(width)])


def _plain(text: str) -> str | None:
    """`text` without its final line end when `_split_plain` may split it, else None."""
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    if text.endswith("\n"):
        text = text[:-1]
    if not text or "\n\n" in text or text.startswith("\n") or text.endswith("\n"):
        return None
    return text


def _split_plain(text: str) -> list[list[str]] | None:
    """The lines and cells of a CSV text without quoting, split by `str.split` (several times faster than
    `csv.reader`); None when the text has a quote, a NUL, a carriage return other than in CRLF line ends, an empty
    line or a line longer than the cell size limit, where only `csv.reader` knows the answer. For every text it
    accepts, the cells are exactly `csv.reader`'s."""
    text = _plain(text)
    if text is None:
        return None
    lines = text.split("\n")
    limit = csv.field_size_limit()
    if len(text) > limit and max(map(len, lines)) > limit:  # a cell may be over the limit: csv.reader says where
        return None
    return list(map(str.split, lines, repeat(",")))


def _check_size(count: int) -> None:
    if count > MAX_ROWS_PER_REQUEST:
        raise ValidationFailed(
            f"A request may carry at most {MAX_ROWS_PER_REQUEST:,} outcomes; split the batch "
            "(each request is all-or-nothing, and re-sending a stored audit is counted as a duplicate).",
            [problem("outcomes", f"at most {MAX_ROWS_PER_REQUEST} rows per request")],
        )
