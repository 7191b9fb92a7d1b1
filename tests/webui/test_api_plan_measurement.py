"""The plan with a measurement-error share (`POST /plan`, `GET /pilots/{id}/plan`): every week's detectable effect
next to the one error-free grading would give, equal to the closed form for a fixed horizon."""

from __future__ import annotations

import math

import pytest

from tests.pilots.results_support import make_pilot, settings, write_unit_days

Z = 1.959963984540054 + 0.8416212335729143
BODY = {
    "metric": "handle_time",
    "units": 200,
    "audits_per_week": 10,
    "baseline": 60.0,
    "variance_components": {"between": 20.0, "within": 800.0},
    "weeks": 4,
    "method": "fixed",
}


def _variance(between: float, within: float, m: float, k: int) -> float:
    """`analysis.planning.difference_variance`'s closed form: Poisson audit counts, no pre-period, cv 0."""
    return (between * (1 + 1 / m) + within / m) * 2 / k


def test_fixed_plan_reports_the_detectable_effect_without_grading_noise(api):
    response = api.as_("viewer").post("/api/v1/plan", json={**BODY, "measurement_error_share": 0.3})
    assert response.status_code == 200, response.json
    note = response.json["measurement"]
    assert note["error_share"] == 0.3 and len(note["by_week"]) == 4
    error = 0.3 * 820.0
    for row in note["by_week"]:
        m = 10 * row["week"]
        assert row["mde"] == pytest.approx(Z * math.sqrt(_variance(20.0, 800.0, m, 100)), rel=1e-9)
        clean = _variance(20.0, 800.0 - error, m, 100)
        assert row["mde_without_noise"] == pytest.approx(Z * math.sqrt(clean), rel=1e-9)
    assert "error-free grading would detect" in note["message"]
    assert "measurement" not in api.as_("viewer").post("/api/v1/plan", json=BODY).json


def test_for_a_proportion_the_plan_scales_by_the_ratio_of_standard_errors(api):
    body = {**BODY, "metric": "accuracy", "baseline": 0.9, "variance_components": {"between": 0.002, "within": 0.08}}
    response = api.as_("viewer").post("/api/v1/plan", json={**body, "measurement_error_share": 0.3})
    assert response.status_code == 200, response.json
    note = response.json["measurement"]
    for row in note["by_week"]:
        m = 10 * row["week"]
        ratio = math.sqrt(_variance(0.002, 0.08 - 0.3 * 0.082, m, 100) / _variance(0.002, 0.08, m, 100))
        assert row["mde_without_noise"] == pytest.approx(row["mde"] * ratio, rel=1e-12)
    assert "points" in note["message"]


def test_a_share_outside_zero_to_one_is_refused_naming_the_field(api):
    response = api.as_("viewer").post("/api/v1/plan", json={**BODY, "measurement_error_share": 1.2})
    assert response.status_code == 422
    assert "measurement_error_share" in {d["field"] for d in response.json["error"]["details"]}


def test_the_pilot_plan_takes_the_share_as_a_query_parameter(api, session):
    sim = settings(n_moderators=60, weeks=4, pre_weeks=2)
    pilot_id, roster = make_pilot(session, sim, method="group_sequential")
    write_unit_days(session, pilot_id, roster, sim, until=sim.start_date)
    response = api.as_("pm").get(f"/api/v1/pilots/{pilot_id}/plan?measurement_error_share=0.2")
    assert response.status_code == 200, response.json
    rows = response.json["measurement"]["by_week"]
    assert all(row["mde_without_noise"] < row["mde"] for row in rows)
