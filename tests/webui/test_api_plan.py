"""POST /api/v1/plan and GET /api/v1/pilots/{id}/plan."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.pilots.results_support import make_pilot, settings, write_unit_days

BODY = {
    "units": 240,
    "audits_per_week": 12,
    "baseline": 0.93,
    "icc": 0.15,
    "weeks": 8,
    "method": "group_sequential",
    "target_effect": 0.015,
}


def test_plan_from_parameters(api):
    response = api.as_("viewer").post("/api/v1/plan", json=BODY)
    assert response.status_code == 200, response.json
    plan = response.json
    assert len(plan["weeks"]) == 8 and plan["units_per_arm"] == [120, 120]
    mdes = [row["mde"] for row in plan["detectable_effect_by_week"]]
    assert mdes == sorted(mdes, reverse=True)
    assert plan["inflation_factor"] > 1
    assert plan["summary"].startswith("With 240 moderators at ~12 audits a week")
    assert plan["detectable_week"] is None or 1 <= plan["detectable_week"] <= 8


def test_plan_names_the_bad_field(api):
    for change, field in (
        ({"units": None}, "units"),
        ({"icc": 1.5}, "icc"),
        ({"audits_per_week": -1}, "audits_per_week"),
        ({"method": "magic"}, "method"),
        ({"weeks": 0}, "weeks"),
        ({"baseline": 3.0}, "baseline"),
        ({"colour": "red"}, "colour"),
    ):
        body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
        response = api.as_("viewer").post("/api/v1/plan", json=body)
        assert response.status_code == 422, (change, response.json)
        assert field in {d["field"] for d in response.json["error"]["details"]}, (change, response.json)


def test_pilot_plan_from_pre_period(api, session):
    sim = settings(n_moderators=60, weeks=4)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=4)
    write_unit_days(session, pilot_id, roster, sim)
    response = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/plan?target_effect=0.02")
    assert response.status_code == 200, response.json
    plan = response.json
    assert plan["variance_source"] == "pre_period" and plan["units"] == 60
    assert len(plan["weeks"]) == 4 and plan["design_inflation_factor"] > 1
    assert 0.85 < plan["baseline"] < 0.99
    assert "futility_power" not in plan


def test_pilot_plan_states_the_power_kept_with_futility_stopping(api, session):
    sim = settings(n_moderators=60, weeks=4)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential", looks=4, futility=True)
    write_unit_days(session, pilot_id, roster, sim)
    plan = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/plan").json
    assert 0.74 < plan["futility_power"] < 0.8
    assert plan["futility_note"].startswith(f"With futility stopping the pilot keeps {plan['futility_power']:.0%}")


def test_pilot_plan_without_pre_period_needs_parameters(api, session):
    pilot_id, _ = make_pilot(session, settings(n_moderators=30), pre_period=False)
    missing = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/plan")
    assert missing.status_code == 422
    assert "pre_period" in {d["field"] for d in missing.json["error"]["details"]}
    given = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/plan?baseline=0.93&icc=0.1&audits_per_week=12")
    assert given.status_code == 200 and given.json["variance_source"] == "parameters"
    assert api.as_("viewer").get("/api/v1/pilots/999/plan").status_code == 404


def test_plan_routes_are_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/plan"] and "get" in paths["/api/v1/pilots/{pilot_id}/plan"]


METHODS = [
    (method, spending)
    for method in ("fixed", "group_sequential", "always_valid")
    for spending in ("obrien_fleming", "pocock")
]
SOLVER_WORDS = ("f(a)", "f(b)", "NaN", "solver", "brentq", "Traceback")


def _plan(api, **change):
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    return api.as_("viewer").post("/api/v1/plan", json=body)


def _fields(response) -> set[str]:
    return {d["field"] for d in response.json["error"]["details"]}


def _no_solver_text(response) -> None:
    text = response.get_data(as_text=True)
    assert not any(word in text for word in SOLVER_WORDS), text


@pytest.mark.parametrize(("method", "spending"), METHODS)
def test_zero_variance_is_422_naming_within(api, method, spending):
    """Zero total variance used to divide by zero (a 500): a within-moderator variance of 0 is impossible."""
    for components in ({"between": 0, "within": 0}, {"between": 0.01, "within": 0}):
        response = _plan(api, icc=None, variance_components=components, method=method, spending=spending)
        assert response.status_code == 422, response.json
        assert _fields(response) == {"variance_components.within"}
    # Any positive within-moderator variance is planned, with or without a spread between moderators.
    for components in ({"between": 0, "within": 1e-9}, {"between": 1e-300, "within": 1e-300}):
        response = _plan(api, icc=None, variance_components=components, method=method, spending=spending)
        assert response.status_code == 200, response.json


SEQUENTIAL = {"group_sequential", "always_valid"}
ALL = {"fixed", *SEQUENTIAL}
# (change to BODY, the field a 422 names or None for a 200, the methods that answer that 422)
EDGES = [
    ({"icc": 0}, None, ALL),
    ({"icc": 1}, None, ALL),
    ({"baseline": 0}, "baseline", ALL),
    ({"baseline": 1}, "baseline", ALL),
    ({"icc": None, "baseline": 0, "variance_components": {"between": 0, "within": 0.01}}, None, ALL),
    ({"icc": None, "baseline": 1, "variance_components": {"between": 0, "within": 0.01}}, None, ALL),
    ({"audits_per_week": 1e-9}, None, ALL),
    ({"audits_per_week": 1e-320}, "audits_per_week", ALL),
    ({"audits_per_week": 10_000}, None, ALL),
    ({"weeks": 1}, None, ALL),
    ({"weeks": 52}, None, ALL),
    ({"target_effect": 0}, "target_effect", ALL),
    ({"target_effect": -0.01}, None, ALL),
    ({"target_effect": 1e-12}, None, ALL),
    ({"target_effect": 1}, None, ALL),
    ({"target_effect": 1.5}, "target_effect", ALL),
    # Sequential designs cannot spend so little per look; the normal-mixture test cannot spend so much.
    ({"alpha": 1e-300}, "alpha", SEQUENTIAL),
    ({"alpha": 0.5, "power": 0.5}, "alpha", {"always_valid"}),
    ({"alpha": 0.2, "power": 0.5, "weeks": 2, "looks_per_week": 7}, None, ALL),
]


@pytest.mark.parametrize(("method", "spending"), METHODS)
def test_edges_of_the_allowed_range_answer_sensibly(api, method, spending):
    for change, field, methods in EDGES:
        response = _plan(api, method=method, spending=spending, **change)
        _no_solver_text(response)
        if field is None or method not in methods:
            assert response.status_code == 200, (change, response.json)
            rows = response.json["weeks"]
            assert all(row["mde"] is not None and row["mde"] > 0 for row in rows), change
        else:
            assert response.status_code == 422, (change, response.json)
            assert field in _fields(response), (change, response.json)


def test_a_huge_target_effect_on_handle_time_has_full_power(api):
    body = {
        "metric": "handle_time",
        "baseline": 300,
        "icc": None,
        "variance_components": {"between": 400, "within": 9e4},
    }
    for method, spending in METHODS:
        response = _plan(api, method=method, spending=spending, target_effect=1e300, **body)
        assert response.status_code == 200, response.json
        assert [row["power"] for row in response.json["weeks"]] == [1.0] * 8
        assert response.json["detectable_week"] == 1


@pytest.mark.parametrize("method", ["group_sequential", "always_valid"])
@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock"])
def test_daily_looks_for_a_year_are_planned(api, method, spending):
    """7 looks a week for 52 weeks used to answer 422 with scipy's text ("f(a) and f(b) must have different signs",
    "The function value at x=... is NaN")."""
    response = _plan(api, method=method, spending=spending, looks_per_week=7, weeks=52)
    assert response.status_code == 200, response.json
    plan = response.json
    assert plan["design"]["looks_per_week"] == 7 and len(plan["weeks"]) == 52
    mdes = [row["mde"] for row in plan["weeks"]]
    assert all(m is not None for m in mdes) and mdes[-1] < mdes[0]
    assert all(0 <= row["power"] <= 1 for row in plan["weeks"])
    assert plan["inflation_factor"] > 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "handle_time", "baseline": -5}, "baseline"),
        ({"metric": "handle_time", "baseline": 0}, "baseline"),
        ({"metric": "handle_time", "baseline": 300}, "icc"),
        ({"metric": "accuracy", "baseline": -0.1}, "baseline"),
        ({"metric": "critical_error_rate", "baseline": 1.2}, "baseline"),
    ],
)
def test_baseline_must_fit_the_metric(api, change, field):
    components = {"icc": None, "variance_components": {"between": 100, "within": 900}}
    with_icc = _plan(api, **change)
    assert with_icc.status_code == 422 and field in _fields(with_icc), with_icc.json
    if field == "baseline":
        with_components = _plan(api, **change, **components)
        assert with_components.status_code == 422 and _fields(with_components) == {"baseline"}
    handle_time = _plan(api, metric="handle_time", baseline=300, target_effect=-5, **components)
    assert handle_time.status_code == 200, handle_time.json


def test_pilot_plan_checks_the_baseline_against_the_metric(api, session):
    sim = settings(n_moderators=40, weeks=4)
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim)
    path = f"/api/v1/pilots/{pilot_id}/plan"
    for query in (
        "?baseline=-0.2",
        "?baseline=1.5",
        "?metric=handle_time&baseline=-5",
        "?metric=handle_time&baseline=0",
    ):
        response = api.as_("viewer").get(path + query)
        assert response.status_code == 422, (query, response.json)
        assert {d["field"] for d in response.json["error"]["details"]} == {"baseline"}, query
    assert api.as_("viewer").get(path + "?target_effect=0").status_code == 422
    # A baseline of 0 is a baseline, not "no baseline": it is used, not replaced by the pre-period's.
    zero = api.as_("viewer").get(path + "?baseline=0")
    assert zero.status_code == 200 and zero.json["baseline"] == 0
    assert api.as_("viewer").get(path + "?metric=handle_time&baseline=250").status_code == 200
    no_pre = make_pilot(session, settings(n_moderators=30), pre_period=False)[0]
    response = api.as_("viewer").get(f"/api/v1/pilots/{no_pre}/plan?baseline=-0.5&icc=0.1&audits_per_week=12")
    assert response.status_code == 422 and {d["field"] for d in response.json["error"]["details"]} == {"baseline"}
    response = api.as_("viewer").get(
        f"/api/v1/pilots/{no_pre}/plan?metric=handle_time&baseline=300&icc=0.1&audits_per_week=12"
    )
    assert response.status_code == 422 and "icc" in {d["field"] for d in response.json["error"]["details"]}


# Bodies within the schema's bounds, mostly valid (a baseline out of the metric's range now and then). Most examples
# plan a few weeks; the explicit examples take the largest horizon with daily looks.
FINITE = {"allow_nan": False, "allow_infinity": False}
COMPONENTS = st.fixed_dictionaries(
    {"between": st.floats(0, 1e6, **FINITE), "within": st.floats(1e-9, 1e6, **FINITE)}
).map(lambda components: {"variance_components": components})
UNITS = st.one_of(
    st.fixed_dictionaries(
        {"units": st.integers(2, 1_000_000)},
        optional={"weights": st.lists(st.floats(1e-3, 1e6, **FINITE), min_size=2, max_size=10)},
    ),
    st.fixed_dictionaries({"units_per_arm": st.lists(st.integers(1, 1_000_000), min_size=2, max_size=10)}),
)
COMMON = st.fixed_dictionaries(
    {
        "audits_per_week": st.one_of(
            st.floats(1, 100, **FINITE), st.floats(min_value=0, max_value=10_000, exclude_min=True, **FINITE)
        ),
        "weeks": st.one_of(st.integers(1, 6), st.just(52)),
        "alpha": st.one_of(
            st.sampled_from([0.01, 0.05, 0.1]), st.floats(min_value=0, max_value=0.5, exclude_min=True, **FINITE)
        ),
        "power": st.floats(min_value=0.5, max_value=1, exclude_max=True, **FINITE),
        "method": st.sampled_from(["fixed", "group_sequential", "always_valid"]),
        "looks_per_week": st.integers(1, 7),
        "spending": st.sampled_from(["obrien_fleming", "pocock"]),
        "audit_rate_cv": st.floats(0, 5, **FINITE),
        "pre_period_audits_per_unit": st.one_of(st.just(0.0), st.floats(0, 100_000, **FINITE)),
    },
    optional={"target_effect": st.one_of(st.floats(-1, 1, **FINITE), st.floats(**FINITE))},
)


def _for_metric(metric: str):
    if metric == "handle_time":
        baseline, variance = st.floats(1e-6, 1e6, **FINITE), COMPONENTS
    else:
        baseline = st.floats(0, 1, **FINITE)
        variance = st.one_of(st.floats(0, 1, **FINITE).map(lambda icc: {"icc": icc}), COMPONENTS)
    baseline = st.one_of(baseline, baseline, st.floats(**FINITE))
    return st.tuples(baseline, variance, UNITS, COMMON).map(
        lambda parts: {"metric": metric, "baseline": parts[0], **parts[1], **parts[2], **parts[3]}
    )


plan_bodies = st.sampled_from(["accuracy", "critical_error_rate", "handle_time"]).flatmap(_for_metric)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@example(body={**BODY, "method": "always_valid", "looks_per_week": 7, "weeks": 52})
@example(body={**BODY, "method": "group_sequential", "spending": "pocock", "looks_per_week": 7, "weeks": 52})
@example(body={**BODY, "icc": None, "variance_components": {"between": 0, "within": 0}})
@example(
    body={
        **BODY,
        "metric": "handle_time",
        "baseline": -5,
        "icc": None,
        "variance_components": {"between": 1, "within": 9},
    }
)
@given(body=plan_bodies)
def test_any_plan_body_is_answered_200_or_422_naming_a_field(api, body):
    """Fuzz POST /plan within the schema's bounds: never a 500, never solver text, and a 422 names the fields at
    fault (fields of the body, dotted below `variance_components`)."""
    response = api.as_("viewer").post("/api/v1/plan", json=body)
    assert response.status_code in (200, 422), (body, response.status_code, response.get_data(as_text=True))
    _no_solver_text(response)
    if response.status_code == 422:
        fields = _fields(response)
        assert fields, response.json
        assert all(field.split(".")[0] in body for field in fields), (body, response.json)
    else:
        for row in response.json["weeks"]:
            assert row["mde"] is None or (math.isfinite(row["mde"]) and row["mde"] > 0), (body, row)
