"""Exports: streamed before the last row is read, the database's CSV equal to the generic writer's, formula cells
neutralised and restored on re-upload, keyed pseudonyms on request."""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from pilots import rollups
from pilots.exports import sql as database_csv
from pilots.exports import table as generic_csv
from pilots.ingestion.export import outcomes_table
from pilots.models import Assignment, Pilot
from pilots.pseudonyms import pseudonym_for
from tests.pilots.ingestion_support import audit, make_pilot
from webui.database import sessions

# "1st" sorts between the escaped and the raw form of the triggers: the export must order by the stored id.
FORMULAS = ("=1+1", "+cmd", "-x", "@SUM(A1)", "'=quoted", 'a,"b"', "plain", "1st")


def url(pilot_id: int, what: str) -> str:
    return f"/api/v1/pilots/{pilot_id}/{what}"


def _records(count: int, moderators: tuple[str, ...]) -> list[dict]:
    return [
        audit(
            f"{FORMULAS[k % len(FORMULAS)]}-{k:05d}",
            moderators[k % len(moderators)],
            f"2026-{1 + k % 3:02d}-{10 + k % 17:02d}T{k % 24:02d}:{k % 60:02d}:07{'.25' if k % 2 else ''}Z",
            correct=k % 5 != 0,
            critical=[None, True, False][k % 3],
            handle_time_s=[None, 3.0, 42.5, 0.0, 86400, 1 / 3][k % 6],
            policy=[None, *FORMULAS][k % (len(FORMULAS) + 1)],
            auditor_id=FORMULAS[(k + 3) % len(FORMULAS)],
        )
        for k in range(count)
    ]


@pytest.fixture
def big_pilot(api, session) -> int:
    """A pilot with 1,500 moderators and 3,000 audits (before and after its start): several chunks per export."""
    moderators = tuple(f"m{k:04d}" for k in range(1500))
    pilot = make_pilot(session, moderators=moderators)
    # Every seventh moderator joined late: their audits before then are `set_aside` in both writers.
    for assignment in session.exec(select(Assignment).where(Assignment.pilot_id == pilot)):
        if int(assignment.moderator_id[1:]) % 7 == 0:
            assignment.data_from = date(2026, 2, 20)
    session.commit()
    response = api.post(url(pilot, "outcomes"), json={"outcomes": _records(3000, moderators)})
    assert response.get_json() == {"accepted": 3000, "duplicates": 0}
    return pilot


def _count_reads(monkeypatch) -> dict[str, int]:
    """Count the rows every export path reads from the database (database CSV writers and the generic writer)."""
    read = {"rows": 0}
    fetch, copy, generic = database_csv.fetch_batches, database_csv.copy_rows, generic_csv.csv_chunks

    def counted_fetch(cursor):
        for rows in fetch(cursor):
            read["rows"] += len(rows)
            yield rows

    def counted_copy(running):
        for line in copy(running):
            read["rows"] += 1
            yield line

    def counted_generic(table, *args):
        if table.csv is not None:
            return generic(table, *args)

        def rows():
            for row in table.rows():
                read["rows"] += 1
                yield row

        return generic(replace(table, rows=rows), *args)

    monkeypatch.setattr(generic_csv, "CHUNK_BYTES", 8192)  # several chunks even for the short roster rows
    monkeypatch.setattr(database_csv, "fetch_batches", counted_fetch)
    monkeypatch.setattr(database_csv, "copy_rows", counted_copy)
    monkeypatch.setattr("webui.api.formats.csv_chunks", counted_generic)
    return read


