"""The roster API: uploads (JSON, CSV), late joiners, assignments, balance, roles and error envelopes."""

from __future__ import annotations

import csv
import io

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pilots.assignment.randomization import randomize
from pilots.events import history
from tests.pilots._roster_factories import make_pilot, moderators

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def draft(session) -> int:
    pilot = make_pilot(session)
    session.commit()
    return pilot.id


def _launch(session, pilot_id: int) -> None:
    from pilots.models import Pilot

    pilot = session.get(Pilot, pilot_id)
    randomize(session, pilot)
    pilot.status = "running"
    session.commit()


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def test_put_json_then_read_back_as_json_and_csv(api, draft):
    rows = moderators(30)
    response = api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", json={"moderators": rows})
    assert response.status_code == 200 and response.json == {"pilot_id": draft, "moderators": 30}
    as_json = api.as_("analyst").get(f"/api/v1/pilots/{draft}/roster")
    assert as_json.status_code == 200 and as_json.json["moderators"][0] == rows[0]
    as_csv = api.as_("analyst").get(f"/api/v1/pilots/{draft}/roster?format=csv")
    assert as_csv.mimetype == "text/csv"
    again = api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", data=as_csv.data, headers=CSV)
    assert again.status_code == 200
    assert api.as_("analyst").get(f"/api/v1/pilots/{draft}/roster").json == as_json.json


def test_bad_upload_is_422_with_rows_and_nothing_written(api, draft):
    api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", json={"moderators": moderators(3)})
    rows = [{"moderator_id": "a"}, {"moderator_id": "a"}, {"moderator_id": "b", "tenure_months": "x"}]
    response = api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", json={"moderators": rows})
    assert response.status_code == 422
    assert [(d["row"], d["field"]) for d in response.json["error"]["details"]] == [
        (2, "moderator_id"),
        (3, "tenure_months"),
    ]
    assert len(api.as_("pm").get(f"/api/v1/pilots/{draft}/roster").json["moderators"]) == 3


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        (b"moderator_id,team\nm1,t\n", CSV, 422),
        (b"\xff\xfe\x00", CSV, 422),
        (b"", CSV, 422),
        (b"not json", {"Content-Type": "application/json"}, 422),
        (b"m1", {"Content-Type": "text/plain"}, 415),
    ],
)
def test_malformed_bodies_are_4xx(api, draft, data, headers, status):
    response = api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", data=data, headers=headers)
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message", "details"}


def test_roles(api, draft):
    body = {"moderators": moderators(4)}
    assert api.as_("analyst").put(f"/api/v1/pilots/{draft}/roster", json=body).status_code == 403
    assert api.as_("viewer").put(f"/api/v1/pilots/{draft}/roster", json=body).status_code == 403
    assert api.as_("admin").put(f"/api/v1/pilots/{draft}/roster", json=body).status_code == 200
    assert api.as_("viewer").get(f"/api/v1/pilots/{draft}/roster").status_code == 403
    assert api.as_("viewer").get(f"/api/v1/pilots/{draft}/assignments").status_code == 403
    assert api.as_("viewer").get(f"/api/v1/pilots/{draft}/balance").status_code == 409  # allowed, not launched


def test_unknown_pilot_is_404(api):
    assert api.as_("pm").put("/api/v1/pilots/424242/roster", json={"moderators": moderators(1)}).status_code == 404
    assert api.as_("pm").get("/api/v1/pilots/424242/assignments").status_code == 404


