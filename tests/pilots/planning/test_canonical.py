"""The canonical plan and its hash, the typed plan view and the metric catalog (no database needed)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from pilots.catalog import METRICS, metric
from pilots.errors import Conflict
from pilots.models import Pilot
from pilots.planning.canonical import PLAN_FIELDS, canonical_json, canonical_plan, plan_hash, plan_matches, verify_plan
from pilots.schemas import plan_of


def make_pilot(**changes) -> Pilot:
    fields = {
        "id": 7,
        "name": "Macro suggestions",
        "kind": "tool",
        "hypothesis": "Faster and no worse",
        "owner": "pm-user",
        "layer": None,
        "unit": "moderator",
        "arms": [{"name": "control", "weight": 1}, {"name": "macros", "weight": 2}],
        "strata": ["site"],
        "seed": 42,
        "metrics": [
            {"name": "accuracy", "role": "primary", "margin": None, "relative": False},
            {"name": "handle_time", "role": "guardrail", "margin": 0.1, "relative": True},
        ],
        "design": {
            "method": "group_sequential",
            "alpha": 0.05,
            "power": 0.8,
            "looks": 4,
            "spending": "obrien_fleming",
            "min_days": 14,
        },
        "start_date": date(2024, 6, 3),
        "end_date": date(2024, 7, 1),
        "pre_period_start": date(2024, 5, 6),
    }
    fields.update(changes)
    return Pilot(**fields)


def test_canonical_json_is_sorted_and_compact():
    text = canonical_json(canonical_plan(make_pilot()))
    assert text.startswith('{"arms":[{"name":"control","weight":1}')
    assert ", " not in text and ": " not in text
    assert '"start_date":"2024-06-03"' in text


def test_hash_is_sha256_of_the_canonical_json():
    pilot = make_pilot()
    expected = hashlib.sha256(canonical_json(canonical_plan(pilot)).encode()).hexdigest()
    assert plan_hash(pilot) == expected and len(expected) == 64


def test_hash_ignores_key_order_and_lifecycle_state():
    reordered = make_pilot(design={k: v for k, v in reversed(make_pilot().design.items())})
    assert plan_hash(reordered) == plan_hash(make_pilot())
    assert plan_hash(make_pilot(status="running", data_version=9)) == plan_hash(make_pilot())


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Other"},
        {"seed": 43},
        {"arms": [{"name": "control", "weight": 1}, {"name": "macros", "weight": 1}]},
        {"design": make_pilot().design | {"alpha": 0.1}},
        {"end_date": date(2024, 7, 2)},
        {"pre_period_start": None},
        {"layer": "x"},
        {"strata": []},
    ],
)
def test_hash_changes_with_any_plan_field(changes):
    assert plan_hash(make_pilot(**changes)) != plan_hash(make_pilot())


def test_every_plan_field_is_canonical():
    assert set(canonical_plan(make_pilot())) == set(PLAN_FIELDS)


def test_verify_plan():
    pilot = make_pilot()
    assert not plan_matches(pilot)
    with pytest.raises(Conflict, match="not been launched"):
        verify_plan(pilot)
    pilot.plan_hash = plan_hash(pilot)
    assert plan_matches(pilot)
    verify_plan(pilot)
    pilot.seed = 1
    assert not plan_matches(pilot)
    with pytest.raises(Conflict, match="no longer matches"):
        verify_plan(pilot)


def test_plan_of_gives_a_typed_view():
    plan = plan_of(make_pilot())
    assert plan.control.name == "control"
    assert [arm.name for arm in plan.treatments] == ["macros"]
    assert plan.weights == {"control": 1, "macros": 2}
    assert plan.arm_names == ("control", "macros")
    assert [m.name for m in plan.primary] == ["accuracy"]
    assert plan.guardrails[0].margin == 0.1 and plan.guardrails[0].relative
    assert plan.design.spending == "obrien_fleming" and plan.design.looks == 4
    assert plan.definition("handle_time").direction == "lower"
    assert plan.pilot_id == 7 and plan.seed == 42 and plan.strata == ("site",)


def test_catalog():
    assert set(METRICS) == {"accuracy", "critical_error_rate", "handle_time"}
    assert METRICS["accuracy"].higher_is_better
    assert not METRICS["critical_error_rate"].higher_is_better
    assert (METRICS["critical_error_rate"].numerator, METRICS["critical_error_rate"].denominator) == (
        "critical",
        "critical_audits",
    )
    assert METRICS["handle_time"].sum_squares == "handle_sum2"
    with pytest.raises(KeyError, match="accuracy"):
        metric("speed")