@pytest.mark.parametrize("what", ["outcomes", "units", "roster", "assignments"])
def test_first_chunk_leaves_before_the_last_row_is_read(api, big_pilot, monkeypatch, what):
    read = _count_reads(monkeypatch)
    response = api.as_("analyst").get(url(big_pilot, what) + "?format=csv", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed
    chunks = iter(response.response)
    first = next(chunks)
    read_at_first_chunk = read["rows"]
    rest = b"".join(chunks)
    response.close()
    total = len(list(csv.reader(io.StringIO((first + rest).decode(), newline="")))) - 1
    assert total >= 1500 and read["rows"] == total
    assert 0 < read_at_first_chunk < total


def test_json_export_is_streamed_too(api, big_pilot):
    response = api.as_("analyst").get(url(big_pilot, "outcomes"), buffered=False)
    chunks = list(response.response)
    response.close()
    assert len(chunks) > 2  # written in chunks, not built whole
    assert b"".join(chunks).startswith(b'{"outcomes": [{"audit_id":')


@pytest.mark.parametrize("what", ["outcomes", "units"])
def test_database_csv_equals_the_generic_writer(app, big_pilot, what):
    with app.app_context():
        factory = sessions()
        with factory() as session:
            start = session.get(Pilot, big_pilot).start_date
        table = (
            outcomes_table(factory, big_pilot, start)
            if what == "outcomes"
            else rollups.units_table(factory, big_pilot, start)
        )
        fast = b"".join(generic_csv.csv_chunks(table))
        generic = b"".join(generic_csv.csv_chunks(replace(table, csv=None)))
    assert table.csv is not None
    assert fast == generic
    assert b",set_aside," in fast and b",pre," in fast and b",pilot," in fast
    if what == "outcomes":
        assert b"\n'=1+1-" in fast and b"\n'-x-" in fast and b"\n''=quoted-" in fast


def test_formula_cells_are_neutralised_and_restored_on_reupload(api, session, big_pilot):
    exported = api.as_("analyst").get(url(big_pilot, "outcomes") + "?format=csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    for row in rows:
        for name in ("audit_id", "policy", "auditor_id"):
            assert not row[name] or row[name][0] not in "=+-@\t\r", row[name]
    other = make_pilot(session, moderators=tuple(f"m{k:04d}" for k in range(1500)), name="copy")
    assert api.post(url(other, "outcomes"), data=exported, content_type="text/csv").get_json() == {
        "accepted": 3000,
        "duplicates": 0,
    }
    original = api.as_("analyst").get(url(big_pilot, "outcomes")).get_json()["outcomes"]
    again = api.as_("analyst").get(url(other, "outcomes")).get_json()["outcomes"]
    drop = ("ingested_at", "period")  # the copy's moderators were all assigned at its launch: nothing set aside
    assert [{k: v for k, v in r.items() if k not in drop} for r in again] == [
        {k: v for k, v in r.items() if k not in drop} for r in original
    ]
    assert any(r["audit_id"].startswith("=1+1") for r in again)
    assert any(r["policy"] == "'=quoted" for r in again)


def test_pseudonymized_exports_hash_every_identifier_stably(app, api, big_pilot):
    analyst = api.as_("analyst")
    plain = analyst.get(url(big_pilot, "assignments")).get_json()["assignments"]
    hidden = analyst.get(url(big_pilot, "assignments") + "?pseudonymize=1").get_json()["assignments"]
    again = analyst.get(url(big_pilot, "assignments") + "?pseudonymize=true&format=csv")
    assert again.headers["Content-Disposition"].endswith('-pseudonymized.csv"')
    with app.app_context():
        pseudonym = pseudonym_for(app.config["SECRET_KEY"].encode(), big_pilot)
    for row, masked, csv_row in zip(
        plain, hidden, csv.DictReader(io.StringIO(again.get_data(as_text=True))), strict=True
    ):
        for name in ("moderator_id", "team", "unit_id"):
            assert masked[name] == csv_row[name] == pseudonym(row[name])
            assert masked[name].startswith("p-") and row[name] not in masked[name]
        assert masked["arm"] == row["arm"]
    units = analyst.get(url(big_pilot, "units") + "?pseudonymize=1").get_json()["units"]
    outcomes = analyst.get(url(big_pilot, "outcomes") + "?pseudonymize=1&format=csv").get_data(as_text=True)
    moderators = {m["moderator_id"] for m in hidden}
    assert {u["moderator_id"] for u in units} <= moderators
    outcome_rows = list(csv.DictReader(io.StringIO(outcomes)))
    assert {r["moderator_id"] for r in outcome_rows} <= moderators
    assert all(r["auditor_id"].startswith("p-") for r in outcome_rows)
    # Another pilot's key gives unrelated pseudonyms; the id alone (no secret) cannot reproduce them.
    with app.app_context():
        other = pseudonym_for(app.config["SECRET_KEY"].encode(), big_pilot + 1)
        no_secret = pseudonym_for(b"", big_pilot)
    assert other(plain[0]["moderator_id"]) != hidden[0]["moderator_id"] != no_secret(plain[0]["moderator_id"])


def test_pseudonymize_must_be_a_boolean(api, big_pilot):
    response = api.as_("analyst").get(url(big_pilot, "roster") + "?pseudonymize=maybe")
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "pseudonymize"


def test_a_postgresql_export_outlives_the_apps_statement_timeout(app, api, big_pilot, monkeypatch):
    """The web app bounds statements by seconds; an export's COPY runs as long as the client reads, so its
    transaction lifts the bound (a 2,000,000-row export used to be cancelled after 10 s)."""
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("SQLite has no statement timeout")
    seen: list[str] = []
    copy = database_csv._copy

    def checking(cursor, *args):
        cursor.execute("SHOW statement_timeout")
        seen.append(cursor.fetchone()[0])
        yield from copy(cursor, *args)

    monkeypatch.setattr(database_csv, "_copy", checking)
    assert api.as_("analyst").get(url(big_pilot, "outcomes") + "?format=csv").status_code == 200
    assert database_csv.EXPORT_STATEMENT_TIMEOUT_S == 3600 and seen == ["1h"]
    assert api.as_("analyst").get(url(big_pilot, "units") + "?format=csv").status_code == 200
    assert seen == ["1h", "1h"]


def test_database_csv_looks_late_joiners_up_per_row_beyond_the_listed_limit(app, big_pilot, monkeypatch):
    """Late joiners are listed in the statement up to a limit; beyond it each row looks its moderator up, with the
    same bytes."""
    from pilots.ingestion import export

    with app.app_context():
        factory = sessions()
        with factory() as session:
            start = session.get(Pilot, big_pilot).start_date
        listed = b"".join(generic_csv.csv_chunks(outcomes_table(factory, big_pilot, start)))
        monkeypatch.setattr(export, "MAX_LISTED_LATE_JOINERS", 0)
        looked_up = b"".join(generic_csv.csv_chunks(outcomes_table(factory, big_pilot, start)))
    assert looked_up == listed and b",set_aside," in listed


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_sqlite_writes_a_double_as_repr_does_or_leaves_it_to_python(value):
    statement = f"SELECT {database_csv.exact_number('value')} FROM (SELECT ? AS value)"
    written = sqlite3.connect(":memory:").execute(statement, (value,)).fetchone()[0]
    assert written is None or written == repr(value)


def test_sqlite_writes_the_handle_times_moderation_tools_record():
    """Handle times come in tenths or thousandths of a second: SQL writes them all, none falls back."""
    connection = sqlite3.connect(":memory:")
    values = [k / 10 for k in range(1, 100_000, 7)] + [k / 1000 for k in range(1, 1_000_000, 97)]
    cell = database_csv.exact_number("value")
    connection.execute("CREATE TABLE t (value REAL)")
    connection.executemany("INSERT INTO t VALUES (?)", [(value,) for value in values])
    written = [row[0] for row in connection.execute(f"SELECT {cell} FROM t ORDER BY rowid")]
    assert written == [repr(value) for value in values]


def test_sqlite_lines_fall_back_to_csv_writer_only_for_the_rows_that_need_it(app, big_pilot, monkeypatch):
    """Rows with a cell to quote or a double SQL cannot write exactly are written by `csv.writer`; the rest by
    SQLite itself (the equality with the generic writer is tested above)."""
    fallbacks: list[str] = []
    rewrite = database_csv._written_by_csv_writer

    def counting(connection, lines, params, text):
        fallbacks.extend(line for line in text.split("\n") if line.startswith(database_csv.FALLBACK))
        return rewrite(connection, lines, params, text)

    monkeypatch.setattr(database_csv, "_written_by_csv_writer", counting)
    with app.app_context():
        factory = sessions()
        with factory() as session:
            start = session.get(Pilot, big_pilot).start_date
            dialect = session.connection().dialect.name
        written = b"".join(generic_csv.csv_chunks(outcomes_table(factory, big_pilot, start)))
    if dialect != "sqlite":
        pytest.skip("PostgreSQL writes the export with COPY")
    rows = list(csv.reader(io.StringIO(written.decode(), newline="")))[1:]
    to_quote = sum(any(c in cell for c in ',"\n\r' for cell in row) for row in rows)
    inexact = sum(row[5] in ("0.0", repr(1 / 3)) for row in rows)
    assert to_quote + inexact >= len(fallbacks) >= max(to_quote, inexact) > 0
    assert len(fallbacks) < len(rows)  # the others were written by SQLite
