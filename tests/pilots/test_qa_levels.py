"""The folded per-dimension QA sums (`qa_level`, `pilots.results.qa_levels`): the latest results read them plus the
batches not folded yet, and that read equals the direct read of `qa_day` (`qa_data.load_cells`) cell for cell and
the results document bit for bit, after every fold, with batches (also late audits of earlier days) arriving after a
fold, with late joiners' set-aside audits, after the retention purge, and when two requests fold the same batches.
The stored sums equal an aggregation of `qa_day` with the periods' rule, recomputed here in Python."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from pilots import ingestion, retention
from pilots.db import write_transaction
from pilots.models import Pilot
from pilots.models._time import utcnow
from pilots.results import qa, qa_levels, results_document
from pilots.results.document import build_document
from pilots.results.loader import load_panel
from pilots.results.qa_data import DIMENSIONS, load_cells
from pilots.roster import add_late_joiners
from pilots.roster.upload import RosterRow
from pilots.schemas import plan_of
from pilots.simulation import simulate_audits
from pilots.simulation.qa import QaScenario
from tests.pilots.fold_support import assert_second_fold_loses
from tests.pilots.results_support import START, assignment, ingest_audits, make_pilot, settings
from webui.database import sessions

METRICS = [
    {"name": "accuracy", "role": "primary"},
    {"name": "critical_error_rate", "role": "guardrail", "margin": 0.01},
]
SIM = settings(n_moderators=50, weeks=3, pre_weeks=1, qa=QaScenario(double_audit_share=0.15, leniency_sd_points=3))


@pytest.fixture
def fold_every_read(monkeypatch):
    monkeypatch.setattr(qa_levels, "FOLD_CELLS", 1)


def _factory(app):
    with app.app_context():
        return sessions()


def _audits(app, session, pilot_id, roster, seed: int, *, before: int | None = None, since: int | None = None):
    """Ingest the pilot's simulated audits (in batches of 2,000), only those dated before / since a pilot day."""
    records = list(simulate_audits(roster, assignment(session, pilot_id), SIM, np.random.default_rng(seed)))
    day = [(date.fromisoformat(r["audited_at"][:10]) - START).days for r in records]
    chosen = [
        r for r, d in zip(records, day, strict=True) if (before is None or d < before) and (since is None or d >= since)
    ]
    factory = _factory(app)
    context = ingestion.load(factory, pilot_id)
    for first in range(0, len(chosen), 2_000):
        batch = ingestion.parse_json_records(chosen[first : first + 2_000], context.window)
        ingestion.store(factory, context, batch, actor="tests", source="tests")
    session.commit()


def _read_both(session, pilot_id, through: date | None = None):
    """The cells through `through` (default: the latest) from the folded sums and from `qa_day` directly (asserting
    the first answered)."""
    plan = plan_of(session.get(Pilot, pilot_id))
    through = through or plan.end_date
    panel = load_panel(session, pilot_id, plan.unit, plan.start_date, through, plan.pre_period_start)
    cut = plan.start_date + timedelta(days=panel.last_day_with_audits())
    first = plan.pre_period_start or plan.start_date
    fast = qa_levels.load_folded(session, pilot_id, panel.units, plan.start_date, cut, through)
    assert fast is not None
    return fast, load_cells(session, pilot_id, panel.units, plan.start_date, first, cut)


def _assert_same_cells(fast, direct) -> None:
    """Labels, rows and counts identical; handle-time sums up to the order of summation."""
    assert fast.labels == direct.labels
    for name in DIMENSIONS:
        a, b = fast.rows[name], direct.rows[name]
        for field in ("unit", "pre", "code"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), (name, field)
        assert np.array_equal(a.sums[:5], b.sums[:5]), name
        np.testing.assert_allclose(a.sums[5:], b.sums[5:], rtol=1e-12)


def _documents(session, pilot_id, monkeypatch, as_of=None) -> tuple[str, str]:
    """The document through the folded read and through the direct read, as canonical JSON."""
    fast = json.dumps(build_document(session, pilot_id, as_of), sort_keys=True)
    session.info.pop(qa_levels.PENDING, None)
    with monkeypatch.context() as patch:
        patch.setattr(qa_levels, "load_folded", lambda *args: None)
        direct = json.dumps(build_document(session, pilot_id, as_of), sort_keys=True)
    return fast, direct


