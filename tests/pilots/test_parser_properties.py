"""Property tests (hypothesis) for every parser on the roster and outcome paths: CSV and JSON bodies, path ids and
dates. Whatever the input, a parser returns a result or raises ValidationFailed (a 4xx), never anything else; and
for valid input the JSON and CSV forms of the same data give the same rows."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from werkzeug.routing import ValidationError as RouteMismatch

from pilots import identifiers
from pilots.errors import PilotLabError, ValidationFailed
from pilots.ingestion import csv_rows, json_records, parse_csv_rows, parse_json_records
from pilots.ingestion.fields import FIELDS, make_window
from pilots.roster.upload import parse_upload
from pilots.schemas.fields import PlanDate
from webui.converters import IdConverter

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODERATORS = ("m01", "m02", "jos\u00e9")
WINDOW = make_window(frozenset(MODERATORS), date(2026, 1, 5), date(2026, 3, 29), datetime(2026, 6, 1, tzinfo=UTC))

_VISIBLE = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))
identifier = (
    st.text(_VISIBLE, min_size=1, max_size=12)
    .map(lambda s: unicodedata.normalize("NFC", s))
    .filter(lambda s: identifiers.clean(s) == s and len(s) <= 50)
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _rejects_or_parses(parse, *args) -> None:
    try:
        parse(*args)
    except PilotLabError as error:
        assert 400 <= error.http_status < 500


@FAST
@given(st.binary(max_size=400), st.sampled_from(["text/csv", "application/json"]))
def test_roster_parser_never_fails_otherwise(body, content_type):
    _rejects_or_parses(parse_upload, body, content_type)


@FAST
@given(st.lists(st.dictionaries(st.sampled_from(["moderator_id", "team", "site", "tenure_months", "x"]), json_value)))
def test_roster_json_records_never_fail_otherwise(records):
    _rejects_or_parses(parse_upload, json.dumps({"moderators": records}).encode(), "application/json")


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {"moderator_id": identifier, "team": identifier, "site": identifier, "language": identifier}
        ),
        min_size=1,
        max_size=8,
        unique_by=lambda row: unicodedata.normalize("NFC", row["moderator_id"]),
    )
)
def test_roster_json_and_csv_agree(rows):
    from_json = parse_upload(json.dumps({"moderators": rows}).encode(), "application/json")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["moderator_id", "team", "site", "language", "tenure_months"])
    writer.writeheader()
    writer.writerows(rows)
    from_csv = parse_upload(buffer.getvalue().encode(), "text/csv")
    assert [row.values() for row in from_json] == [row.values() for row in from_csv]
    assert [row.moderator_id for row in from_json] == [row["moderator_id"] for row in rows]


@FAST
@given(st.binary(max_size=400))
def test_outcome_bodies_never_fail_otherwise(body):
    _rejects_or_parses(lambda data: parse_json_records(json_records(data), WINDOW), body)
    _rejects_or_parses(lambda data: parse_csv_rows(*reversed(csv_rows(data)), WINDOW), body)


@FAST
@given(st.lists(st.dictionaries(st.sampled_from([*FIELDS, "extra"]), json_value, max_size=9), max_size=6))
def test_outcome_records_never_fail_otherwise(records):
    _rejects_or_parses(parse_json_records, records, WINDOW)


audit_record = st.fixed_dictionaries(
    {
        "audit_id": identifier,
        "moderator_id": st.sampled_from(MODERATORS),
        "audited_at": st.datetimes(datetime(2026, 1, 5), datetime(2026, 3, 29, 23, 59), timezones=st.just(UTC)).map(
            lambda moment: moment.isoformat()
        ),
        "correct": st.booleans(),
        "critical": st.none() | st.booleans(),
        "handle_time_s": st.none() | st.floats(0, 86_400),
        "policy": st.none() | identifier,
        "queue": st.none() | identifier,
        "auditor_id": st.none() | identifier,
    }
)


@FAST
@given(st.lists(audit_record, min_size=1, max_size=8, unique_by=lambda record: record["audit_id"]))
def test_outcome_json_and_csv_agree(records):
    from_json = parse_json_records(records, WINDOW)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, FIELDS)
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in record.items()})
    layout, rows = csv_rows(buffer.getvalue().encode())
    assert from_json.rows == parse_csv_rows(rows, layout, WINDOW).rows


@FAST
@given(st.text(max_size=25))
def test_path_ids_accept_exactly_canonical_ascii_decimals(text):
    converter = IdConverter(None)
    import re

    matches = re.fullmatch(converter.regex, text) is not None
    canonical = text.isascii() and text.isdigit() and text == str(int(text)) and int(text) > 0 and len(text) <= 18
    assert matches == canonical
    if matches:
        assert converter.to_python(text) == int(text) and converter.to_url(int(text)) == text
    else:
        with pytest.raises((RouteMismatch, ValueError)):
            if not text.isascii() or not text.isdigit():
                converter.to_python(text)
            else:
                raise ValueError("not canonical")


@FAST
@given(st.text(max_size=20) | st.dates().map(date.isoformat) | st.integers())
def test_dates_are_exactly_yyyy_mm_dd(value):
    adapter = TypeAdapter(PlanDate)
    try:
        parsed = adapter.validate_python(value)
    except ValidationError:
        return
    assert isinstance(value, str) and parsed.isoformat() == value


def test_validation_failed_is_a_4xx():
    assert ValidationFailed("x").http_status == 422
