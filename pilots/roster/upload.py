"""Reading and validating an uploaded roster (JSON or CSV). Nothing here touches the database.

Formats
- JSON: `{"moderators": [{"moderator_id": "m1", "team": "t1", "site": "Manila", "language": "en",
  "tenure_months": 14, "baseline_accuracy": 0.93, ...}, ...]}`. Only `moderator_id` is required; any key besides
  the core columns is an extra attribute (stored, usable as a stratum, reported in the balance).
- CSV (UTF-8, optional BOM): a header that names at least the core columns `moderator_id, team, site, language,
  tenure_months` (values may be empty), extra columns are extra attributes. A missing core column is rejected rather
  than guessed, so a misspelt `tenure` cannot silently become an attribute. Empty cells are missing values; extra
  attribute cells that look like plain decimal numbers (`3`, `-2`, `0.91`, not `007`) are read as numbers. Text
  cells that our export escaped against formula injection (`'=...`, see `pilots.csv_safety`) are restored first.

Text values (ids, team, site, language, extra text attributes) follow `pilots.identifiers`: control, zero-width and
bidirectional-control characters are refused, and values are stored in Unicode NFC, as outcome ids are.

Rows are numbered from 1 over the records (the CSV header is not a row). Any bad row rejects the whole upload with
every problem listed (the first 100 in the response).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pilots import identifiers
from pilots.assignment.strata import BANDS
from pilots.csv_safety import unescape
from pilots.errors import ValidationFailed, problem
from pilots.schemas.fields import RESERVED_ATTRIBUTES

CORE_COLUMNS = ("moderator_id", "team", "site", "language", "tenure_months")
MAX_ROWS = 50_000
MAX_ATTRIBUTES = 20
MAX_TENURE_MONTHS = 1200
TEXT_LIMITS = {"moderator_id": 100, "team": 100, "site": 100, "language": 50}
MAX_ATTRIBUTE_TEXT = 100
RESERVED = RESERVED_ATTRIBUTES
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,49}$")
_DECIMAL = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


@dataclass(frozen=True)
class RosterRow:
    """One validated moderator of an upload."""

    moderator_id: str
    team: str = ""
    site: str = ""
    language: str = ""
    tenure_months: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """The row as stored: core columns plus the attributes dict."""
        return {
            "moderator_id": self.moderator_id,
            "team": self.team,
            "site": self.site,
            "language": self.language,
            "tenure_months": self.tenure_months,
            "attributes": dict(self.attributes),
        }


def parse_upload(body: bytes, content_type: str | None) -> list[RosterRow]:
    """Validated rows of a JSON or CSV upload (chosen by `content_type`); ValidationFailed on any problem."""
    kind = (content_type or "").split(";")[0].strip().lower()
    text = _decode(body)
    records = read_csv(text) if kind == "text/csv" else read_json(text)
    return validate_records(records)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            "The upload is not valid UTF-8.", [problem("body", f"invalid UTF-8 byte at offset {error.start}")]
        ) from error


def read_json(text: str) -> list[Any]:
    """The `moderators` array of a JSON document."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationFailed("The body is not valid JSON.", [problem("body", str(error))]) from error
    except RecursionError as error:  # nesting deeper than the interpreter's recursion limit
        raise ValidationFailed("The body is nested too deeply.", [problem("body", "is nested too deeply")]) from error
    if not isinstance(document, dict) or not isinstance(document.get("moderators"), list):
        raise ValidationFailed(
            'Send {"moderators": [...]} as JSON, or the roster as text/csv.',
            [problem("moderators", "must be an array of moderator objects")],
        )
    return document["moderators"]


