"""POST /api/v1/plan and GET /api/v1/pilots/{id}/plan."""

from __future__ import annotations

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
