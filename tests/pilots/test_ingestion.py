"""The ingestion service on the test database: all-or-nothing batches, exactly-once storage, windows, rollups."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select

from pilots import ingestion, rollups
from pilots.db import session_factory
from pilots.errors import Conflict, NotFound, ValidationFailed
from pilots.ingestion import context
from pilots.models import Assignment, Event, Outcome, Pilot, UnitDay
from tests.pilots.ingestion_support import MODERATORS, audit, make_pilot
from webui.database import sessions


@pytest.fixture
def factory(app):
    with app.app_context():
        yield sessions()


def send(factory, pilot_id, records, actor="tester"):
    return ingestion.ingest_json_body(factory, pilot_id, json.dumps({"outcomes": records}).encode(), actor=actor)


def snapshot(factory, pilot_id):
    """Everything ingestion may change, to compare before and after a rejected batch."""
    with factory() as s:
        outcomes = s.execute(select(Outcome.audit_id, Outcome.correct).where(Outcome.pilot_id == pilot_id)).all()
        version = s.get(Pilot, pilot_id).data_version
        return sorted(outcomes), rollups.stored(s, pilot_id), version, s.scalar(select(func.count()).select_from(Event))


def test_accepted_batch_stores_rows_rollups_version_and_one_event(factory, session):
    pid = make_pilot(session)
    records = [
        audit("a1", "m01", "2026-02-10T09:00:00Z", correct=True, critical=False, handle_time_s=30.0),
        audit("a2", "m01", "2026-02-10T23:30:00-02:00", correct=False, critical=True, handle_time_s=50.0),
        audit("a3", "m02", "2026-02-11T08:00:00+01:00", critical=None, handle_time_s=None),
    ]
    assert send(factory, pid, records) == ingestion.IngestResult(accepted=3, duplicates=0)
    with factory() as s:
        assert s.get(Pilot, pid).data_version == 1
        sums = rollups.stored(s, pid)
        # a2 is 01:30 UTC on Feb 11: the day is the UTC date.
        assert sums[("m01", date(2026, 2, 10))] == [1, 1, 1, 0, 1, 30.0, 900.0]
        assert sums[("m01", date(2026, 2, 11))] == [1, 0, 1, 1, 1, 50.0, 2500.0]
        assert sums[("m02", date(2026, 2, 11))] == [1, 1, 0, 0, 0, 0.0, 0.0]
        stored = s.exec(select(Outcome).where(Outcome.audit_id == "a2")).scalars().one()
        assert stored.audited_at == datetime(2026, 2, 11, 1, 30, tzinfo=UTC)
        assert stored.day == date(2026, 2, 11)
        events = s.exec(select(Event).where(Event.action == "outcomes.ingested")).scalars().all()
        assert [(e.actor, e.details["accepted"], e.details["duplicates"]) for e in events] == [("tester", 3, 0)]


def test_one_bad_row_rejects_the_whole_batch_and_writes_nothing(factory, session):
    pid = make_pilot(session)
    send(factory, pid, [audit("a1")])
    before = snapshot(factory, pid)
    bad = [audit("b1"), audit("b2", correct="yes"), audit("b3")]
    with pytest.raises(ValidationFailed) as caught:
        send(factory, pid, bad)
    assert caught.value.details == [{"row": 2, "field": "correct", "message": "must be true or false, got a string"}]
    assert snapshot(factory, pid) == before


def test_resending_is_a_no_op_counted_as_duplicates(factory, session):
    pid = make_pilot(session)
    records = [audit(f"a{k}", MODERATORS[k % 8]) for k in range(20)]
    assert send(factory, pid, records).accepted == 20
    before = snapshot(factory, pid)
    assert send(factory, pid, records) == ingestion.IngestResult(accepted=0, duplicates=20)
    after = snapshot(factory, pid)
    assert after[:3] == before[:3]  # rows, rollups and data_version unchanged (only the event is new)


def test_mixed_new_and_stored_rows_store_only_the_new(factory, session):
    pid = make_pilot(session)
    send(factory, pid, [audit("a1"), audit("a2")])
    assert send(factory, pid, [audit("a2"), audit("a3"), audit("a1")]) == ingestion.IngestResult(1, 2)
    with factory() as s:
        assert rollups.stored(s, pid)[("m01", date(2026, 2, 10))][0] == 3
        assert s.get(Pilot, pid).data_version == 2


def test_changed_content_is_a_conflict_naming_the_audit_and_nothing_is_written(factory, session):
    pid = make_pilot(session)
    send(factory, pid, [audit("a1", handle_time_s=10.0)])
    before = snapshot(factory, pid)
    with pytest.raises(Conflict) as caught:
        send(factory, pid, [audit("new-1"), audit("a1", handle_time_s=11.0), audit("new-2")])
    assert "'a1'" in caught.value.message
    assert caught.value.details[0]["row"] == 2
    assert "handle_time_s" in caught.value.details[0]["message"]
    assert snapshot(factory, pid) == before


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"moderator_id": "m02"}, "moderator_id"),
        ({"audited_at": "2026-02-10T09:30:01Z"}, "audited_at"),
        ({"critical": None}, "critical"),
        ({"policy": None}, "policy"),
        ({"auditor_id": "qa-02"}, "auditor_id"),
        ({"item_id": "item-9"}, "item_id"),
    ],
)
def test_every_field_counts_for_identity(factory, session, changed, field):
    pid = make_pilot(session)
    send(factory, pid, [audit("a1")])
    with pytest.raises(Conflict) as caught:
        send(factory, pid, [audit("a1", **changed)])
    assert field in caught.value.details[0]["message"]


def test_same_instant_in_another_offset_is_identical(factory, session):
    pid = make_pilot(session)
    send(factory, pid, [audit("a1", audited_at="2026-02-10T09:30:00Z")])
    assert send(factory, pid, [audit("a1", audited_at="2026-02-10T11:30:00+02:00")]).duplicates == 1


def test_repeats_inside_one_batch(factory, session):
    pid = make_pilot(session)
    assert send(factory, pid, [audit("a1"), audit("a1"), audit("a2")]) == ingestion.IngestResult(2, 1)
    with pytest.raises(ValidationFailed) as caught:
        send(factory, pid, [audit("b1"), audit("b1", correct=False)])
    assert caught.value.details[0]["row"] == 2
    assert "first at row 1" in caught.value.details[0]["message"]


@pytest.mark.parametrize(
    ("audited_at", "message"),
    [
        ("2026-01-04T23:59:59Z", "before the pilot's data window"),
        ("2026-03-30T00:00:00Z", "after the pilot's end date"),
        ("2026-02-10T09:30:00", "must include a time zone"),
        ("10/02/2026 09:30", "ISO 8601"),
    ],
)
def test_window_and_timestamp_checks(factory, session, audited_at, message):
    pid = make_pilot(session)
    with pytest.raises(ValidationFailed) as caught:
        send(factory, pid, [audit("a1", audited_at=audited_at)])
    assert message in caught.value.details[0]["message"]


def test_window_edges_are_inclusive_of_whole_utc_days(factory, session):
    pid = make_pilot(session)
    edges = [audit("first", audited_at="2026-01-05T00:00:00Z"), audit("last", audited_at="2026-03-29T23:59:59.999Z")]
    assert send(factory, pid, edges).accepted == 2


def test_without_a_pre_period_the_window_starts_at_the_start_date(factory, session):
    pid = make_pilot(session, pre_start=None)
    with pytest.raises(ValidationFailed):
        send(factory, pid, [audit("a1", audited_at="2026-02-01T23:59:59Z")])
    assert send(factory, pid, [audit("a1", audited_at="2026-02-02T00:00:00Z")]).accepted == 1


def test_future_timestamps_beyond_the_clock_skew_are_rejected(factory, session):
    today = datetime.now(UTC).date()
    pid = make_pilot(session, start=today - timedelta(days=3), end=today + timedelta(days=30))
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert send(factory, pid, [audit("a1", audited_at=soon)]).accepted == 1
    with pytest.raises(ValidationFailed) as caught:
        send(factory, pid, [audit("a2", audited_at=later)])
    assert "future" in caught.value.details[0]["message"]


def test_unknown_moderator_is_rejected(factory, session):
    pid = make_pilot(session)
    other = make_pilot(session, moderators=("x1",), name="other")
    with pytest.raises(ValidationFailed) as caught:
        send(factory, pid, [audit("a1", "x1")])
    assert caught.value.details[0]["field"] == "moderator_id"
    assert send(factory, other, [audit("a1", "x1")]).accepted == 1


def test_remembered_roster_follows_late_joiners(factory, session):
    """The assigned moderators are remembered between batches (`pilots.ingestion.context.ROSTERS`), and a late
    joiner's assignment makes the next batch read them again: its audits are accepted at once."""
    pid = make_pilot(session)
    assert send(factory, pid, [audit("a1", "m01")]).accepted == 1
    with factory() as s:
        remembered = context.load_context(s, pid).window.roster
        assert context.load_context(s, pid).window.roster is remembered  # not read again
    with pytest.raises(ValidationFailed):
        send(factory, pid, [audit("a2", "late1")])
    session.add(
        Assignment(
            pilot_id=pid,
            moderator_id="late1",
            unit_id="late1",
            arm="control",
            stratum="all",
            sequence=99,
            assigned_at=datetime(2026, 2, 9, tzinfo=UTC),
            data_from=date(2026, 2, 9),
            late_joiner=True,
        )
    )
    session.commit()
    assert send(factory, pid, [audit("a2", "late1")]).accepted == 1