def test_launch_then_late_joiners_assignments_and_balance(api, session, draft):
    api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", json={"moderators": moderators(40)})
    _launch(session, draft)
    replaced = api.as_("pm").put(f"/api/v1/pilots/{draft}/roster", json={"moderators": moderators(2)})
    assert replaced.status_code == 409 and "POST" in replaced.json["error"]["message"]

    late = moderators(3, prefix="late")
    added = api.as_("pm").post(f"/api/v1/pilots/{draft}/roster", data=_csv(late), headers=CSV)
    assert added.status_code == 201 and added.json["added"] == 3
    assert {a["moderator_id"] for a in added.json["assignments"]} == {"late0000", "late0001", "late0002"}
    resent = api.as_("pm").post(f"/api/v1/pilots/{draft}/roster", json={"moderators": late})
    assert resent.status_code == 200 and resent.json["added"] == 0 and resent.json["unchanged"] == 3
    assert [a["arm"] for a in resent.json["assignments"]] == [a["arm"] for a in added.json["assignments"]]
    changed = [{**late[0], "site": "Elsewhere"}]
    conflict = api.as_("pm").post(f"/api/v1/pilots/{draft}/roster", json={"moderators": changed})
    assert conflict.status_code == 409 and conflict.json["error"]["details"][0]["fields"] == ["site"]

    assignments = api.as_("analyst").get(f"/api/v1/pilots/{draft}/assignments").json["assignments"]
    assert len(assignments) == 43
    assert set(assignments[0]) >= {"moderator_id", "team", "arm", "stratum"}
    as_csv = api.as_("analyst").get(f"/api/v1/pilots/{draft}/assignments", headers={"Accept": "text/csv"})
    parsed = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [(r["moderator_id"], r["arm"]) for r in parsed] == [(a["moderator_id"], a["arm"]) for a in assignments]

    balance = api.as_("viewer").get(f"/api/v1/pilots/{draft}/balance")
    assert balance.status_code == 200 and sum(balance.json["totals"]["units"].values()) == 43
    counts = api.as_("viewer").get(f"/api/v1/pilots/{draft}/balance?format=csv").get_data(as_text=True)
    assert counts.startswith("stratum,arm,units,moderators\n")
    actions = [e.action for e in history(session, draft)]
    assert actions == ["roster.replaced", "roster.late_joiners_added"]


def test_late_joiners_need_a_running_pilot(api, draft):
    response = api.as_("pm").post(f"/api/v1/pilots/{draft}/roster", json={"moderators": moderators(1)})
    assert response.status_code == 409 and "PUT" in response.json["error"]["message"]


def test_bad_format_parameter_is_4xx(api, draft):
    response = api.as_("analyst").get(f"/api/v1/pilots/{draft}/roster?format=xml")
    assert response.status_code in (400, 422)


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    roster_path = next(p for p in paths if p.endswith("/roster"))
    assert {"get", "put", "post"} <= set(paths[roster_path])
    assert any(p.endswith("/assignments") for p in paths) and any(p.endswith("/balance") for p in paths)


ROSTER_OPERATIONS = {
    "PUT /api/v1/pilots/{pilot_id}/roster",
    "POST /api/v1/pilots/{pilot_id}/roster",
    "GET /api/v1/pilots/{pilot_id}/roster",
    "GET /api/v1/pilots/{pilot_id}/assignments",
    "GET /api/v1/pilots/{pilot_id}/balance",
}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_roster_routes_conform_to_the_document(app, api, draft, mode):
    """Fuzz the roster operations against their OpenAPI description (a few deterministic examples each): never a
    5xx, only documented status codes and bodies. Schema-valid rosters may still be refused (409 for a draft's
    late joiners, 422 for cross-row rules like duplicate ids), so positive-data acceptance is not checked."""
    headers = {"Authorization": f"Bearer {api._tokens['pm']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if operation.label in ROSTER_OPERATIONS]
    assert len(operations) == len(ROSTER_OPERATIONS)
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters={"pilot_id": draft}))
        @settings(
            max_examples=5, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        run()


def test_end_to_end_with_the_registry_launch(api):
    body = {
        "name": "Macro tool",
        "kind": "tool",
        "metrics": [{"name": "accuracy"}],
        "start_date": "2030-01-01",
        "end_date": "2030-02-01",
        "strata": ["site", "tenure_months", "baseline_accuracy"],
        "layer": "queue",
    }
    first = api.as_("pm").post("/api/v1/pilots", json=body).json["id"]
    second = api.as_("pm").post("/api/v1/pilots", json={**body, "name": "Rival"}).json["id"]
    for pilot_id in (first, second):
        api.as_("pm").put(f"/api/v1/pilots/{pilot_id}/roster", json={"moderators": moderators(24)})
    assert api.as_("pm").post(f"/api/v1/pilots/{first}/launch").status_code == 200
    conflict = api.as_("pm").post(f"/api/v1/pilots/{second}/launch")
    assert conflict.status_code == 409 and len(conflict.json["error"]["details"]) == 24
    assert conflict.json["error"]["details"][0]["pilot_id"] == first
    assignments = api.as_("analyst").get(f"/api/v1/pilots/{first}/assignments").json["assignments"]
    assert len(assignments) == 24 and {a["arm"] for a in assignments} == {"control", "treatment"}
