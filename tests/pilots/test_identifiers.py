"""Identifiers in the roster and the outcomes: invisible and control characters refused with the row and field named,
look-alike spellings stored as one (Unicode NFC), the same rule on every path (JSON, CSV, fast and per-row)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pilots import identifiers
from pilots.errors import ValidationFailed
from pilots.ingestion import csv_rows, parse_csv_rows, parse_json_records
from pilots.ingestion.fields import TEXT_FIELDS, make_window
from pilots.roster.upload import parse_upload
from tests.pilots.ingestion_support import audit

COMPOSED = "jos\u00e9"  # é as one code point
DECOMPOSED = "jose\u0301"  # e + combining acute accent
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WINDOW = make_window(frozenset({"m01", COMPOSED}), date(2026, 1, 5), date(2026, 3, 29), NOW)

REFUSED = {
    "NUL": "a\x00b",
    "tab": "a\tb",
    "newline": "a\nb",
    "C1 control": "a\x85b",
    "zero-width space": "a\u200bb",
    "zero-width joiner": "a\u200db",
    "byte-order mark": "\ufeffab",
    "right-to-left override": "a\u202eb",
    "left-to-right isolate": "a\u2066b",
    "right-to-left mark": "ab\u200f",
    "no-break space": "a\u00a0b",
    "Hangul filler": "a\u3164b",
}


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_refused_characters_are_named(value):
    assert identifiers.clean(value) is None
    assert identifiers.clean_column(["fine", value]) is None
    message = identifiers.problem(value)
    assert message is not None and "U+" in message


def test_plain_and_accented_text_is_accepted_and_composed():
    assert identifiers.clean("m 01-x_y.z") == "m 01-x_y.z"
    assert identifiers.problem("m 01") is None
    assert identifiers.clean(DECOMPOSED) == COMPOSED
    assert identifiers.clean_column(["m01", DECOMPOSED]) == ["m01", COMPOSED]


@given(st.text(max_size=30))
def test_clean_and_clean_column_agree_with_problem(value):
    cleaned = identifiers.clean(value)
    assert (cleaned is None) == (identifiers.problem(value) is not None)
    assert identifiers.clean_column([value]) == (None if cleaned is None else [cleaned])
    if cleaned is not None:
        assert unicodedata.is_normalized("NFC", cleaned)
        assert identifiers.clean(cleaned) == cleaned


@pytest.mark.parametrize("name", ["audit_id", "policy", "queue", "auditor_id"])
@pytest.mark.parametrize("value", ["a\x00b", "a\u202eb", "a\u200bb", "a\x1bb"])
def test_outcome_identifiers_refused_on_json_and_csv(name, value):
    records = [audit("a1"), {**audit("a2"), name: value}]
    with pytest.raises(ValidationFailed) as caught:
        parse_json_records(records, WINDOW)
    assert [(p["row"], p["field"]) for p in caught.value.details] == [(2, name)]
    assert "U+" in caught.value.details[0]["message"]
    header = ",".join(TEXT_FIELDS) + ",audited_at,correct\n"
    row = {field: "x" for field in TEXT_FIELDS} | {"audit_id": "a2", "moderator_id": "m01", name: value}
    text = header + ",".join(f'"{row[field]}"' for field in TEXT_FIELDS) + ",2026-02-10T09:30:00Z,true\n"
    layout, rows = csv_rows(text.encode())
    with pytest.raises(ValidationFailed) as caught:
        parse_csv_rows(rows, layout, WINDOW)
    assert [(p["row"], p["field"]) for p in caught.value.details] == [(1, name)]


def test_outcome_identifiers_are_stored_composed_on_every_path():
    many = [audit(f"a{k}", moderator_id=DECOMPOSED, queue="file d" + "e\u0301") for k in range(3)]
    fast = parse_json_records(many, WINDOW)  # the column-wise fast path
    per_row = parse_json_records([*many, many[0]], WINDOW)  # a repeated audit: the per-row path decides
    for batch in (fast, per_row):
        assert [(row.moderator_id, row.queue) for row in batch.rows] == [(COMPOSED, "file d\u00e9")] * 3
    text = f"audit_id,moderator_id,audited_at,correct\nx{DECOMPOSED},{DECOMPOSED},2026-02-10T09:30:00Z,true\n"
    layout, rows = csv_rows(text.encode())
    (row,) = parse_csv_rows(rows, layout, WINDOW).rows
    assert (row.audit_id, row.moderator_id) == (f"x{COMPOSED}", COMPOSED)


def test_look_alike_audit_ids_are_one_audit():
    batch = parse_json_records([audit(f"a-{COMPOSED}"), audit(f"a-{DECOMPOSED}")], WINDOW)
    assert (len(batch.rows), batch.duplicates) == (1, 1)


@pytest.mark.parametrize("name", ["moderator_id", "team", "site", "language", "shift"])
@pytest.mark.parametrize("value", ["m\x00", "m\u202e1", "m\u200b", "m\x07"])
def test_roster_identifiers_refused_naming_row_and_field(name, value):
    rows = [{"moderator_id": "m1"}, {"moderator_id": "m2", name: value}]
    with pytest.raises(ValidationFailed) as caught:
        parse_upload(_json({"moderators": rows}), "application/json")
    assert [(p["row"], p["field"]) for p in caught.value.details] == [(2, name)]
    text = f"moderator_id,team,site,language,tenure_months,shift\nm1,,,,,\n{_csv_row(name, value)}\n"
    with pytest.raises(ValidationFailed) as caught:
        parse_upload(text.encode(), "text/csv")
    assert [(p["row"], p["field"]) for p in caught.value.details] == [(2, name)]


def test_six_look_alike_josés_are_one_moderator():
    spellings = [COMPOSED, DECOMPOSED, unicodedata.normalize("NFKC", DECOMPOSED), f" {COMPOSED}", COMPOSED + " "]
    rows = [{"moderator_id": spelling} for spelling in [*spellings, DECOMPOSED]]
    with pytest.raises(ValidationFailed) as caught:
        parse_upload(_json({"moderators": rows}), "application/json")
    assert {p["row"] for p in caught.value.details} == {2, 3, 4, 5, 6}
    assert all("duplicates row 1" in p["message"] for p in caught.value.details)
    (row,) = parse_upload(_json({"moderators": [{"moderator_id": DECOMPOSED, "site": "Montr\u0065\u0301al"}]}), None)
    assert (row.moderator_id, row.site) == (COMPOSED, "Montr\u00e9al")


def _json(document) -> bytes:
    import json

    return json.dumps(document).encode()


def _csv_row(name: str, value: str) -> str:
    cells = {"moderator_id": "m2", "team": "", "site": "", "language": "", "tenure_months": "", "shift": ""}
    cells[name] = value
    return ",".join(f'"{cell}"' for cell in cells.values())
