"""The per-moderator rollup series (`unit_series`, `pilots.results.unit_series`): the results read them plus the
rows changed since the fold, and the document equals the document of the direct read of `unit_day` bit for bit, at
the latest data and `as_of`, for moderator and team pilots, with late joiners, with batches (also late audits of
earlier days and of the pre-period) arriving after a fold, after the retention purge, and when two requests fold the
same rows. The stored series equal the pilot's `unit_day` rows up to the batch they reach."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from pilots import ingestion, retention
from pilots.models import Pilot
from pilots.models._time import utcnow
from pilots.results import qa_levels, results_document, series_records, unit_series
from pilots.results import units as units_module
from pilots.results.document import build_document
from pilots.results.loader import load_panel
from pilots.roster import add_late_joiners
from pilots.roster.upload import RosterRow
from pilots.schemas import plan_of
from pilots.simulation import simulate_audits
from tests.pilots.fold_support import assert_second_fold_loses
from tests.pilots.results_support import START, assignment, make_pilot, settings
from webui.database import sessions

METRICS = [
    {"name": "accuracy", "role": "primary"},
    {"name": "critical_error_rate", "role": "guardrail", "margin": 0.01},
    {"name": "handle_time", "role": "guardrail", "margin": 5.0},
]
SIM = settings(n_moderators=60, weeks=3, pre_weeks=1)


@pytest.fixture
def fold_every_read(monkeypatch):
    monkeypatch.setattr(unit_series, "BUILD_ROWS", 1)
    monkeypatch.setattr(unit_series, "FOLD_ROWS", 1)


def _factory(app):
    with app.app_context():
        return sessions()


def _records(session, pilot_id, roster, seed: int, *, before: int | None = None, since: int | None = None):
    records = list(simulate_audits(roster, assignment(session, pilot_id), SIM, np.random.default_rng(seed)))
    day = [(date.fromisoformat(r["audited_at"][:10]) - START).days for r in records]
    return [
        r for r, d in zip(records, day, strict=True) if (before is None or d < before) and (since is None or d >= since)
    ]


def _ingest(app, session, pilot_id, records, size: int = 1_500) -> None:
    factory = _factory(app)
    context = ingestion.load(factory, pilot_id)
    for first in range(0, len(records), size):
        batch = ingestion.parse_json_records(records[first : first + size], context.window)
        ingestion.store(factory, context, batch, actor="tests", source="tests")
    session.commit()


def _late_audits(session, pilot_id, moderators, prefix: str, days: range) -> list[dict]:
    """Audits of earlier days (also of the pre-period) for `moderators`, with handle times."""
    return [
        {
            "audit_id": f"{prefix}-{k}-{day}",
            "moderator_id": moderator,
            "audited_at": datetime.combine(START + timedelta(days=day), time(12), tzinfo=UTC).isoformat(),
            "correct": (k + day) % 3 > 0,
            "critical": (k + day) % 4 == 0,
            "handle_time_s": 20.0 + k * 0.37 + day,
            "policy": "spam",
            "queue": "late",
            "auditor_id": "qa-late",
        }
        for k, moderator in enumerate(moderators)
        for day in days
    ]


def _documents(session, pilot_id, monkeypatch, as_of=None) -> tuple[str, str]:
    """The document through the series and through the direct read of `unit_day`, as canonical JSON (asserting the
    first read the series)."""
    plan = plan_of(session.get(Pilot, pilot_id))
    assert unit_series.usable(unit_series.read_state(session, pilot_id), plan.start_date, plan.end_date)
    fast = json.dumps(build_document(session, pilot_id, as_of), sort_keys=True)
    session.info.pop(unit_series.PENDING, None)
    session.info.pop(qa_levels.PENDING, None)
    with monkeypatch.context() as patch:
        patch.setattr(unit_series, "read_state", lambda *args: None)
        patch.setattr(unit_series, "BUILD_ROWS", 10**12)
        direct = json.dumps(build_document(session, pilot_id, as_of), sort_keys=True)
    session.info.pop(qa_levels.PENDING, None)
    assert unit_series.PENDING not in session.info
    return fast, direct


def _stored(session, pilot_id) -> dict:
    rows = session.execute(
        text("SELECT moderator_id, series FROM unit_series WHERE pilot_id = :p"), {"p": pilot_id}
    ).all()
    out = {}
    for moderator, series in rows:
        records = np.frombuffer(bytes(series), dtype=series_records.RECORD)
        assert np.all(np.diff(records["day"]) > 0)  # day order, one record a day
        for record in records:
            out[(moderator, int(record["day"]))] = [*record["counts"].tolist(), *record["totals"].tolist()]
    return out


def _assert_series(session, pilot_id) -> None:
    """The stored series hold every pilot-period `unit_day` row of the batches up to the fold's, exactly (rows of
    later batches may be newer)."""
    pilot = session.get(Pilot, pilot_id)
    state = unit_series.read_state(session, pilot_id)
    assert (state.start, state.end) == (pilot.start_date, pilot.end_date)
    changed = {
        (m, date.fromisoformat(str(d)[:10]))
        for m, d in session.execute(
            text("SELECT moderator_id, day FROM qa_day WHERE pilot_id = :p AND batch > :b"),
            {"p": pilot_id, "b": state.batch},
        )
    }
    rows = session.execute(
        text(
            "SELECT moderator_id, day, audits, correct, critical_audits, critical, handle_audits, handle_sum, "
            "handle_sum2 FROM unit_day WHERE pilot_id = :p AND day >= :s AND day <= :e"
        ),
        {"p": pilot_id, "s": pilot.start_date, "e": pilot.end_date},
    ).all()
    expected = {
        (m, (date.fromisoformat(str(d)[:10]) - pilot.start_date).days): [float(v) for v in sums]
        for m, d, *sums in rows
        if (m, date.fromisoformat(str(d)[:10])) not in changed
    }
    stored = _stored(session, pilot_id)
    assert {k: v for k, v in stored.items() if (k[0], pilot.start_date + timedelta(days=k[1])) not in changed} == (
        expected
    )


def _late_joiners(session, pilot_id, roster, day: int) -> list[str]:
    joined = datetime.combine(START + timedelta(days=day - 1), time(15, 30), tzinfo=UTC)
    late = [RosterRow(f"late-{k}", roster[k]["team"], roster[0]["site"], roster[0]["language"], 3.0) for k in range(4)]
    add_late_joiners(session, pilot_id, late, "pm-user", joined_at=joined)  # data_from: `day`
    session.commit()
    return [row.moderator_id for row in late]


@pytest.mark.parametrize("unit", ["moderator", "team"])
def test_series_read_gives_the_direct_documents_as_batches_arrive_after_folds(
    app, session, monkeypatch, fold_every_read, unit
):
    pilot_id, roster = make_pilot(session, SIM, seed=41, metrics=METRICS, unit=unit)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 41, before=7))
    first = results_document(session, pilot_id, use_cache=False)  # the direct read, which builds the series
    state = unit_series.read_state(session, pilot_id)
    assert state is not None and state.batch == session.get(Pilot, pilot_id).data_version
    _assert_series(session, pilot_id)
    fast, direct = _documents(session, pilot_id, monkeypatch)
    assert fast == direct == json.dumps(first, sort_keys=True)
    plan = plan_of(session.get(Pilot, pilot_id))
    pre = unit_series.read_pre(session, pilot_id, plan.pre_period_start, plan.start_date)
    assert pre is not None and len(pre[0]) > 0  # the build stored the pre-period rows too

    # After the fold: late joiners with audits before (set aside) and after their assignment, the rest of the
    # pilot, and late audits of days already folded (pilot period and pre-period), several moderators a team.
    joiners = _late_joiners(session, pilot_id, roster, 9)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 41, since=7))
    moderators = sorted(m["moderator_id"] for m in roster)[:12] + joiners
    _ingest(app, session, pilot_id, _late_audits(session, pilot_id, moderators, "late", range(-3, 14)))
    assert unit_series.read_state(session, pilot_id) == state  # nothing folded yet: the reads below use the tail
    assert unit_series.read_pre(session, pilot_id, plan.pre_period_start, plan.start_date) is None  # late pre rows
    fast, direct = _documents(session, pilot_id, monkeypatch)
    assert fast == direct != json.dumps(first, sort_keys=True)
    assert json.loads(fast)["set_aside"]["audits"] > 0
    for day in (3, 8, 12, 20):
        as_of = _documents(session, pilot_id, monkeypatch, START + timedelta(days=day))
        assert as_of[0] == as_of[1]

    results_document(session, pilot_id, use_cache=False)  # folds the changed rows
    after = unit_series.read_state(session, pilot_id)
    assert after.batch == session.get(Pilot, pilot_id).data_version > state.batch
    _assert_series(session, pilot_id)
    assert _documents(session, pilot_id, monkeypatch) == (fast, fast)
    for day in (3, 8, 12, 20):
        as_of = _documents(session, pilot_id, monkeypatch, START + timedelta(days=day))
        assert as_of[0] == as_of[1]
    stored = unit_series.read_pre(session, pilot_id, plan.pre_period_start, plan.start_date)
    assert stored is not None and stored[1].shape == (7, len(stored[0]))
    results_document(session, pilot_id, use_cache=False)  # nothing new: no fold
    assert unit_series.read_state(session, pilot_id) == after
    assert unit_series.PENDING not in session.info


def test_the_panel_from_the_series_equals_the_direct_panel(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=43, metrics=METRICS, unit="team")
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 43))
    results_document(session, pilot_id, use_cache=False)
    everyone = sorted(m["moderator_id"] for m in roster)
    _ingest(app, session, pilot_id, _late_audits(session, pilot_id, everyone, "x", range(2, 5)))
    plan = plan_of(session.get(Pilot, pilot_id))
    assert unit_series.read_pre(session, pilot_id, plan.pre_period_start, plan.start_date) is not None
    for through in (plan.start_date + timedelta(days=4), plan.end_date):
        args = (session, pilot_id, plan.unit, plan.start_date, through, plan.pre_period_start)
        fast = load_panel(*args, end=plan.end_date)
        session.info.pop(unit_series.PENDING, None)
        direct = load_panel(*args)
        assert fast.values.tobytes() == direct.values.tobytes()
        assert fast.pre.tobytes() == direct.pre.tobytes()
        assert fast.set_aside.tobytes() == direct.set_aside.tobytes()
        assert fast.member_audits.tobytes() == direct.member_audits.tobytes()


def test_a_purged_pilot_reads_the_same_series(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=45, metrics=METRICS)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 45, before=10))
    results_document(session, pilot_id, use_cache=False)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 45, since=10))  # a tail left at the purge
    pilot = session.get(Pilot, pilot_id)
    pilot.status, pilot.concluded_at = "concluded", utcnow() - timedelta(days=2)
    session.commit()
    before = _documents(session, pilot_id, monkeypatch)
    assert before[0] == before[1]
    assert [p.pilot_id for p in retention.purge(session, days=1, actor="retention")] == [pilot_id]
    session.expire_all()
    assert _documents(session, pilot_id, monkeypatch) == before
    results_document(session, pilot_id, use_cache=False)
    _assert_series(session, pilot_id)
    assert _documents(session, pilot_id, monkeypatch) == before


def test_series_of_another_period_are_rebuilt(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=47, metrics=METRICS)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 47))
    results_document(session, pilot_id, use_cache=False)
    pilot = session.get(Pilot, pilot_id)
    pilot.end_date -= timedelta(days=3)  # another period: the stored series do not answer
    session.commit()
    state = unit_series.read_state(session, pilot_id)
    assert not unit_series.usable(state, pilot.start_date, pilot.end_date)
    results_document(session, pilot_id, use_cache=False)  # reads directly and rebuilds
    _assert_series(session, pilot_id)
    assert max(day for _, day in _stored(session, pilot_id)) <= (pilot.end_date - pilot.start_date).days
    fast, direct = _documents(session, pilot_id, monkeypatch)
    assert fast == direct


def test_two_requests_folding_the_same_rows_write_once(app, session, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=49, metrics=METRICS)
    factory = _factory(app)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 49, before=10))
    results_document(session, pilot_id, use_cache=False)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 49, since=10))
    plan = plan_of(session.get(Pilot, pilot_id))
    folds = []
    with factory() as other:
        for reader in (session, other):  # both read the same changed rows
            load_panel(reader, pilot_id, plan.unit, plan.start_date, plan.end_date, None, end=plan.end_date)
            [fold] = reader.info.pop(unit_series.PENDING)
            folds.append(fold)
            reader.rollback()
        assert folds[0].since == folds[1].since and folds[0].state == folds[1].state
        assert folds[0].state.batch > folds[0].since.batch
        assert_second_fold_loses(session, other, unit_series.store, folds)
    session.expire_all()
    _assert_series(session, pilot_id)
    assert unit_series.store(session, folds[1]) is False  # a stale fold never applies
    session.rollback()


def test_a_fold_that_cannot_be_written_leaves_the_request_answered(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=51, metrics=METRICS)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 51))
    dbapi_error = session.get_bind().dialect.dbapi.OperationalError

    def busy(*args):
        raise dbapi_error("database is locked")

    with monkeypatch.context() as patch:
        patch.setattr(unit_series, "store", busy)
        document = results_document(session, pilot_id, use_cache=False)
    assert unit_series.PENDING not in session.info and unit_series.read_state(session, pilot_id) is None
    assert results_document(session, pilot_id, use_cache=False) == document  # the next request builds instead
    assert unit_series.read_state(session, pilot_id) is not None
    assert results_document(session, pilot_id, use_cache=False) == document


def test_small_pilots_and_as_of_reads_do_not_build(app, session):
    pilot_id, roster = make_pilot(session, SIM, seed=53, metrics=METRICS)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 53))
    results_document(session, pilot_id, use_cache=False)
    assert unit_series.read_state(session, pilot_id) is None  # below BUILD_ROWS
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(unit_series, "BUILD_ROWS", 1)
        results_document(session, pilot_id, START + timedelta(days=10), use_cache=False)
        assert unit_series.read_state(session, pilot_id) is None  # an as_of read never builds


def test_encoding_round_trips_and_refuses_what_it_cannot_hold():
    rows = series_records.Rows(
        ["b", "a"],
        np.array([0, 1, 0, 1]),
        np.array([5, 0, 1, 2]),
        np.array([[1, 2, 3, 4]] * 5 + [[0.1, 0.2, 0.3, 1e300]] * 2, dtype=float),
    )
    encoded = [pair for part in series_records.encode(rows, size=1) for pair in part]
    assert [m for m, _ in encoded] == ["b", "a"]
    back = series_records.decode(encoded)
    assert back.moderators == ["b", "a"]
    assert back.day.tolist() == [1, 5, 0, 2] and back.moderator.tolist() == [0, 0, 1, 1]
    assert back.data[:, 0].tolist() == [3.0] * 5 + [0.3, 0.3]
    assert series_records.encodable(rows)
    half = series_records.Rows(rows.moderators, rows.moderator, rows.day, rows.data + 0.5)
    assert not series_records.encodable(half)


def test_units_of_one_moderator_each_are_built_as_the_general_path_builds_them():
    assignments = [
        ("m3", "m3", "treatment", "s1", "2026-03-02", False),
        ("m1", "m1", "control", "s2", "2026-03-09", True),
        ("m2", "m2", "control", "s1", None, 0),
        ("m4", "m4", "treatment", "s2", date(2026, 3, 2), 1),
    ]
    roster = {"m1": ("m1", "a", None, 3), "m3": ("m3", None, "en", None), "m4": ("m4", "b", "fr", 12)}
    data_from = {row[0]: date.fromisoformat(str(row[4])[:10]) for row in assignments if row[4] is not None}
    fast = units_module._single_moderator_units(assignments, roster, data_from)
    general = units_module._units(assignments, roster, data_from)
    assert (fast.ids, fast.strata, fast.index_of_moderator, fast.data_from) == (
        general.ids,
        general.strata,
        general.index_of_moderator,
        general.data_from,
    )
    assert fast.ids == ("m1", "m2", "m3", "m4")
    for name in ("arms", "late_joiner"):
        assert getattr(fast, name).tolist() == getattr(general, name).tolist()
    for name, values in general.attributes.items():
        assert fast.attributes[name].dtype == values.dtype
        np.testing.assert_array_equal(fast.attributes[name], values)


@pytest.mark.parametrize("unit", ["moderator", "team"])
def test_remembered_units_follow_late_joiners(app, session, monkeypatch, unit):
    """`load_units` remembers a pilot's units across requests and batches of audits, and reads them again when late
    joiners join: the documents equal those computed with nothing remembered."""
    pilot_id, roster = make_pilot(session, SIM, seed=55, metrics=METRICS, unit=unit)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 55, before=7))
    units_module.UNITS.clear()
    first = units_module.load_units(session, pilot_id, unit)
    assert not first.arms.flags.writeable and not first.attributes["tenure_months"].flags.writeable
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 55, since=7, before=9))
    assert units_module.load_units(session, pilot_id, unit) is first  # audits do not change the units

    joiners = _late_joiners(session, pilot_id, roster, 9)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 55, since=9))
    _ingest(app, session, pilot_id, _late_audits(session, pilot_id, joiners, "late", range(5, 14)))
    after = units_module.load_units(session, pilot_id, unit)
    assert after is not first and set(joiners) <= set(after.index_of_moderator)
    assert set(after.data_from) - set(first.data_from) == set(joiners)
    for as_of in (None, START + timedelta(days=10)):
        remembered = results_document(session, pilot_id, as_of, use_cache=False)
        assert units_module.load_units(session, pilot_id, unit) is after
        units_module.UNITS.clear()
        assert results_document(session, pilot_id, as_of, use_cache=False) == remembered
        after = units_module.load_units(session, pilot_id, unit)


def test_a_build_keeps_its_rows_in_a_file_until_the_fold_is_written():
    build = series_records.Build(batch=3)
    sums = np.array([[1.0, 2.0]] * 5 + [[0.25, 1e300]] * 2)
    build.add(["b", "a"], np.array([4, 0]), sums)
    build.add(["a"], np.array([2]), sums[:, :1] * 3)
    assert build.size == 3 and build._file.tell() == 3 * series_records.SPILLED.itemsize  # on disk, not in memory
    rows = build.rows()
    assert rows.moderators == ["b", "a"] and rows.moderator.tolist() == [0, 1, 1] and rows.day.tolist() == [4, 0, 2]
    assert rows.data.tobytes() == np.concatenate([sums, sums[:, :1] * 3], axis=1).tobytes()
    assert build.rows() is None and build._file is None  # taken once: the file is gone

    other = series_records.Build(batch=3)
    other.add(["a"], np.array([1]), sums[:, :1])
    other.add(["c"], np.array([1]), sums[:, :1] + 0.5)  # a count RECORDs cannot hold: nothing is kept
    assert not other.fits and other.size == 0 and other.rows() is None and other._file is None


def test_a_build_without_a_temporary_file_leaves_the_request_answered(app, session, monkeypatch, fold_every_read):
    pilot_id, roster = make_pilot(session, SIM, seed=57, metrics=METRICS)
    _ingest(app, session, pilot_id, _records(session, pilot_id, roster, 57))

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(series_records.tempfile, "TemporaryFile", full)
        document = results_document(session, pilot_id, use_cache=False)
    assert unit_series.read_state(session, pilot_id) is None  # nothing built, nothing claimed
    assert results_document(session, pilot_id, use_cache=False) == document  # the next request builds
    _assert_series(session, pilot_id)
    assert results_document(session, pilot_id, use_cache=False) == document


def test_unit_positions_are_remembered_per_moderators_and_start():
    assignments = [
        ("m1", "m1", "control", "s", "2026-03-02", False),
        ("m2", "m2", "treatment", "s", "2026-03-09", True),
    ]
    data_from = {m: date.fromisoformat(d) for m, _, _, _, d, _ in assignments}
    units = units_module._single_moderator_units(assignments, {}, data_from)
    unit_of, first_of = units.positions(["m2", "x", "m1"], date(2026, 3, 2))
    assert unit_of.tolist() == [1, -1, 0] and first_of.tolist() == [7, 0, 0]
    assert units.positions(["m2", "x", "m1"], date(2026, 3, 2))[0] is unit_of  # remembered
    unit_of, first_of = units.positions(["m1"], date(2026, 3, 9))
    assert unit_of.tolist() == [0] and first_of is None  # nobody's pilot data begin after the 9th
    assert not unit_of.flags.writeable