def _stored_levels(session, pilot_id, through: date) -> dict:
    rows = session.execute(
        text(
            "SELECT dimension, level, moderator_id, period, audits, correct, critical_audits, critical, handle_audits, "
            "handle_sum, handle_sum2 FROM qa_level WHERE pilot_id = :p AND through = :t"
        ),
        {"p": pilot_id, "t": through},
    ).all()
    return {tuple(row[:4]): [float(v) for v in row[4:]] for row in rows}


def _expected_levels(session, pilot_id, through: date, through_batch: int) -> dict:
    """`qa_level` as it should be: every `qa_day` row up to the batch dated through `through`, by the periods' rule
    (module docstring)."""
    pilot = session.get(Pilot, pilot_id)
    query = text("SELECT moderator_id, data_from FROM assignment WHERE pilot_id = :p")
    data_from = {row[0]: row[1] for row in session.execute(query, {"p": pilot_id})}
    rows = session.execute(
        text(
            "SELECT day, moderator_id, policy, queue, auditor_id, audits, correct, critical_audits, critical, "
            "handle_audits, handle_sum, handle_sum2 FROM qa_day WHERE pilot_id = :p AND batch <= :b"
        ),
        {"p": pilot_id, "b": through_batch},
    ).all()
    out: dict = {}
    for day, moderator, *levels_and_sums in rows:
        day = date.fromisoformat(str(day)[:10])
        if day > through:
            continue
        starts = data_from[moderator]
        starts = date.fromisoformat(str(starts)[:10]) if starts is not None else pilot.start_date
        if pilot.start_date <= day < starts:
            continue  # set aside
        period = 1 if day < pilot.start_date else 0
        for k in range(len(DIMENSIONS)):
            total = out.setdefault((k, levels_and_sums[k], moderator, period), [0.0] * 7)
            for j, value in enumerate(levels_and_sums[3:]):
                total[j] += float(value)
    return out


def _end(session, pilot_id) -> date:
    return session.get(Pilot, pilot_id).end_date


def _assert_levels(session, pilot_id, through: date | None = None) -> None:
    through = through or _end(session, pilot_id)
    state = qa_levels.read_state(session, pilot_id, through)
    stored = _stored_levels(session, pilot_id, through)
    expected = _expected_levels(session, pilot_id, through, state.batch)
    assert stored.keys() == expected.keys()
    for key, sums in stored.items():
        assert sums[:5] == expected[key][:5] and sums[5:] == pytest.approx(expected[key][5:], rel=1e-12)
    folded = session.execute(
        text("SELECT count(*), max(day) FROM qa_day WHERE pilot_id = :p AND batch <= :b AND day <= :t"),
        {"p": pilot_id, "b": state.batch, "t": through},
    ).one()
    assert (state.rows, state.last_day) == (folded[0], date.fromisoformat(str(folded[1])[:10]))


def test_folds_stay_exact_as_batches_arrive_after_them(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=21, metrics=METRICS)
    factory = _factory(app)
    _audits(app, session, pilot_id, roster, 21, before=6)
    first = results_document(session, pilot_id, use_cache=False)  # reads everything as the tail, then folds it
    state = qa_levels.read_state(session, pilot_id, _end(session, pilot_id))
    assert state.batch == session.get(Pilot, pilot_id).data_version and state.rows > 0
    _assert_levels(session, pilot_id)
    assert _documents(session, pilot_id, monkeypatch)[0] == json.dumps(first, sort_keys=True)

    # More batches after the fold: the rest of the pilot, and late audits of days already folded.
    _audits(app, session, pilot_id, roster, 21, since=6)
    context = ingestion.load(factory, pilot_id)
    moderators = sorted(context.window.roster)[:8]
    late = [
        {
            "audit_id": f"late-{k}",
            "moderator_id": moderator,
            "audited_at": datetime.combine(START + timedelta(days=k % 5 - 2), time(12), tzinfo=UTC).isoformat(),
            "correct": k % 3 > 0,
            "critical": k % 4 == 0,
            "handle_time_s": 20.0 + k,
            "policy": "spam",
            "queue": "late-queue",
            "auditor_id": f"qa-late-{k % 2}",
            "item_id": f"late-item-{k // 2}",
        }
        for k, moderator in enumerate(moderators * 2)
    ]
    ingestion.store(factory, context, ingestion.parse_json_records(late, context.window), actor="t", source="t")
    session.commit()
    assert (
        qa_levels.read_state(session, pilot_id, _end(session, pilot_id)) == state
    )  # nothing folded yet: the reads below use the tail
    _assert_same_cells(*_read_both(session, pilot_id))
    fast, direct = _documents(session, pilot_id, monkeypatch)
    assert fast == direct and "late-queue" in fast
    as_of = _documents(session, pilot_id, monkeypatch, START + timedelta(days=9))
    assert as_of[0] == as_of[1] != fast

    results_document(session, pilot_id, use_cache=False)  # folds the new batches
    after = qa_levels.read_state(session, pilot_id, _end(session, pilot_id))
    assert after.batch == session.get(Pilot, pilot_id).data_version > state.batch
    _assert_levels(session, pilot_id)
    _assert_same_cells(*_read_both(session, pilot_id))
    assert _documents(session, pilot_id, monkeypatch) == (fast, fast)
    results_document(session, pilot_id, use_cache=False)  # nothing new: no fold, nothing changes
    assert qa_levels.read_state(session, pilot_id, _end(session, pilot_id)) == after