@pytest.mark.parametrize(
    ("status", "error", "words"), [("draft", Conflict, "launch first"), ("concluded", Conflict, "concluded")]
)
def test_only_running_pilots_accept_outcomes(factory, session, status, error, words):
    pid = make_pilot(session, status=status)
    with pytest.raises(error) as caught:
        send(factory, pid, [audit("a1")])
    assert words in caught.value.message


def test_conclusion_between_validation_and_storage_is_caught_under_the_lock(factory, session):
    pid = make_pilot(session)
    context = ingestion.load(factory, pid)
    batch = ingestion.parse_json_records([audit("a1")], context.window)
    with factory() as s:
        s.get(Pilot, pid).status = "concluded"
        s.commit()
    with pytest.raises(Conflict):
        ingestion.store(factory, context, batch, actor="t", source="test")
    assert snapshot(factory, pid)[0] == []


def test_missing_pilot_is_not_found(factory):
    with pytest.raises(NotFound):
        send(factory, 999, [audit("a1")])


def test_empty_batch_changes_nothing(factory, session):
    pid = make_pilot(session)
    before = snapshot(factory, pid)
    assert send(factory, pid, []) == ingestion.IngestResult(0, 0)
    assert snapshot(factory, pid) == before


def test_rollups_equal_a_direct_aggregation_after_many_random_batches(factory, session):
    pid = make_pilot(session)
    rng = random.Random(20260202)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    pool = {}
    for _ in range(15):
        batch = []
        for _ in range(rng.randint(1, 60)):
            audit_id = f"r{rng.randint(1, 400)}"
            if audit_id not in pool:
                when = start + timedelta(seconds=rng.randint(0, 83 * 86400))
                pool[audit_id] = audit(
                    audit_id,
                    rng.choice(MODERATORS),
                    when.isoformat(),
                    correct=rng.random() < 0.9,
                    critical=rng.choice([None, True, False]),
                    handle_time_s=rng.choice([None, round(rng.uniform(0, 300), 1)]),
                )
            batch.append(pool[audit_id])
        send(factory, pid, batch)
    with factory() as s:
        stored, direct = rollups.stored(s, pid), rollups.from_outcomes(s, pid)
        count = s.scalar(select(func.count()).select_from(Outcome).where(Outcome.pilot_id == pid))
        assert s.scalar(select(func.sum(UnitDay.audits)).where(UnitDay.pilot_id == pid)) == count == len(pool)
    assert stored.keys() == direct.keys()
    for key, sums in direct.items():
        assert stored[key][:5] == sums[:5]
        assert stored[key][5:] == pytest.approx(sums[5:], rel=1e-12)


