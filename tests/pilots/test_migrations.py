"""Schema migrations keep data: migration 0003 re-keys `unit_day` by day (and, on SQLite, makes it WITHOUT ROWID)
and back again, with every rollup row intact and upserts still matching the key. Runs on a scratch database of the
same kind as the suite's (a temporary SQLite file, or a scratch PostgreSQL database beside the test one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import psycopg
import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from pilots import rollups
from pilots.db import make_engine
from pilots.migrate import current_revision, downgrade, upgrade
from pilots.models import Pilot

ROWS = {("m2", "2026-03-03"): [3, 2, 3, 0, 3, 120.0, 5000.0], ("m1", "2026-03-02"): [2, 2, 2, 1, 2, 80.0, 3300.0]}


@pytest.fixture
def scratch_url(tmp_path) -> Iterator[str]:
    suite = os.environ.get("PILOTLAB_TEST_DATABASE_URL", "")
    if not suite.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    url = make_url(suite)
    name = f"{url.database}_migrations"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _old_pilot(connection, status: str, seed: int = 20240611) -> int:
    """A pilot row written with the columns every revision has (the ORM model may have more than an old schema)."""
    values = {
        "name": "Pilot",
        "kind": "ab",
        "hypothesis": "",
        "owner": "pm-user",
        "unit": "moderator",
        "arms": '[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}]',
        "strata": "[]",
        "seed": seed,
        "metrics": "[]",
        "design": "{}",
        "start_date": date(2024, 6, 1),
        "end_date": date(2024, 7, 1),
        "status": status,
        "data_version": 0,
        "created_at": datetime(2024, 5, 1, tzinfo=UTC),
        "updated_at": datetime(2024, 5, 1, tzinfo=UTC),
    }
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    inserted = connection.execute(text(f"INSERT INTO pilot ({columns}) VALUES ({marks}) RETURNING id"), values)
    return inserted.scalar_one()


def test_0006_backfills_data_from_with_the_cutoff_rule_and_marks_nothing_simulated(scratch_url):
    upgrade(scratch_url, "0005")
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        pilot_id = _old_pilot(session.connection(), "running")
        for moderator, at in (("m1", "2024-06-01 00:00:00"), ("m2", "2024-06-01 10:30:00")):
            session.execute(
                text(
                    "INSERT INTO assignment (pilot_id, moderator_id, unit_id, arm, stratum, sequence, late_joiner, "
                    "assigned_at) VALUES (:pilot, :m, :m, 'control', 'all', 0, false, :at)"
                ),
                {"pilot": pilot_id, "m": moderator, "at": at},
            )
        session.commit()
    engine.dispose()
    for _ in range(2):  # and again after a round trip through the downgrade
        upgrade(scratch_url, "0006")
        assert current_revision(scratch_url) == "0006"
        engine = make_engine(scratch_url)
        with engine.connect() as connection:
            days = connection.execute(
                text("SELECT moderator_id, CAST(data_from AS TEXT) FROM assignment ORDER BY 1")
            ).all()
            pilot = connection.execute(text("SELECT simulated, information_plan FROM pilot")).one()
        engine.dispose()
        assert [tuple(row) for row in days] == [("m1", "2024-06-01"), ("m2", "2024-06-02")]
        assert not pilot[0] and pilot[1] is None
        downgrade(scratch_url, "0005")


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _state(url: str) -> tuple[list[str], list[tuple]]:
    with _engine(url) as engine, engine.connect() as connection:
        key = inspect(engine).get_pk_constraint("unit_day")["constrained_columns"]
        rows = connection.execute(
            text("SELECT moderator_id, CAST(day AS TEXT), audits, correct, handle_sum FROM unit_day ORDER BY 1")
        ).all()
        return key, [tuple(row) for row in rows]


def test_unit_day_rekey_round_trip_keeps_every_row(scratch_url):
    upgrade(scratch_url, "0002")
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        pilot_id = _old_pilot(session.connection(), "draft")
        rollups.add(session.connection(), pilot_id, ROWS)
        session.commit()
    engine.dispose()
    before = [("m1", "2026-03-02", 2, 2, 80.0), ("m2", "2026-03-03", 3, 2, 120.0)]
    assert _state(scratch_url) == (["pilot_id", "moderator_id", "day"], before)

    upgrade(scratch_url, "0003")
    assert current_revision(scratch_url) == "0003"
    assert _state(scratch_url) == (["pilot_id", "day", "moderator_id"], before)
    engine = make_engine(scratch_url)
    indexes = {index["name"] for index in inspect(engine).get_indexes("unit_day")}
    if engine.dialect.name == "sqlite":  # rows stored in key order with every column: no covering index needed
        with engine.connect() as connection:
            ddl = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'unit_day'")).scalar_one()
        assert "WITHOUT ROWID" in ddl and "ix_unit_day_results" not in indexes
    else:
        assert "ix_unit_day_results" in indexes
    engine.dispose()
    engine = make_engine(scratch_url)
    with Session(engine) as session:  # the upsert still matches the re-ordered key: sums add up
        rollups.add(session.connection(), pilot_id, {("m1", "2026-03-02"): [1, 1, 1, 0, 1, 40.0, 1600.0]})
        session.commit()
    engine.dispose()
    added = [("m1", "2026-03-02", 3, 3, 120.0), before[1]]
    assert _state(scratch_url)[1] == added

    downgrade(scratch_url, "0002")
    assert _state(scratch_url) == (["pilot_id", "moderator_id", "day"], added)
    upgrade(scratch_url, "0003")
    assert _state(scratch_url) == (["pilot_id", "day", "moderator_id"], added)


def _pilots(url: str) -> dict[str, int | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT status, seed FROM pilot")).all())
    finally:
        engine.dispose()


def test_seeds_of_drafts_are_cleared_and_collaborators_added_then_back(scratch_url):
    """0004: drafts lose the seed chosen when they were made (launch draws one); launched pilots keep theirs."""
    upgrade(scratch_url, "0003")
    engine = make_engine(scratch_url)
    with engine.begin() as connection:
        _old_pilot(connection, "draft", seed=11)
        _old_pilot(connection, "running", seed=22)
    engine.dispose()

    upgrade(scratch_url, "0004")
    assert _pilots(scratch_url) == {"draft": None, "running": 22}
    engine = make_engine(scratch_url)
    assert "pilot_collaborator" in inspect(engine).get_table_names()
    assert {c["name"]: c["nullable"] for c in inspect(engine).get_columns("pilot")}["seed"] is True
    engine.dispose()

    downgrade(scratch_url, "0003")
    assert _pilots(scratch_url) == {"draft": 0, "running": 22}
    engine = make_engine(scratch_url)
    assert "pilot_collaborator" not in inspect(engine).get_table_names()
    engine.dispose()


_OLD_AUDIT = (
    "INSERT INTO outcome (pilot_id, audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, "
    "policy, queue, auditor_id, ingested_at) VALUES (:pilot, 'a1', 'm1', '2026-03-02 10:00:00', '2026-03-02', "
    ":yes, NULL, 12.5, 'spam', 'en', 'qa-1', '2026-03-02 11:00:00')"
)


def _audits(url: str) -> list[tuple]:
    with _engine(url) as engine, engine.connect() as connection:
        names = ("audit_id", "moderator_id", "auditor_id", "item_id")
        present = {column["name"] for column in inspect(engine).get_columns("outcome")}
        rows = connection.execute(text("SELECT * FROM outcome")).mappings().all()
        return [tuple(row[name] for name in names if name in present) for row in rows]


def test_item_id_column_is_added_nullable_and_old_audits_stay_valid(scratch_url):
    upgrade(scratch_url, "0006")
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        pilot_id = _old_pilot(session.connection(), "running")
        session.execute(text(_OLD_AUDIT), {"pilot": pilot_id, "yes": True})
        session.commit()
    engine.dispose()
    upgrade(scratch_url, "0007")
    assert _audits(scratch_url) == [("a1", "m1", "qa-1", None)]
    downgrade(scratch_url, "0006")
    assert _audits(scratch_url) == [("a1", "m1", "qa-1")]
    upgrade(scratch_url)


def test_decision_columns_leave_old_concluded_pilots_valid(scratch_url):
    """0008: the decision record's columns are null on pilots concluded before it; downgrading drops them."""
    upgrade(scratch_url, "0007")
    engine = make_engine(scratch_url)
    with engine.begin() as connection:
        pilot_id = _old_pilot(connection, "concluded")
    engine.dispose()
    upgrade(scratch_url, "0008")
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        pilot = session.get(Pilot, pilot_id)
        assert pilot.status == "concluded" and pilot.seed == 20240611
        assert (pilot.decision, pilot.decision_by, pilot.decision_at, pilot.decision_recommendation) == (None,) * 4
        pilot.decision, pilot.decision_rationale, pilot.decision_by = "stopped", "Budget.", "pm-user"
        session.commit()
    engine.dispose()
    downgrade(scratch_url, "0007")
    engine = make_engine(scratch_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM pilot")).scalar_one() == "concluded"
    columns = {column["name"] for column in inspect(engine).get_columns("pilot")}
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert "decision" not in columns and "pilot_collaborator" in tables


_AUDIT_0008 = (
    "INSERT INTO outcome (pilot_id, audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, "
    "policy, queue, auditor_id, item_id, ingested_at) VALUES (:pilot, :audit, :moderator, :at, :day, "
    ":correct, :critical, :handle, :policy, 'en', :auditor, :item, '2026-03-02 11:00:00')"
)


def _qa_rollups(url: str) -> tuple[list[tuple], list[tuple]]:
    with _engine(url) as engine, engine.connect() as connection:
        days = connection.execute(
            text(
                "SELECT CAST(day AS TEXT), moderator_id, policy, queue, auditor_id, audits, correct, critical_audits, "
                "critical, handle_audits, handle_sum, handle_sum2 FROM qa_day ORDER BY 1, 2, 3, 5"
            )
        ).all()
        grades = connection.execute(
            text(
                "SELECT item_id, auditor_id, moderator_id, CAST(day AS TEXT), correct, critical FROM qa_grade "
                "ORDER BY 1, 2"
            )
        ).all()
    return [tuple(row) for row in days], [(*row[:4], bool(row[4]), row[5]) for row in grades]


def test_0009_backfills_the_qa_rollups_from_the_stored_audits_and_round_trips(scratch_url):
    upgrade(scratch_url, "0008")
    audits = [  # (audit, moderator, day, correct, critical, handle, policy, auditor, item)
        ("a1", "m1", "2026-03-02", True, None, 10.0, "spam", "qa-1", "i1"),
        ("a2", "m1", "2026-03-02", False, True, 20.0, "spam", "qa-1", None),
        ("a3", "m1", "2026-03-02", True, False, None, None, "qa-2", "i1"),
        ("a4", "m2", "2026-03-03", True, None, 5.0, "hate", None, "i2"),
        ("a5", "m1", "2026-03-04", False, None, 5.0, "spam", "qa-1", "i1"),  # a second grade of i1 by qa-1
    ]
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        pilot_id = _old_pilot(session.connection(), "running")
        for audit, moderator, day, correct, critical, handle, policy, auditor, item in audits:
            on = date.fromisoformat(day)
            at = datetime.combine(on, datetime.min.time(), tzinfo=UTC)
            values = {"audit": audit, "moderator": moderator, "day": on, "at": at, "correct": correct}
            values["critical"] = critical
            values |= {"handle": handle, "policy": policy, "auditor": auditor, "item": item, "pilot": pilot_id}
            session.execute(text(_AUDIT_0008), values)
        session.commit()
    engine.dispose()
    expected_days = [
        ("2026-03-02", "m1", "", "en", "qa-2", 1, 1, 1, 0, 0, 0.0, 0.0),
        ("2026-03-02", "m1", "spam", "en", "qa-1", 2, 1, 1, 1, 2, 30.0, 500.0),
        ("2026-03-03", "m2", "hate", "en", "", 1, 1, 0, 0, 1, 5.0, 25.0),
        ("2026-03-04", "m1", "spam", "en", "qa-1", 1, 0, 0, 0, 1, 5.0, 25.0),
    ]
    expected_grades = [("i1", "qa-1", "m1", "2026-03-02", True, None), ("i1", "qa-2", "m1", "2026-03-02", True, False)]
    for _ in range(2):  # and again after a round trip through the downgrade
        upgrade(scratch_url, "0009")
        assert _qa_rollups(scratch_url) == (expected_days, expected_grades)
        downgrade(scratch_url, "0008")
        with _engine(scratch_url) as engine:
            assert {"qa_day", "qa_grade"}.isdisjoint(inspect(engine).get_table_names())
    upgrade(scratch_url)


def test_0010_makes_qa_day_append_only_and_downgrading_sums_each_key_back(scratch_url):
    upgrade(scratch_url, "0008")
    with _engine(scratch_url) as engine, engine.begin() as connection:
        pilot_id = _old_pilot(connection, "running")
    upgrade(scratch_url, "0009")
    row = (
        "INSERT INTO qa_day (pilot_id, day, moderator_id, policy, queue, auditor_id, audits, correct, critical_audits, "
        "critical, handle_audits, handle_sum, handle_sum2) VALUES (:pilot, :day, 'm1', 'spam', 'en', 'qa-1', :n, 1, 0, "
        "0, :n, 10.0, 100.0)"
    )
    with _engine(scratch_url) as engine, engine.begin() as connection:
        connection.execute(text(row), {"pilot": pilot_id, "day": date(2026, 3, 2), "n": 2})
    upgrade(scratch_url, "0010")
    with _engine(scratch_url) as engine, engine.begin() as connection:
        connection.execute(text(row), {"pilot": pilot_id, "day": date(2026, 3, 2), "n": 3})  # the same key again
        assert inspect(engine).get_pk_constraint("qa_day")["constrained_columns"] == []
        assert {index["name"] for index in inspect(engine).get_indexes("qa_day")} == {"ix_qa_day_pilot_day"}
    assert len(_qa_rollups(scratch_url)[0]) == 2
    downgrade(scratch_url, "0009")
    assert _qa_rollups(scratch_url)[0] == [("2026-03-02", "m1", "spam", "en", "qa-1", 5, 2, 0, 0, 5, 20.0, 200.0)]
    with _engine(scratch_url) as engine:
        assert inspect(engine).get_pk_constraint("qa_day")["constrained_columns"] == list(
            ("pilot_id", "day", "moderator_id", "policy", "queue", "auditor_id")
        )
    upgrade(scratch_url)


def test_0011_folds_qa_day_into_per_dimension_sums_with_the_periods_and_round_trips(scratch_url):
    upgrade(scratch_url, "0010")
    row = (
        "INSERT INTO qa_day (pilot_id, day, moderator_id, policy, queue, auditor_id, audits, correct, critical_audits, "
        "critical, handle_audits, handle_sum, handle_sum2) VALUES (:pilot, :day, :m, :policy, 'en', :auditor, :n, 1, "
        "0, 0, :n, 10.0, 100.0)"
    )
    rows = [  # the pilot starts 2024-06-01; m2 joined late (data_from 2024-06-05)
        ("2024-05-30", "m1", "spam", "qa-1", 1),  # pre-period
        ("2024-06-02", "m1", "spam", "qa-1", 2),
        ("2024-06-02", "m1", "spam", "qa-1", 3),  # the same key from a second batch (append-only)
        ("2024-06-02", "m1", "hate", "", 1),
        ("2024-06-03", "m2", "spam", "qa-2", 4),  # set aside: before m2's data_from
        ("2024-06-06", "m2", "spam", "qa-2", 5),
    ]
    with _engine(scratch_url) as engine, engine.begin() as connection:
        pilot_id = _old_pilot(connection, "running")
        for moderator, day in (("m1", date(2024, 6, 1)), ("m2", date(2024, 6, 5))):
            connection.execute(
                text(
                    "INSERT INTO assignment (pilot_id, moderator_id, unit_id, arm, stratum, sequence, late_joiner, "
                    "assigned_at, data_from) VALUES (:pilot, :m, :m, 'control', 'all', 0, false, :at, :day)"
                ),
                {"pilot": pilot_id, "m": moderator, "at": datetime(2024, 6, 1, tzinfo=UTC), "day": day},
            )
        for day, moderator, policy, auditor, n in rows:
            values = {"pilot": pilot_id, "day": date.fromisoformat(day), "m": moderator, "policy": policy}
            connection.execute(text(row), values | {"auditor": auditor, "n": n})
    expected = [  # (dimension, level, moderator, period, audits, correct)
        (0, "hate", "m1", 0, 1, 1),
        (0, "spam", "m1", 0, 5, 2),
        (0, "spam", "m1", 1, 1, 1),
        (0, "spam", "m2", 0, 5, 1),
        (1, "en", "m1", 0, 6, 3),
        (1, "en", "m1", 1, 1, 1),
        (1, "en", "m2", 0, 5, 1),
        (2, "", "m1", 0, 1, 1),
        (2, "qa-1", "m1", 0, 5, 2),
        (2, "qa-1", "m1", 1, 1, 1),
        (2, "qa-2", "m2", 0, 5, 1),
    ]
    for _ in range(2):  # and again after a round trip through the downgrade
        upgrade(scratch_url, "0011")
        with _engine(scratch_url) as engine, engine.connect() as connection:
            levels = connection.execute(
                text("SELECT dimension, level, moderator_id, period, audits, correct FROM qa_level ORDER BY 1, 2, 3, 4")
            ).all()
            state = connection.execute(
                text("SELECT CAST(through AS TEXT), batch, folded_rows, CAST(last_day AS TEXT) FROM qa_fold")
            ).all()
            batches = connection.execute(text("SELECT DISTINCT batch FROM qa_day")).all()
            indexes = {index["name"] for index in inspect(engine).get_indexes("qa_day")}
        assert [tuple(r) for r in levels] == expected
        assert [tuple(r) for r in state] == [("2024-07-01", 0, len(rows), "2024-06-06")]  # through the end date
        assert [tuple(r) for r in batches] == [(0,)] and "ix_qa_day_pilot_batch" in indexes
        downgrade(scratch_url, "0010")
        with _engine(scratch_url) as engine:
            assert {"qa_level", "qa_fold"}.isdisjoint(inspect(engine).get_table_names())
            assert "batch" not in {column["name"] for column in inspect(engine).get_columns("qa_day")}
        assert len(_qa_rollups(scratch_url)[0]) == len(rows)
    upgrade(scratch_url)


def test_0012_adds_the_rollup_series_tables_empty_and_round_trips(scratch_url):
    upgrade(scratch_url, "0011")
    for _ in range(2):  # and again after a round trip through the downgrade
        upgrade(scratch_url, "0012")
        with _engine(scratch_url) as engine:
            tables = set(inspect(engine).get_table_names())
            assert {"unit_series", "unit_fold"} <= tables
            columns = {column["name"] for column in inspect(engine).get_columns("unit_fold")}
            assert {"batch", "start_date", "end_date", "pre_batch", "pre_start", "pre_moderators"} <= columns
            with engine.begin() as connection:
                pilot_id = _old_pilot(connection, "running")
                connection.execute(
                    text("INSERT INTO unit_series (pilot_id, moderator_id, series) VALUES (:p, 'm1', :s)"),
                    {"p": pilot_id, "s": b"\x00" * 38},
                )
        downgrade(scratch_url, "0011")
        with _engine(scratch_url) as engine:
            assert {"unit_series", "unit_fold"}.isdisjoint(inspect(engine).get_table_names())
    upgrade(scratch_url)
    assert current_revision(scratch_url) == "0012"
