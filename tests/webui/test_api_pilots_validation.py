"""Bad input to the pilot registry API: every rejected body or query is a 422 naming the field, nothing stored."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pilots.models import Pilot
from tests.webui.test_api_pilots import body


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=paused", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("limit=abc", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("sort=name", "sort"),
        ("limit=1&limit=2", "limit"),
    ],
)
def test_list_rejects_bad_query(api, query, field):
    response = api.get(f"/api/v1/pilots?{query}")
    assert response.status_code == 422
    assert field in [d["field"] for d in response.json["error"]["details"]]


# --- bad bodies ---------------------------------------------------------------------------------------------------


def _without(field):
    result = body()
    del result[field]
    return result


BAD_BODIES = [
    ("missing name", _without("name"), "name"),
    ("missing metrics", _without("metrics"), "metrics"),
    ("missing start", _without("start_date"), "start_date"),
    ("empty name", body(name="   "), "name"),
    ("name with NUL", body(name="a\x00b"), "name"),
    ("long name", body(name="x" * 201), "name"),
    ("bad kind", body(kind="process"), "kind"),
    ("bad unit", body(unit="site"), "unit"),
    ("one arm", body(arms=[{"name": "control"}]), "arms"),
    ("eleven arms", body(arms=[{"name": f"a{i}"} for i in range(11)]), "arms"),
    ("zero weight", body(arms=[{"name": "c", "weight": 1}, {"name": "t", "weight": 0}]), "arms.1.weight"),
    ("float weight", body(arms=[{"name": "c", "weight": 1}, {"name": "t", "weight": 1.5}]), "arms.1.weight"),
    ("string weight", body(arms=[{"name": "c", "weight": 1}, {"name": "t", "weight": "2"}]), "arms.1.weight"),
    ("huge weight", body(arms=[{"name": "c", "weight": 1}, {"name": "t", "weight": 10**30}]), "arms.1.weight"),
    ("duplicate arm", body(arms=[{"name": "c"}, {"name": "C"}]), "arms.1.name"),
    ("unsafe arm name", body(arms=[{"name": "c"}, {"name": "t<script>"}]), "arms.1.name"),
    ("arm extra field", body(arms=[{"name": "c"}, {"name": "t", "share": 2}]), "arms.1.share"),
    ("no primary", body(metrics=[{"name": "accuracy", "role": "secondary"}]), "metrics"),
    ("unknown metric", body(metrics=[{"name": "speed"}]), "metrics.0.name"),
    (
        "duplicate metric",
        body(metrics=[{"name": "accuracy"}, {"name": "accuracy", "role": "secondary"}]),
        "metrics.1.name",
    ),
    (
        "guardrail without margin",
        body(metrics=[{"name": "accuracy"}, {"name": "handle_time", "role": "guardrail"}]),
        "metrics.1.margin",
    ),
    (
        "zero margin",
        body(metrics=[{"name": "accuracy"}, {"name": "handle_time", "role": "guardrail", "margin": 0}]),
        "metrics.1.margin",
    ),
    ("margin on primary", body(metrics=[{"name": "accuracy", "margin": 0.1}]), "metrics.0.margin"),
    (
        "relative margin over 100%",
        body(
            metrics=[
                {"name": "accuracy"},
                {"name": "handle_time", "role": "guardrail", "margin": 1.5, "relative": True},
            ]
        ),
        "metrics.1.margin",
    ),
    (
        "absolute margin on a proportion",
        body(metrics=[{"name": "critical_error_rate", "role": "guardrail", "margin": 2}, {"name": "accuracy"}]),
        "metrics.0.margin",
    ),
    ("bad role", body(metrics=[{"name": "accuracy", "role": "main"}]), "metrics.0.role"),
    ("bad spending", body(design={"spending": "haybittle"}), "design.spending"),
    ("bad method", body(design={"method": "bayesian"}), "design.method"),
    ("alpha 0", body(design={"alpha": 0}), "design.alpha"),
    ("alpha 1", body(design={"alpha": 1}), "design.alpha"),
    ("power 1", body(design={"power": 1.0}), "design.power"),
    ("zero looks", body(design={"looks": 0}), "design.looks"),
    ("design extra", body(design={"tau": 1}), "design.tau"),
    ("futility as string", body(design={"method": "group_sequential", "futility": "yes"}), "design.futility"),
    ("futility without looks", body(design={"method": "always_valid", "futility": True}), "design.futility"),
    ("negative seed", body(seed=-1), "seed"),
    ("huge seed", body(seed=2**64), "seed"),
    ("bool seed", body(seed=True), "seed"),
    ("end before start", body(end_date="2030-06-01"), "end_date"),
    ("end equals start", body(end_date="2030-06-03"), "end_date"),
    ("shorter than min_days", body(end_date="2030-06-10"), "end_date"),
    ("pre-period after start", body(pre_period_start="2030-06-03"), "pre_period_start"),
    ("timestamp date", body(start_date="2024-06-03T00:00:00"), "start_date"),
    ("numeric date", body(start_date=20240603), "start_date"),
    ("impossible date", body(start_date="2024-02-30"), "start_date"),
    ("duplicate stratum", body(strata=["site", "site"]), "strata.1"),
    ("bad stratum name", body(strata=["site; drop"]), "strata.0"),
    ("team stratum for team unit", body(unit="team", strata=["team"]), "strata.0"),
    ("unknown field", body(status="running"), "status"),
    ("bad layer", body(layer="a b/c"), "layer"),
]


@pytest.mark.parametrize(("case", "payload", "field"), BAD_BODIES, ids=[case for case, _, _ in BAD_BODIES])
def test_create_rejects_bad_body_naming_the_field(api, case, payload, field):
    response = api.as_("pm").post("/api/v1/pilots", json=payload)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert field in [d["field"] for d in error["details"]], error["details"]
    assert all(d["row"] is None for d in error["details"])


def test_create_lists_every_problem_at_once(api):
    payload = body(kind="x", name="", arms=[{"name": "c"}, {"name": "t", "weight": 0}], seed=-5)
    response = api.as_("pm").post("/api/v1/pilots", json=payload)
    fields = {d["field"] for d in response.json["error"]["details"]}
    assert fields == {"kind", "name", "arms.1.weight", "seed"}
    cross = body(arms=[{"name": "c"}, {"name": "c"}], end_date="2030-06-01", pre_period_start="2030-06-05")
    fields = {d["field"] for d in api.as_("pm").post("/api/v1/pilots", json=cross).json["error"]["details"]}
    assert fields == {"arms.1.name", "end_date", "pre_period_start"}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("", "application/json"),
        ("\xff\xfe", "application/json"),
    ],
)
def test_malformed_json_bodies_are_422_on_body(api, data, content_type):
    response = api.as_("pm").post("/api/v1/pilots", data=data, content_type=content_type)
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("name=x", "application/x-www-form-urlencoded"), ('{"name": "x"}', "text/plain"), ('{"name": "x"}', None)],
)
def test_bodies_that_are_not_json_are_415(api, data, content_type):
    """The OpenAPI document has always said 415 here; the route used to answer 422."""
    response = api.as_("pm").post("/api/v1/pilots", data=data, content_type=content_type)
    assert response.status_code == 415
    error = response.json["error"]
    assert error["code"] == "unsupported_media_type" and "application/json" in error["message"]
    assert error["details"][0]["field"] == "Content-Type"


def test_non_finite_numbers_are_rejected(api):
    data = '{"name": "x", "kind": "tool", "metrics": [{"name": "accuracy"}], "start_date": "2024-06-03", '
    data += '"end_date": "2024-07-01", "design": {"alpha": NaN, "power": Infinity}}'
    response = api.as_("pm").post("/api/v1/pilots", data=data, content_type="application/json")
    assert response.status_code == 422
    assert {"design.alpha", "design.power"} <= {d["field"] for d in response.json["error"]["details"]}


def test_nothing_is_stored_after_rejection(api, session):
    api.as_("pm").post("/api/v1/pilots", json=body(kind="x"))
    assert session.exec(select(Pilot)).all() == []