def test_stored_instants_do_not_depend_on_the_session_time_zone(factory, session, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite stores the canonical UTC text as is")
    pid = make_pilot(session)
    engine = create_engine(database_url, connect_args={"options": "-c timezone=America/New_York"})
    try:
        elsewhere = session_factory(engine)
        records = [audit("a1", audited_at="2026-02-10T23:30:00Z"), audit("a2", audited_at="2026-02-11T01:30:00+02:00")]
        assert send(elsewhere, pid, records).accepted == 2
        # The re-sent batch takes the staging path (stored audits), which must read them back as the same instants.
        assert send(elsewhere, pid, [*records, audit("a3")]) == ingestion.IngestResult(accepted=1, duplicates=2)
    finally:
        engine.dispose()
    with factory() as s:
        stored = dict(s.execute(select(Outcome.audit_id, Outcome.audited_at).where(Outcome.pilot_id == pid)).all())
        days = dict(s.execute(select(Outcome.audit_id, Outcome.day).where(Outcome.pilot_id == pid)).all())
    assert stored["a1"] == datetime(2026, 2, 10, 23, 30, tzinfo=UTC)
    assert stored["a2"] == datetime(2026, 2, 10, 23, 30, tzinfo=UTC)
    assert days["a1"] == days["a2"] == date(2026, 2, 10)


@pytest.mark.parametrize("absent", [(), ("item_id",), ("critical", "handle_time_s"), ("policy", "queue", "auditor_id")])
def test_optional_fields_absent_from_every_row_are_stored_as_null(factory, session, absent):
    """A column that is None in the whole batch is written as NULL in the statement (SQLite), not bound."""
    pid = make_pilot(session)
    records = [audit(f"a{n}", item_id=f"item-{n}" if n % 2 else None) for n in range(250)]
    for record in records:
        record.update(dict.fromkeys(absent))
    send(factory, pid, records)
    names = ("critical", "handle_time_s", "policy", "queue", "auditor_id", "item_id")
    with factory() as s:
        columns = [getattr(Outcome, name) for name in names]
        stored = s.execute(select(Outcome.audit_id, *columns).where(Outcome.pilot_id == pid).order_by(Outcome.id))
        assert [tuple(row) for row in stored] == [(r["audit_id"], *(r.get(name) for name in names)) for r in records]
    # Stored again in a batch that has the values: identical content, so duplicates, not conflicts.
    assert send(factory, pid, records).duplicates == len(records)
