"""Field rules of the parser (no database): JSON strict types, CSV text cells, headers, limits."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from pilots.errors import PilotLabError, ValidationFailed
from pilots.ingestion import csv_rows, json_records, layout_for, parse_csv_rows, parse_json_records
from pilots.ingestion.bodies import MAX_ROWS_PER_REQUEST, MalformedBody
from pilots.ingestion.fields import make_window
from tests.pilots.ingestion_support import audit

WINDOW = make_window(frozenset({"m01", "m02"}), date(2026, 1, 5), date(2026, 3, 29), datetime(2026, 6, 1, tzinfo=UTC))


def problems_json(**changes):
    with pytest.raises(ValidationFailed) as caught:
        parse_json_records([{**audit("a1"), **changes}], WINDOW)
    return [(p["field"], p["message"]) for p in caught.value.details]


def csv_batch(text: str):
    layout, rows = csv_rows(text.encode())
    return parse_csv_rows(rows, layout, WINDOW)


def csv_problems(text: str):
    with pytest.raises(ValidationFailed) as caught:
        csv_batch(text)
    return caught.value.details


def test_json_row_is_normalized():
    (row,) = parse_json_records([audit("a1", audited_at="2026-02-10T01:00:00+05:00", policy="")], WINDOW).rows
    assert row.audited_at == "2026-02-09 20:00:00.000000"
    assert row.day == "2026-02-09"
    assert row.policy is None
    assert row.handle_time_s == 42.5


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("2026-02-10T08:15:12Z", "2026-02-10 08:15:12.000000"),
        ("2026-02-10T08:15:12+00:00", "2026-02-10 08:15:12.000000"),
        ("2026-02-10 08:15:12.5-01:30", "2026-02-10 09:45:12.500000"),
        ("20260210T081512.123Z", "2026-02-10 08:15:12.123000"),
        ("20260210T081512.123+00:00", "2026-02-10 08:15:12.123000"),
    ],
)
def test_timestamps_become_canonical_utc_text(given, canonical):
    (row,) = parse_json_records([audit("a1", audited_at=given)], WINDOW).rows
    assert (row.audited_at, row.day) == (canonical, canonical[:10])


def test_optional_fields_may_be_absent_or_null():
    record = {"audit_id": "a1", "moderator_id": "m01", "audited_at": "2026-02-10T00:00:00Z", "correct": False}
    (row,) = parse_json_records([record, {**record, "audit_id": "a2", "critical": None}], WINDOW).rows[:1]
    assert (row.critical, row.handle_time_s, row.queue) == (None, None, None)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"correct": 1}, "correct", "true or false"),
        ({"correct": "true"}, "correct", "true or false"),
        ({"critical": "false"}, "critical", "true or false"),
        ({"handle_time_s": "12.5"}, "handle_time_s", "must be a number, got a string"),
        ({"handle_time_s": True}, "handle_time_s", "must be a number"),
        ({"handle_time_s": -1}, "handle_time_s", "between 0"),
        ({"handle_time_s": float("nan")}, "handle_time_s", "finite"),
        ({"handle_time_s": float("inf")}, "handle_time_s", "finite"),
        ({"handle_time_s": 10**400}, "handle_time_s", "finite"),
        ({"audit_id": 17}, "audit_id", "must be a string"),
        ({"audit_id": ""}, "audit_id", "is required"),
        ({"audit_id": "x" * 101}, "audit_id", "at most 100"),
        ({"policy": "p" * 5000}, "policy", "at most 100"),
        ({"queue": "a\x00b"}, "queue", "NUL"),
        ({"policy": False}, "policy", "must be a string"),
        ({"moderator_id": ["m01"]}, "moderator_id", "must be a string"),
        ({"moderator_id": "m99"}, "moderator_id", "not an assigned moderator"),
        ({"audited_at": 1760000000}, "audited_at", "ISO 8601 string"),
        ({"extra": 1}, "extra", "not a known field"),
    ],
)
def test_json_type_rules(changes, field, words):
    found = problems_json(**changes)
    assert any(f == field and words in m for f, m in found), found


def test_missing_required_fields_are_each_named():
    with pytest.raises(ValidationFailed) as caught:
        parse_json_records([{"policy": "spam"}, "not an object"], WINDOW)
    fields = [(p["row"], p["field"]) for p in caught.value.details]
    assert fields == [(1, "audit_id"), (1, "moderator_id"), (1, "audited_at"), (1, "correct"), (2, "row")]


def test_problems_are_capped_at_100_but_counted():
    with pytest.raises(ValidationFailed) as caught:
        parse_json_records([audit(f"a{k}", correct=None) for k in range(250)], WINDOW)
    assert len(caught.value.details) == 100
    assert caught.value.total == 250
    assert "250 problems" in caught.value.message


def test_export_only_columns_are_ignored():
    record = {**audit("a1"), "day": "2026-02-10", "period": "pilot", "ingested_at": "x", "arm": "control"}
    assert len(parse_json_records([record], WINDOW).rows) == 1


@pytest.mark.parametrize(
    "body", [b"{", b"[1, 2", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b"NaN-ish", b'{"outcomes": [}']
)
def test_malformed_json_bodies_are_400(body):
    with pytest.raises(MalformedBody):
        json_records(body)


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"[]", "body"), (b'{"rows": []}', "rows"), (b'{"outcomes": {}}', "outcomes"), (b'"x"', "body")],
)
def test_wrong_json_shapes_are_422(body, field):
    with pytest.raises(ValidationFailed) as caught:
        json_records(body)
    assert field in [p["field"] for p in caught.value.details]


def test_row_limit():
    body = json.dumps({"outcomes": [{}] * (MAX_ROWS_PER_REQUEST + 1)}).encode()
    with pytest.raises(ValidationFailed) as caught:
        json_records(body)
    assert "at most 50,000" in caught.value.message


def test_csv_booleans_and_empty_cells():
    text = (
        "audit_id,moderator_id,audited_at,correct,critical,handle_time_s\n"
        "a1,m01,2026-02-10T00:00:00Z,true,1,3.5\n"
        "a2,m01,2026-02-10T00:00:00Z,0,,\n"
        "a3,m02,2026-02-10T00:00:00Z,FALSE,True,0\n"
    )
    rows = csv_batch(text).rows
    assert [(r.correct, r.critical, r.handle_time_s, r.policy) for r in rows] == [
        (True, True, 3.5, None),
        (False, None, None, None),
        (False, True, 0.0, None),
    ]


@pytest.mark.parametrize(
    ("cells", "field", "words"),
    [
        ("a1,m01,2026-02-10T00:00:00Z,yes,,", "correct", "true, false, 1 or 0"),
        ("a1,m01,2026-02-10T00:00:00Z,true,maybe,", "critical", "true, false, 1 or 0"),
        ("a1,m01,2026-02-10T00:00:00Z,true,,abc", "handle_time_s", "must be a number"),
        ("a1,m01,2026-02-10T00:00:00Z,true,,nan", "handle_time_s", "finite"),
        ("a1,m01,2026-02-10T00:00:00Z,true,,-inf", "handle_time_s", "finite"),
        ("a1,m01,2026-02-10,true,,", "audited_at", "time zone"),
        (",m01,2026-02-10T00:00:00Z,true,,", "audit_id", "is required"),
        ("a1,m01,2026-02-10T00:00:00Z,true", "row", "has 4 cells"),
    ],
)
def test_csv_cell_rules(cells, field, words):
    details = csv_problems("audit_id,moderator_id,audited_at,correct,critical,handle_time_s\n" + cells + "\n")
    assert details[0]["row"] == 1
    assert details[0]["field"] == field
    assert words in details[0]["message"]


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("", "expected a header"),
        ("audit_id,moderator_id,audited_at", "'correct' is missing"),
        ("audit_id,moderator_id,audited_at,correct,handle_time", "unknown column 'handle_time'"),
        ("audit_id,audit_id,moderator_id,audited_at,correct", "appears 2 times"),
    ],
)
def test_csv_header_problems(header, words):
    with pytest.raises(ValidationFailed) as caught:
        layout_for(next(csv.reader(io.StringIO(header)), None))
    assert any(words in p["message"] for p in caught.value.details), caught.value.details


def test_csv_columns_in_any_order_with_a_bom():
    text = "\ufeffcorrect,audited_at,moderator_id,audit_id\r\n1,2026-02-10T00:00:00Z,m01,a1\r\n"
    assert csv_batch(text).rows[0].audit_id == "a1"


def test_csv_not_utf8_is_400():
    with pytest.raises(PilotLabError) as caught:
        csv_rows(b"audit_id,moderator_id,audited_at,correct\n\xff\xfe,m01,x,1\n")
    assert caught.value.http_status == 400


def test_csv_oversized_cell_is_a_row_problem():
    text = "audit_id,moderator_id,audited_at,correct\n" + "a" * (2 * 1024 * 1024) + ",m01,x,1\n"
    with pytest.raises(ValidationFailed) as caught:
        csv_rows(text.encode())
    assert caught.value.details[0]["row"] == 1
