"""The QA rollups (`qa_day`, `qa_grade`): kept by ingestion, equal to an aggregation of the stored audits, and what
the QA sections of the results read. The reference is the old read of the raw outcomes, kept here: the QA sections
computed from the rollups are identical to it (bit for bit for the graded metrics, whose sums are counts; at the
latest day and at an `as_of`), they survive the
retention purge unchanged, and they apply the panel's data cut (a late joiner's audits before `data_from` are set
aside, exactly as in the main analysis)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
from sqlmodel import func, select

from pilots import ingestion, qa_rollups, retention
from pilots.models import Pilot, QaGrade
from pilots.models._time import utcnow
from pilots.results import qa
from pilots.results.document import build_document
from pilots.results.loader import load_panel
from pilots.results.qa_data import cells_from_rows, ratings_from_rows
from pilots.results.units import fetch_rows
from pilots.roster import add_late_joiners
from pilots.roster.upload import RosterRow
from pilots.schemas import plan_of
from pilots.simulation.qa import QaScenario
from tests.pilots.results_support import START, ingest_audits, make_pilot, settings
from webui.database import sessions

# The raw-outcome read the QA analyses used before the rollups (the reference).
_OLD_CELLS = (
    "SELECT moderator_id, policy, queue, auditor_id, count(*), sum(CASE WHEN correct THEN 1 ELSE 0 END), "
    "count(critical), sum(CASE WHEN critical THEN 1 ELSE 0 END), count(handle_time_s), "
    "coalesce(sum(handle_time_s), 0), coalesce(sum(handle_time_s * handle_time_s), 0) "
    "FROM outcome WHERE pilot_id = {m} AND day >= {m} AND day <= {m} GROUP BY moderator_id, policy, queue, auditor_id"
)
_OLD_RATINGS = (
    "SELECT item_id, auditor_id, moderator_id, correct, critical FROM outcome WHERE pilot_id = {m} "
    "AND day >= {m} AND day <= {m} AND item_id IS NOT NULL AND auditor_id IS NOT NULL"
)


def _old_cells(session, pilot_id, units, start, first, cut):
    rows = [(0, *row) for row in fetch_rows(session, _OLD_CELLS, pilot_id, start, cut)]
    if first < start:
        rows += [(1, *row) for row in fetch_rows(session, _OLD_CELLS, pilot_id, first, start - timedelta(days=1))]
    return cells_from_rows(units, rows)


def _old_ratings(session, pilot_id, units, start, first, cut):
    return ratings_from_rows(units, fetch_rows(session, _OLD_RATINGS, pilot_id, first, cut))


def _qa_sections(document: dict) -> str:
    """Every part of the results document the QA analyses fill, as canonical JSON."""
    keys = ("by_policy", "by_policy_heterogeneity", "by_queue", "by_queue_heterogeneity", "critical_policies")
    parts = {
        "metrics": [
            {
                **{key: metric[key] for key in keys},
                "adjusted": [c["auditor_adjusted"] for c in metric["comparisons"]],
            }
            for metric in document["metrics"]
        ],
        "checks": [c for c in document["checks"] if c["name"].startswith("auditor_")],
        "qa_health": document["qa_health"],
    }
    return json.dumps(parts, sort_keys=True, allow_nan=False)


def _spy(load_folded, answered: list):
    """`qa_levels.load_folded` that records whether it answered (True) or sent the read to `qa_day` (False)."""

    def spy(*args):
        cells = load_folded(*args)
        answered.append(cells is not None)
        return cells

    return spy


def _same_rollups(stored: dict, direct: dict) -> bool:
    """Counts exactly; handle-time sums up to the order of summation (per day, then across days, or per audit)."""
    assert stored.keys() == direct.keys()
    for key, sums in stored.items():
        assert sums[:5] == direct[key][:5] and sums[5:] == pytest.approx(direct[key][5:], rel=1e-12)
    return True


def _pilot(app, session, sim, seed: int, **pilot) -> int:
    pilot_id, roster = make_pilot(session, sim, seed=seed, **pilot)
    with app.app_context():
        factory = sessions()
    ingest_audits(factory, session, pilot_id, roster, sim, seed=seed)
    session.commit()
    return pilot_id


PILOTS = [
    (settings(n_moderators=60, weeks=3, pre_weeks=1, qa=QaScenario(double_audit_share=0.15, grading_error=0.03)), {}),
    (
        settings(
            n_moderators=50,
            weeks=3,
            pre_weeks=1,
            qa=QaScenario(leniency_sd_points=4, allocation="skewed", skew=0.7, double_audit_share=0.1),
        ),
        {
            "metrics": [
                {"name": "accuracy", "role": "primary"},
                {"name": "critical_error_rate", "role": "guardrail", "margin": 0.01},
            ]
        },
    ),
    (settings(n_moderators=60, weeks=2, pre_weeks=0, qa=QaScenario(unblinded_points=6, double_audit_share=0.1)), {}),
]


@pytest.mark.parametrize(("sim", "pilot"), PILOTS, ids=["calibrated", "skewed-two-metrics", "unblinded-no-pre"])
def test_qa_sections_from_the_rollups_equal_the_raw_outcome_read(app, session, monkeypatch, sim, pilot):
    pilot_id = _pilot(app, session, sim, seed=len(json.dumps(pilot)) % 7 + 3, **pilot)
    assert _same_rollups(qa_rollups.stored(session, pilot_id), qa_rollups.from_outcomes(session, pilot_id))
    grades = session.scalar(select(func.count()).select_from(QaGrade).where(QaGrade.pilot_id == pilot_id))
    assert grades > 20  # double-audited items are there to agree on
    as_of = START + timedelta(days=9)
    folded = []
    monkeypatch.setattr(qa.qa_levels, "load_folded", _spy(qa.qa_levels.load_folded, folded))
    new = [_qa_sections(build_document(session, pilot_id)), _qa_sections(build_document(session, pilot_id, as_of))]
    assert folded and all(folded)  # the latest document (and its replays) read the per-dimension sums
    monkeypatch.setattr(qa.qa_levels, "load_folded", lambda *args: None)
    monkeypatch.setattr(qa, "load_cells", _old_cells)
    monkeypatch.setattr(qa, "load_ratings", _old_ratings)
    old = [_qa_sections(build_document(session, pilot_id)), _qa_sections(build_document(session, pilot_id, as_of))]
    assert new == old
    assert new[0] != new[1]  # the as_of view is its own cut
    assert json.loads(new[0])["qa_health"]["agreement"] is not None


def test_a_purged_pilot_shows_the_same_qa_sections_as_before(app, session):
    sim, _ = PILOTS[0]
    pilot_id = _pilot(app, session, sim, seed=4)
    with app.app_context():
        factory = sessions()
    context = ingestion.load(factory, pilot_id)
    moderator, at = sorted(context.window.roster)[0], f"{START + timedelta(days=3)}T10:00:00Z"
    single = [  # items graded once: never part of the agreement, so the purge drops them
        {"audit_id": f"single-{k}", "moderator_id": moderator, "audited_at": at, "correct": True, "item_id": f"s{k}"}
        | {"auditor_id": "qa-solo"}
        for k in range(5)
    ]
    ingestion.store(factory, context, ingestion.parse_json_records(single, context.window), actor="t", source="t")
    pilot = session.get(Pilot, pilot_id)
    pilot.status, pilot.concluded_at = "concluded", utcnow() - timedelta(days=2)
    session.commit()
    before = _qa_sections(build_document(session, pilot_id))
    graded = session.exec(select(QaGrade.item_id).where(QaGrade.pilot_id == pilot_id)).all()

    assert [p.pilot_id for p in retention.purge(session, days=1, actor="retention")] == [pilot_id]

    session.expire_all()
    kept = session.exec(select(QaGrade.item_id).where(QaGrade.pilot_id == pilot_id)).all()
    assert 0 < len(kept) == len(graded) - 5  # only the double-audited items stay
    assert all(count >= 2 for count in np.unique(kept, return_counts=True)[1])
    after = _qa_sections(build_document(session, pilot_id))
    assert after == before
    assert json.loads(after)["metrics"][0]["by_policy"][0]["difference"] is not None


def test_qa_subsets_apply_the_data_cut_of_the_main_analysis(app, session):
    sim = settings(n_moderators=40, weeks=3, pre_weeks=1, qa=QaScenario(double_audit_share=0.2))
    pilot_id, roster = make_pilot(session, sim, seed=8)
    joined = datetime.combine(START + timedelta(days=6), time(15, 30), tzinfo=UTC)
    late = [RosterRow(f"late-{k}", roster[0]["team"], roster[0]["site"], roster[0]["language"], 3.0) for k in range(6)]
    add_late_joiners(session, pilot_id, late, "pm-user", joined_at=joined)  # data_from: day 7
    with app.app_context():
        factory = sessions()
    ingest_audits(factory, session, pilot_id, roster, sim, seed=8)
    records = []
    for k, row in enumerate(late):
        for day in range(-3, 14):  # pre-period, set-aside (days 0-6) and pilot data
            at = datetime.combine(START + timedelta(days=day), time(9 + k), tzinfo=UTC).isoformat()
            base = {"moderator_id": row.moderator_id, "audited_at": at, "critical": False, "handle_time_s": 30.0}
            for auditor in ("qa-x-01", "qa-x-02"):  # every item double-audited, disagreeing on the set-aside days
                records.append(
                    {
                        **base,
                        "audit_id": f"{row.moderator_id}-{day}-{auditor}",
                        "correct": auditor == "qa-x-01" or day >= 7,
                        "policy": "spam",
                        "queue": "late",
                        "auditor_id": auditor,
                        "item_id": f"{row.moderator_id}-{day}",
                    }
                )
    context = ingestion.load(factory, pilot_id)
    ingestion.store(factory, context, ingestion.parse_json_records(records, context.window), actor="t", source="t")
    session.commit()

    plan = plan_of(session.get(Pilot, pilot_id))
    through = START + timedelta(days=20)
    panel = load_panel(session, pilot_id, plan.unit, plan.start_date, through, plan.pre_period_start)
    assert panel.set_aside.sum() == len(late) * 7 * 2
    cells, ratings = qa.load(session, pilot_id, plan, panel, (through - START).days)
    audits = cells.level_sums("policy", "audits")
    assert np.array_equal(audits.sum(axis=1), panel.column("audits").sum(axis=1))  # same cut, unit by unit
    assert np.array_equal(cells.level_sums("queue", "correct").sum(axis=1), panel.column("correct").sum(axis=1))
    pre = cells.level_sums("auditor", "audits", pre=True).sum(axis=1)
    assert np.array_equal(pre, panel.pre_column("audits"))  # the pre-period stays covariate data for everyone
    late_units = [panel.units.index_of_moderator[row.moderator_id] for row in late]
    in_late = np.isin(ratings.unit, late_units)
    assert in_late.sum() == len(late) * (3 + 7) * 2  # pre-period and pilot-data items, none of the set-aside days
    by_item = ratings.correct[in_late].reshape(-1, 2)
    assert (by_item[:, 0] == by_item[:, 1]).sum() == len(late) * 7  # the disagreeing set-aside grades are cut


def test_ingestion_keeps_the_qa_rollups_with_duplicates_and_rolls_them_back_on_conflict(app, session):
    sim, _ = PILOTS[0]
    pilot_id = _pilot(app, session, sim, seed=6)
    before = qa_rollups.stored(session, pilot_id)
    with app.app_context():
        factory = sessions()
    context = ingestion.load(factory, pilot_id)
    day = (START + timedelta(days=3)).isoformat()
    moderator = sorted(context.window.roster)[0]
    fresh = {"audit_id": "fresh-1", "moderator_id": moderator, "audited_at": f"{day}T10:00:00Z", "correct": True}
    fresh |= {"policy": "spam", "queue": "q", "auditor_id": "qa-new", "item_id": "item-new"}
    clash = {**fresh, "audit_id": "fresh-2"}
    ingestion.store(factory, context, ingestion.parse_json_records([fresh], context.window), actor="t", source="t")
    session.commit()
    changed = {**fresh, "correct": False}
    with pytest.raises(Exception, match="different content"):  # 409: nothing of the batch is written
        batch = ingestion.parse_json_records([clash, changed], context.window)
        ingestion.store(factory, context, batch, actor="t", source="t")
    session.expire_all()
    after = qa_rollups.stored(session, pilot_id)
    assert _same_rollups(after, qa_rollups.from_outcomes(session, pilot_id))
    key = (day, moderator, "spam", "q", "qa-new")
    assert after.pop(key) == [1, 1, 0, 0, 0, 0, 0] and after == before
    grade = session.exec(select(QaGrade).where(QaGrade.pilot_id == pilot_id, QaGrade.item_id == "item-new")).one()
    assert (grade.auditor_id, grade.correct, grade.day) == ("qa-new", True, date.fromisoformat(day))


def _loop_sums(rows: list[tuple]) -> dict[tuple, list]:
    """The reference for `qa_rollups.aggregate`: a plain loop over the rows, adding each key's values in row order."""
    sums: dict[tuple, list] = {}
    for _, moderator, _, day, correct, critical, handle, policy, queue, auditor, _ in rows:
        acc = sums.setdefault((day, moderator, policy or "", queue or "", auditor or ""), [0, 0, 0, 0, 0, 0.0, 0.0])
        acc[0] += 1
        acc[1] += correct
        if critical is not None:
            acc[2] += 1
            acc[3] += critical
        if handle is not None:
            acc[4] += 1
            acc[5] += handle
            acc[6] += handle * handle
    return sums


def test_the_batch_aggregation_equals_a_plain_loop_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for n in range(5000):
        handle = None if n % 9 == 0 else float(rng.choice([rng.uniform(0, 3600), round(rng.uniform(0, 600), 1), 0.0]))
        rows.append(
            (
                f"a{n}",
                f"m{rng.integers(40)}",
                "",
                f"2026-03-0{rng.integers(1, 4)}",
                int(rng.integers(2)),
                None if n % 7 == 0 else int(rng.integers(2)),
                handle,
                None if n % 5 == 0 else f"p{rng.integers(3)}",
                f"q{rng.integers(2)}",
                None if n % 11 == 0 else f"qa{rng.integers(3)}",
                None,
            )
        )
    keys, sums = qa_rollups.aggregate(rows)
    expected = _loop_sums(rows)
    assert keys == list(expected)  # first-seen order
    got = [list(values) for values in zip(*sums, strict=True)]
    assert [[type(v) for v in values] for values in got] == [[int] * 5 + [float] * 2] * len(keys)
    assert [[float(v).hex() for v in values] for values in got] == [
        [float(v).hex() for v in values] for values in expected.values()
    ]
    assert qa_rollups.aggregate([]) == ([], [[] for _ in range(7)])