def test_late_joiners_set_aside_audits_are_cut_in_the_folded_sums(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=23, metrics=METRICS)
    factory = _factory(app)
    ingest_audits(factory, session, pilot_id, roster, SIM, seed=23)
    session.commit()
    results_document(session, pilot_id, use_cache=False)  # fold the launch roster's audits
    joined = datetime.combine(START + timedelta(days=6), time(15, 30), tzinfo=UTC)
    late = [RosterRow(f"late-{k}", roster[0]["team"], roster[0]["site"], roster[0]["language"], 3.0) for k in range(4)]
    add_late_joiners(session, pilot_id, late, "pm-user", joined_at=joined)  # data_from: day 7
    records = []
    for k, row in enumerate(late):
        for day in range(-3, 14):  # pre-period, set-aside (days 0-6) and pilot data
            at = datetime.combine(START + timedelta(days=day), time(9 + k), tzinfo=UTC).isoformat()
            for auditor in ("qa-x-01", "qa-x-02"):
                records.append(
                    {
                        "audit_id": f"{row.moderator_id}-{day}-{auditor}",
                        "moderator_id": row.moderator_id,
                        "audited_at": at,
                        "correct": auditor == "qa-x-01" or day >= 7,
                        "critical": False,
                        "handle_time_s": 30.0,
                        "policy": "spam",
                        "queue": "late",
                        "auditor_id": auditor,
                        "item_id": f"{row.moderator_id}-{day}",
                    }
                )
    context = ingestion.load(factory, pilot_id)
    for half in (records[: len(records) // 2], records[len(records) // 2 :]):
        ingestion.store(factory, context, ingestion.parse_json_records(half, context.window), actor="t", source="t")
        session.commit()
        _assert_same_cells(*_read_both(session, pilot_id))
        fast, direct = _documents(session, pilot_id, monkeypatch)
        assert fast == direct
        results_document(session, pilot_id, use_cache=False)
        _assert_levels(session, pilot_id)
    fast, _ = _read_both(session, pilot_id)
    plan = plan_of(session.get(Pilot, pilot_id))
    panel = load_panel(session, pilot_id, plan.unit, plan.start_date, plan.end_date, plan.pre_period_start)
    assert panel.set_aside.sum() == len(late) * 7 * 2
    assert np.array_equal(fast.level_sums("queue", "audits").sum(axis=1), panel.column("audits").sum(axis=1))
    assert np.array_equal(fast.level_sums("policy", "audits", pre=True).sum(axis=1), panel.pre_column("audits"))


def test_a_purged_pilot_reads_the_same_folded_sums(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=25, metrics=METRICS)
    _audits(app, session, pilot_id, roster, 25, before=10)
    results_document(session, pilot_id, use_cache=False)
    _audits(app, session, pilot_id, roster, 25, since=10)  # a tail left unfolded at the purge
    pilot = session.get(Pilot, pilot_id)
    pilot.status, pilot.concluded_at = "concluded", utcnow() - timedelta(days=2)
    session.commit()
    before = _documents(session, pilot_id, monkeypatch)
    assert before[0] == before[1]
    assert [p.pilot_id for p in retention.purge(session, days=1, actor="retention")] == [pilot_id]
    session.expire_all()
    assert _documents(session, pilot_id, monkeypatch) == before
    results_document(session, pilot_id, use_cache=False)
    _assert_levels(session, pilot_id)
    assert _documents(session, pilot_id, monkeypatch) == before


def test_sums_folded_through_a_look_day_answer_its_replay_exactly(app, session, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=31, metrics=METRICS)
    _audits(app, session, pilot_id, roster, 31, before=12)
    look = START + timedelta(days=8)
    _read_both(session, pilot_id, look)
    for fold in session.info.pop(qa_levels.PENDING):
        with write_transaction(session):
            assert qa_levels.store(session, fold)
    _assert_levels(session, pilot_id, look)
    _audits(app, session, pilot_id, roster, 31, since=12)  # later days: outside the look's sums
    context = ingestion.load(_factory(app), pilot_id)
    moderator = sorted(context.window.roster)[0]
    at = datetime.combine(look - timedelta(days=1), time(12), tzinfo=UTC).isoformat()
    delayed = [{"audit_id": "delayed", "moderator_id": moderator, "audited_at": at, "correct": False}]
    delayed[0] |= {"policy": "spam", "queue": "delayed", "auditor_id": "qa-delayed"}
    batch = ingestion.parse_json_records(delayed, context.window)
    ingestion.store(_factory(app), context, batch, actor="t", source="t")  # a late audit of a day inside them
    session.commit()
    fast, direct = _read_both(session, pilot_id, look)
    _assert_same_cells(fast, direct)
    assert "delayed" in fast.labels["queue"]
    for fold in session.info.pop(qa_levels.PENDING):
        with write_transaction(session):
            assert qa_levels.store(session, fold)
    _assert_levels(session, pilot_id, look)
    _assert_same_cells(*_read_both(session, pilot_id, look))


def test_a_read_whose_sums_reach_past_the_cut_goes_to_qa_day(app, session, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=27, metrics=METRICS)
    ingest_audits(_factory(app), session, pilot_id, roster, SIM, seed=27)
    session.commit()
    results_document(session, pilot_id, use_cache=False)
    plan = plan_of(session.get(Pilot, pilot_id))
    panel = load_panel(session, pilot_id, plan.unit, plan.start_date, plan.end_date, plan.pre_period_start)
    early = plan.start_date + timedelta(days=5)
    assert qa_levels.load_folded(session, pilot_id, panel.units, plan.start_date, early, plan.end_date) is None
    cells, _ = qa.load(session, pilot_id, plan, panel, 5, through=plan.end_date)  # the direct read instead
    first = plan.pre_period_start
    _assert_same_cells(cells, load_cells(session, pilot_id, panel.units, plan.start_date, first, early))


def test_two_requests_folding_the_same_batches_add_them_once(app, session, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=29, metrics=METRICS)
    factory = _factory(app)
    ingest_audits(factory, session, pilot_id, roster, SIM, seed=29)
    session.commit()
    folds = []
    with factory() as other:
        for reader in (session, other):  # both read the same unfolded tail
            _read_both(reader, pilot_id)
            [fold] = reader.info.pop(qa_levels.PENDING)
            folds.append(fold)
            reader.rollback()
        assert folds[0].since == folds[1].since == -1 and folds[0].state == folds[1].state
        assert_second_fold_loses(session, other, qa_levels.store, folds)
    session.expire_all()
    _assert_levels(session, pilot_id)
    assert qa_levels.store(session, folds[1]) is False  # a stale fold never applies
    session.rollback()


def test_a_fold_that_cannot_be_written_leaves_the_request_answered(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=33, metrics=METRICS)
    ingest_audits(_factory(app), session, pilot_id, roster, SIM, seed=33)
    session.commit()
    dbapi_error = session.get_bind().dialect.dbapi.OperationalError

    def busy(*args):
        raise dbapi_error("database is locked")

    with monkeypatch.context() as patch:
        patch.setattr(qa_levels, "store", busy)
        document = results_document(session, pilot_id, use_cache=False)
    assert document["qa_health"] is not None and qa_levels.PENDING not in session.info
    assert qa_levels.read_state(session, pilot_id, _end(session, pilot_id)).batch == -1  # nothing folded
    assert results_document(session, pilot_id, use_cache=False) == document  # the next request folds instead
    assert qa_levels.read_state(session, pilot_id, _end(session, pilot_id)).batch >= 1