def read_csv(text: str) -> list[dict[str, Any]]:
    """The CSV's records as dicts (empty cells dropped, decimal-looking extra cells as numbers)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise ValidationFailed("The CSV could not be read.", [problem("body", str(error))]) from error
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValidationFailed("The roster is empty.", [problem("moderators", "the CSV has no header and no rows")])
    header = [name.strip() for name in rows[0]]
    problems = [problem(name, "is a required CSV column") for name in CORE_COLUMNS if name not in header]
    problems += [problem(name, "appears more than once in the header") for name in sorted(_duplicates(header))]
    if any(not name for name in header):
        problems.append(problem("header", "has an empty column name"))
    if problems:
        raise ValidationFailed("The CSV header is incomplete or ambiguous.", problems)
    records: list[dict[str, Any]] = []
    for number, cells in enumerate(rows[1:], start=1):
        if len(cells) != len(header):
            records.append(_BadShape(len(cells), len(header), number))
            continue
        record = {}
        for name, cell in zip(header, cells, strict=True):
            if cell.strip() == "":
                continue
            record[name] = _cell(name, unescape(cell.strip()))
        records.append(record)
    return records


def _cell(name: str, cell: str) -> Any:
    if name in CORE_COLUMNS or not _DECIMAL.match(cell):
        return cell
    return float(cell) if "." in cell else int(cell)


class _BadShape(dict):
    """A CSV line with the wrong number of cells, kept in place so the problem gets its row number."""

    def __init__(self, found: int, expected: int, row: int) -> None:
        super().__init__()
        self.message = f"has {found} cells but the header has {expected}"
        self.row = row


def _duplicates(names: list[str]) -> set[str]:
    seen, repeated = set(), set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    return repeated


def validate_records(records: list[Any]) -> list[RosterRow]:
    """Rows from raw records, or ValidationFailed listing `{row, field, message}` for every problem."""
    if not records:
        raise ValidationFailed("The roster is empty.", [problem("moderators", "must contain at least one moderator")])
    if len(records) > MAX_ROWS:
        raise ValidationFailed(
            f"A roster upload holds at most {MAX_ROWS} moderators.",
            [problem("moderators", f"has {len(records)} rows (at most {MAX_ROWS})")],
        )
    problems: list[dict[str, Any]] = []
    rows: list[RosterRow] = []
    first_row: dict[str, int] = {}
    for number, record in enumerate(records, start=1):
        found: list[dict[str, Any]] = []
        row = _validate_record(record, number, found)
        if row is not None and row.moderator_id in first_row:
            found.append(
                problem("moderator_id", f"duplicates row {first_row[row.moderator_id]} ({row.moderator_id!r})", number)
            )
        if row is not None:
            first_row.setdefault(row.moderator_id, number)
        problems += found
        if not found and row is not None:
            rows.append(row)
    if problems:
        raise ValidationFailed(f"{_count(len(problems), 'problem')} in the roster; nothing was saved.", problems)
    return rows


def _validate_record(record: Any, row: int, found: list[dict[str, Any]]) -> RosterRow | None:
    if isinstance(record, _BadShape):
        found.append(problem("row", record.message, row))
        return None
    if not isinstance(record, dict):
        found.append(problem("moderators", "must be an object", row))
        return None
    moderator_id = record.get("moderator_id")
    if isinstance(moderator_id, int) and not isinstance(moderator_id, bool):
        moderator_id = str(moderator_id)
    if not isinstance(moderator_id, str) or not moderator_id.strip():
        found.append(problem("moderator_id", "is required (a non-empty string)", row))
        moderator_id = None
    texts = {name: _text(record.get(name), name, row, found) for name in ("team", "site", "language")}
    if moderator_id is not None:
        moderator_id = _text(moderator_id, "moderator_id", row, found)
    tenure = _number(record.get("tenure_months"), "tenure_months", row, found, 0, MAX_TENURE_MONTHS)
    attributes = _attributes(record, row, found)
    if moderator_id is None:
        return None
    return RosterRow(moderator_id, texts["team"], texts["site"], texts["language"], tenure, attributes)


def _text(value: Any, name: str, row: int, found: list[dict[str, Any]]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        found.append(problem(name, f"must be a string, got {type(value).__name__}", row))
        return ""
    value = _identifier(value.strip(), name, row, found)
    if len(value) > TEXT_LIMITS[name]:
        found.append(problem(name, f"is {len(value)} characters long (at most {TEXT_LIMITS[name]})", row))
    return value


def _identifier(value: str, name: str, row: int, found: list[dict[str, Any]]) -> str:
    """`value` in NFC, or a problem naming the refused character (the rule of `pilots.identifiers`)."""
    cleaned = identifiers.clean(value)
    if cleaned is None:
        found.append(problem(name, identifiers.problem(value) or "is not a usable identifier", row))
        return value
    return cleaned


def _number(value: Any, name: str, row: int, found: list, low: float, high: float) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            found.append(problem(name, f"must be a number, got {value.strip()[:40]!r}", row))
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        found.append(problem(name, f"must be a finite number, got {value!r}", row))
        return None
    if not low <= value <= high:
        found.append(problem(name, f"must be between {low:g} and {high:g}, got {value:g}", row))
        return None
    return float(value)


def _attributes(record: dict[str, Any], row: int, found: list[dict[str, Any]]) -> dict[str, Any]:
    extra = {name: value for name, value in record.items() if name not in CORE_COLUMNS and value is not None}
    if len(extra) > MAX_ATTRIBUTES:
        found.append(problem("attributes", f"has {len(extra)} extra attributes (at most {MAX_ATTRIBUTES})", row))
        return {}
    attributes: dict[str, Any] = {}
    for name, value in sorted(extra.items()):
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            found.append(problem(str(name)[:60], "is not a usable attribute name (letters, digits, _; reserved)", row))
        elif name in BANDS:
            number = _number(value, name, row, found, 0, 1)
            if number is not None:
                attributes[name] = number
        elif isinstance(value, str):
            value = _identifier(value.strip(), name, row, found)
            if len(value) > MAX_ATTRIBUTE_TEXT:
                found.append(problem(name, f"is {len(value)} characters long (at most {MAX_ATTRIBUTE_TEXT})", row))
            elif value:
                attributes[name] = value
        elif isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
            attributes[name] = value
        else:
            found.append(problem(name, "must be a string, number or boolean", row))
    return attributes


def _count(n: int, noun: str) -> str:
    """``1 problem``, ``3 problems``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
