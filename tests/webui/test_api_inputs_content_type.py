"""Routes that read a JSON body answer 415 to another content type (as their OpenAPI entries say) and 422 to JSON
that does not fit; body-less POSTs (launch, conclude without a note) work whatever the content type."""

from __future__ import annotations

import json

import pytest

from tests.webui.test_api_pilots import add_roster, body, create, launched
from tests.webui.test_api_plan import BODY as PLAN_BODY

NOT_JSON = [
    ("text/plain", '{"note": "x"}'),
    ("application/x-www-form-urlencoded", "note=x"),
    ("text/csv", "note\nx\n"),
    (None, '{"note": "x"}'),
]


def _routes(api, session) -> dict[str, tuple[str, str, str]]:
    """Each JSON-body route: (method, path, role)."""
    draft = create(api)["id"]
    running = launched(api, session)["id"]
    return {
        "createPilot": ("POST", "/api/v1/pilots", "pm"),
        "updatePilot": ("PATCH", f"/api/v1/pilots/{draft}", "pm"),
        "concludePilot": ("POST", f"/api/v1/pilots/{running}/conclude", "pm"),
        "plan": ("POST", "/api/v1/plan", "viewer"),
    }


@pytest.mark.parametrize(("content_type", "data"), NOT_JSON, ids=[str(c) for c, _ in NOT_JSON])
def test_json_body_routes_answer_415_naming_the_accepted_type(api, session, content_type, data):
    for operation, (method, path, role) in _routes(api, session).items():
        response = api.as_(role).open(method, path, data=data, content_type=content_type)
        assert response.status_code == 415, (operation, response.status_code, response.json)
        error = response.json["error"]
        assert error["code"] == "unsupported_media_type"
        assert "application/json" in error["message"], (operation, error)
        assert error["details"] == [
            {"row": None, "field": "Content-Type", "message": error["details"][0]["message"]}
        ], operation
        assert repr(content_type or "none") in error["details"][0]["message"]


def test_json_body_routes_still_answer_422_to_json_that_does_not_fit(api, session):
    for operation, (method, path, role) in _routes(api, session).items():
        response = api.as_(role).open(method, path, data="[1, 2]", content_type="application/json")
        assert response.status_code == 422, (operation, response.json)
        assert response.json["error"]["details"][0]["field"] == "body", operation


def test_json_with_a_suffix_or_charset_is_json(api, session):
    draft = create(api)["id"]
    patched = api.as_("pm").patch(
        f"/api/v1/pilots/{draft}", data='{"name": "Renamed"}', content_type="application/merge-patch+json"
    )
    assert patched.status_code == 200 and patched.json["name"] == "Renamed"
    created = api.as_("pm").post(
        "/api/v1/pilots", data=json.dumps(body()), content_type="application/json; charset=utf-8"
    )
    assert created.status_code == 201
    plan = api.as_("viewer").post(
        "/api/v1/plan", data=json.dumps(PLAN_BODY), content_type="application/json; charset=utf-8"
    )
    assert plan.status_code == 200


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_body_less_launch_works_and_body_less_conclude_asks_for_the_decision(api, session, content_type):
    running = launched(api, session)["id"]
    concluded = api.as_("pm").post(f"/api/v1/pilots/{running}/conclude", data="", content_type=content_type)
    assert concluded.status_code == 422 and concluded.json["error"]["details"][0]["field"] == "decision"
    body = {"decision": "stopped", "rationale": "Making room on the layer."}
    assert api.as_("pm").post(f"/api/v1/pilots/{running}/conclude", json=body).status_code == 200
    draft = create(api)["id"]
    add_roster(session, draft)
    launch = api.as_("pm").post(f"/api/v1/pilots/{draft}/launch", data="", content_type=content_type)
    assert launch.status_code == 200 and launch.json["status"] == "running"


def test_conclude_with_a_json_note(api, session):
    running = launched(api, session)["id"]
    body = {"decision": "stopped", "rationale": "Enough data.", "note": "Enough data."}
    response = api.as_("pm").post(f"/api/v1/pilots/{running}/conclude", json=body)
    assert response.status_code == 200 and response.json["status"] == "concluded"
