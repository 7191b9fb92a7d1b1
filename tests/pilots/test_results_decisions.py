"""A verdict reached is a verdict kept: replaying pilots day by day (`as_of`), a decision once reached after the
minimum runtime never changes, and the document says when it was reached."""

from __future__ import annotations

from datetime import date, timedelta

from pilots.results import decisions
from pilots.results.document import build_document
from tests.pilots.results_support import START, make_pilot, settings, write_unit_days

GUARDRAILS = [
    {"name": "accuracy", "role": "primary"},
    {"name": "critical_error_rate", "role": "guardrail", "margin": 0.004},
]


def _replay(session, pilot_id: int, days: int) -> list[dict]:
    return [build_document(session, pilot_id, START + timedelta(days=d))["decision"] for d in range(days)]


def _assert_kept(replayed: list[dict], min_days: int) -> str | None:
    """Once decisive, every later day shows the same decision and date; returns the decision date."""
    decided = None
    for day, decision in enumerate(replayed):
        if decided is None:
            if decision["recommendation"] in ("go", "no_go") and not decision["provisional"]:
                assert day + 1 >= min_days
                decided = decision
                assert decision["decided_on"] is not None
            else:
                assert decision["decided_on"] is None
            continue
        assert decision["recommendation"] == decided["recommendation"]
        assert decision["decided_on"] == decided["decided_on"]
        assert decision["provisional"] is False
    return decided["decided_on"] if decided else None


def test_always_valid_decision_is_kept_day_by_day(session):
    sim = settings(n_moderators=80, weeks=4, accuracy_effect_points=3.0)
    pilot_id, roster = make_pilot(session, sim, metrics=GUARDRAILS, min_days=10)
    write_unit_days(session, pilot_id, roster, sim)
    replayed = _replay(session, pilot_id, 28)
    decided_on = _assert_kept(replayed, 10)
    assert decided_on is not None and date.fromisoformat(decided_on) >= START + timedelta(days=9)
    latest = replayed[-1]
    if latest["follow_up"] is not None:
        assert latest["follow_up"]["note"].startswith(f"The decision was reached on {decided_on}")


def test_group_sequential_decision_is_kept_day_by_day(session):
    sim = settings(n_moderators=100, weeks=6, accuracy_effect_points=3.0)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=6, min_days=14)
    write_unit_days(session, pilot_id, roster, sim)
    _assert_kept(_replay(session, pilot_id, 42), 14)


def _document(recommendation: str, through: str, provisional: bool = False) -> dict:
    return {
        "data_through": through,
        "decision": {"recommendation": recommendation, "reasons": [recommendation], "provisional": provisional},
    }


def test_a_withdrawn_crossing_keeps_the_earlier_decision():
    """The rule itself: a later analysis that would read `continue` (e.g. the estimate drifted back) does not
    withdraw a `go` reached at an earlier look; the later reading is kept as follow-up."""
    replays: list[date] = []

    def replay(day: date) -> dict:
        replays.append(day)
        return _document("go", day.isoformat())

    kept = decisions.keep(_document("continue", "2026-03-30"), START, [15], replay)
    assert replays == [START + timedelta(days=15)]
    assert kept["decision"]["recommendation"] == "go"
    assert kept["decision"]["decided_on"] == "2026-03-17"
    assert kept["decision"]["follow_up"]["recommendation"] == "continue"
    assert kept["decision"]["reasons"][0].startswith("The decision was reached on 2026-03-17")


def test_a_provisional_or_non_decisive_earlier_look_is_not_kept():
    kept = decisions.keep(
        _document("continue", "2026-03-30"), START, [5, 15], lambda day: _document("go", day.isoformat(), True)
    )
    assert kept["decision"]["recommendation"] == "continue" and kept["decision"]["decided_on"] is None
    current = decisions.keep(_document("no_go", "2026-03-30"), START, [], lambda day: {})
    assert current["decision"]["decided_on"] == "2026-03-30" and current["decision"]["follow_up"] is None
