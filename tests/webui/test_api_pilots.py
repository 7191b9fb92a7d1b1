"""The pilot registry API: create, list, read, edit, launch, conclude, audit trail; roles and bad input."""

from __future__ import annotations

import copy

import pytest
from sqlmodel import select

from pilots.models import Assignment, Pilot, RosterEntry

BODY = {
    "name": "Macro suggestions",
    "kind": "tool",
    "hypothesis": "Suggested macros raise accuracy without slowing moderators down.",
    "layer": "queue-tools",
    "unit": "moderator",
    "arms": [{"name": "control", "weight": 1}, {"name": "macros", "weight": 1}],
    "strata": ["site", "language"],
    "metrics": [
        {"name": "accuracy", "role": "primary"},
        {"name": "handle_time", "role": "guardrail", "margin": 0.1, "relative": True},
        {"name": "critical_error_rate", "role": "secondary"},
    ],
    "design": {
        "method": "group_sequential",
        "alpha": 0.05,
        "power": 0.8,
        "looks": 4,
        "spending": "pocock",
        "min_days": 14,
        "futility": False,
    },
    "start_date": "2030-06-03",  # ahead: a real launch keeps it (a past one would move to the launch day)
    "end_date": "2030-07-01",
    "pre_period_start": "2030-05-06",
}

ROUTES = [
    ("POST", "/api/v1/pilots"),
    ("GET", "/api/v1/pilots"),
    ("GET", "/api/v1/pilots/{id}"),
    ("PATCH", "/api/v1/pilots/{id}"),
    ("POST", "/api/v1/pilots/{id}/launch"),
    ("POST", "/api/v1/pilots/{id}/conclude"),
    ("GET", "/api/v1/pilots/{id}/events"),
]
WRITES = {("POST", "/api/v1/pilots"), ("PATCH", "/api/v1/pilots/{id}")} | {
    ("POST", f"/api/v1/pilots/{{id}}/{action}") for action in ("launch", "conclude")
}


def body(**changes):
    result = copy.deepcopy(BODY)
    result.update(changes)
    return result


def create(api, **changes) -> dict:
    response = api.as_("pm").post("/api/v1/pilots", json=body(**changes))
    assert response.status_code == 201, response.json
    return response.json


def add_roster(session, pilot_id: int, size: int = 8) -> None:
    for index in range(size):
        session.add(
            RosterEntry(
                pilot_id=pilot_id,
                moderator_id=f"m{index:03d}",
                team=f"team-{index % 2}",
                site=("dublin", "manila")[index % 2],
                language=("en", "es")[index // 4 % 2],
                tenure_months=float(index),
            )
        )
    session.commit()


def launched(api, session, **changes) -> dict:
    pilot = create(api, **changes)
    add_roster(session, pilot["id"])
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    assert response.status_code == 200, response.json
    return response.json


# --- create and read -------------------------------------------------------------------------------------------


def test_create_returns_draft_with_every_field(api):
    response = api.as_("pm").post("/api/v1/pilots", json=BODY)
    assert response.status_code == 201
    pilot = response.json
    assert response.headers["Location"].endswith(f"/api/v1/pilots/{pilot['id']}")
    assert pilot["status"] == "draft"
    assert pilot["owner"] == "pm-user"
    for field in ("name", "kind", "hypothesis", "layer", "unit", "strata", "start_date", "end_date"):
        assert pilot[field] == BODY[field]
    # Arms without a display name get one from their name (the pages show it).
    assert pilot["arms"] == [{**arm, "display_name": arm["name"].capitalize()} for arm in BODY["arms"]]
    assert pilot["design"] == BODY["design"]
    assert pilot["metrics"][0] == {
        "name": "accuracy",
        "role": "primary",
        "margin": None,
        "relative": False,
        "critical_policies": [],
    }
    assert pilot["metrics"][1]["margin"] == 0.1
    assert pilot["pre_period_start"] == "2030-05-06"
    assert pilot["plan_hash"] is None and pilot["launched_at"] is None and pilot["concluded_at"] is None
    assert pilot["roster_size"] == 0 and pilot["assigned_units"] == 0
    assert pilot["created_at"].endswith("Z")  # aware UTC


def test_defaults_fill_the_plan(api):
    minimal = {k: BODY[k] for k in ("name", "kind", "start_date", "end_date")} | {"metrics": [{"name": "accuracy"}]}
    first = api.as_("admin").post("/api/v1/pilots", json=minimal).json
    second = api.as_("admin").post("/api/v1/pilots", json=minimal).json
    assert first["arms"] == [
        {"name": "control", "weight": 1, "display_name": "Control"},
        {"name": "treatment", "weight": 1, "display_name": "Treatment"},
    ]
    assert first["design"] == {
        "method": "group_sequential",
        "alpha": 0.05,
        "power": 0.8,
        "looks": 5,
        "spending": "obrien_fleming",
        "min_days": 14,
        "futility": False,
    }
    assert first["unit"] == "moderator" and first["strata"] == [] and first["layer"] is None
    assert first["seed"] is None and second["seed"] is None  # drawn at launch
    assert first["name"] == second["name"]  # names need not be unique


def test_an_admin_may_name_another_owner(api):
    named = api.as_("admin").post("/api/v1/pilots", json=body(owner="pm-user"))
    assert named.status_code == 201 and named.json["owner"] == "pm-user"
    refused = api.as_("admin").post("/api/v1/pilots", json=body(owner="Ops lead"))
    assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "owner"


def test_get_unknown_pilot_is_404(api):
    assert api.get("/api/v1/pilots/999").status_code == 404
    assert api.get(f"/api/v1/pilots/{2**40}").status_code == 404


def test_list_filters_and_paginates(api, session):
    ids = [create(api, name=f"p{i}")["id"] for i in range(5)]
    launched_id = launched(api, session)["id"]
    page = api.as_("viewer").get("/api/v1/pilots?limit=2&offset=1").json
    assert page["total"] == 6 and page["limit"] == 2 and page["offset"] == 1
    assert [p["id"] for p in page["items"]] == [ids[4], ids[3]]  # newest first
    running = api.get("/api/v1/pilots?status=running").json
    assert [p["id"] for p in running["items"]] == [launched_id]
    assert running["items"][0]["roster_size"] == 8 and running["items"][0]["assigned_units"] == 8
    drafts = api.get("/api/v1/pilots?status=draft&limit=500").json
    assert drafts["total"] == 5


# --- roles ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_token(client, api, method, path):
    pilot = create(api)
    url = path.format(id=pilot["id"])
    assert client.open(url, method=method, json={}).status_code == 401
    response = client.open(url, method=method, json={}, headers={"Authorization": "Bearer plt_nope"})
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_read_roles_cannot_write(api, method, path, role):
    pilot = create(api)
    response = api.as_(role).open(method, path.format(id=pilot["id"]), json={})
    if (method, path) in WRITES:
        assert response.status_code == 403
        assert "write" in response.json["error"]["message"]
    else:
        assert response.status_code == 200


def test_admin_can_do_everything(api, session):
    pilot = create(api)
    add_roster(session, pilot["id"])
    assert api.as_("admin").patch(f"/api/v1/pilots/{pilot['id']}", json={"name": "Renamed"}).status_code == 200
    assert api.as_("admin").post(f"/api/v1/pilots/{pilot['id']}/launch").status_code == 200
    stopped = {"decision": "stopped", "rationale": "Test over."}
    assert api.as_("admin").post(f"/api/v1/pilots/{pilot['id']}/conclude", json=stopped).status_code == 200


# --- edit, launch, conclude ------------------------------------------------------------------------------------------


def test_patch_edits_a_draft_and_merges_design(api):
    pilot = create(api)
    response = api.as_("pm").patch(
        f"/api/v1/pilots/{pilot['id']}",
        json={"name": "Macro suggestions v2", "layer": None, "design": {"alpha": 0.1}},
    )
    assert response.status_code == 200, response.json
    edited = response.json
    assert edited["name"] == "Macro suggestions v2" and edited["layer"] is None
    assert edited["design"] == BODY["design"] | {"alpha": 0.1}
    assert edited["updated_at"] >= pilot["updated_at"]


def test_patch_turns_on_futility_bounds_for_a_group_sequential_design(api):
    pilot = create(api, design={"method": "group_sequential", "looks": 4})
    url = f"/api/v1/pilots/{pilot['id']}"
    assert pilot["design"]["futility"] is False
    response = api.as_("pm").patch(url, json={"design": {"futility": True}})
    assert response.status_code == 200, response.json
    assert response.json["design"]["futility"] is True and response.json["design"]["looks"] == 4
    switched = api.as_("pm").patch(url, json={"design": {"method": "always_valid"}})
    assert switched.status_code == 422
    assert switched.json["error"]["details"][0]["field"] == "design.futility"
    assert api.get(url).json["design"]["method"] == "group_sequential"


def test_patch_is_validated_as_a_whole_plan(api):
    pilot = create(api)
    url = f"/api/v1/pilots/{pilot['id']}"
    assert api.as_("pm").patch(url, json={"end_date": "2030-06-01"}).json["error"]["details"][0]["field"] == "end_date"
    assert api.as_("pm").patch(url, json={"name": None}).json["error"]["details"][0]["field"] == "name"
    assert api.as_("pm").patch(url, json={"owner": None}).json["error"]["details"][0]["field"] == "owner"
    assert api.as_("pm").patch(url, json={"status": "running"}).json["error"]["details"][0]["field"] == "status"
    assert (
        api.as_("pm").patch(url, json={"design": {"looks": 0}}).json["error"]["details"][0]["field"] == "design.looks"
    )
    assert api.get(url).json["name"] == BODY["name"]


def test_patch_unknown_pilot_is_404(api):
    assert api.as_("pm").patch("/api/v1/pilots/12345", json={"name": "x"}).status_code == 404


def test_launch_randomizes_and_locks_the_plan(api, session):
    pilot = launched(api, session)
    assert pilot["status"] == "running"
    assert len(pilot["plan_hash"]) == 64 and pilot["launched_at"] is not None
    assert pilot["assigned_units"] == 8
    arms = session.exec(select(Assignment.arm).where(Assignment.pilot_id == pilot["id"])).all()
    assert sorted(set(arms)) == ["control", "macros"]


def test_plan_is_immutable_after_launch(api, session):
    pilot = launched(api, session)
    url = f"/api/v1/pilots/{pilot['id']}"
    stored = session.get(Pilot, pilot["id"])
    before = (stored.arms, stored.metrics, stored.design, stored.seed, stored.name)
    response = api.as_("pm").patch(url, json={"name": "sneaky", "design": {"alpha": 0.2}})
    assert response.status_code == 409
    assert "locked" in response.json["error"]["message"]
    assert response.json["error"]["details"]["plan_hash"] == pilot["plan_hash"]
    assert api.as_("pm").post(f"{url}/launch").status_code == 409
    session.expire_all()
    stored = session.get(Pilot, pilot["id"])
    assert (stored.arms, stored.metrics, stored.design, stored.seed, stored.name) == before
    after = api.get(url).json
    assert after["plan_hash"] == pilot["plan_hash"]
    assert {k: after[k] for k in BODY} == {k: pilot[k] for k in BODY}


def test_launch_without_roster_is_422(api):
    pilot = create(api)
    response = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/launch")
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "roster"
    assert api.get(f"/api/v1/pilots/{pilot['id']}").json["status"] == "draft"


def test_arm_display_names_are_kept_and_validated(api):
    arms = [{"name": "control", "display_name": "Current console"}, {"name": "ai_assist", "weight": 2}]
    pilot = create(api, arms=arms)
    assert [arm["display_name"] for arm in pilot["arms"]] == ["Current console", "AI assist"]
    response = api.as_("pm").post(
        "/api/v1/pilots", json=body(arms=[{"name": "control", "display_name": "a\nb"}, {"name": "treatment"}])
    )
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == "arms.0.display_name"


def test_launch_unknown_pilot_is_404(api):
    assert api.as_("pm").post("/api/v1/pilots/777/launch").status_code == 404


def test_conclude_only_from_running(api, session):
    draft = create(api)
    stopped = {"decision": "stopped", "rationale": "Never ran."}
    assert api.as_("pm").post(f"/api/v1/pilots/{draft['id']}/conclude", json=stopped).status_code == 409
    pilot = launched(api, session)
    url = f"/api/v1/pilots/{pilot['id']}/conclude"
    response = api.as_("pm").post(
        url, json={"decision": "stopped", "rationale": "Guardrail breached", "note": "Guardrail breached"}
    )
    assert response.status_code == 200
    assert response.json["status"] == "concluded" and response.json["concluded_at"] is not None
    assert response.json["plan_hash"] == pilot["plan_hash"]
    assert api.as_("pm").post(url, json={"decision": "stopped", "rationale": "again"}).status_code == 409
    assert api.as_("pm").patch(f"/api/v1/pilots/{pilot['id']}", json={"name": "x"}).status_code == 409


def test_conclude_rejects_bad_body(api, session):
    pilot = launched(api, session)
    url = f"/api/v1/pilots/{pilot['id']}/conclude"
    fields = [d["field"] for d in api.as_("pm").post(url, json={"verdict": "go"}).json["error"]["details"]]
    assert sorted(fields) == ["decision", "verdict"]
    assert api.as_("pm").post(url, data="{", content_type="application/json").status_code == 422
    assert api.get(f"/api/v1/pilots/{pilot['id']}").json["status"] == "running"


# --- audit trail -----------------------------------------------------------------------------------------------------


def test_every_change_is_an_event_with_its_actor(api, session):
    pilot = create(api)
    url = f"/api/v1/pilots/{pilot['id']}"
    api.as_("admin").patch(url, json={"hypothesis": "Sharper"})
    api.as_("admin").patch(url, json={})  # no change, no event
    add_roster(session, pilot["id"])
    api.as_("pm").post(f"{url}/launch")
    api.as_("admin").post(f"{url}/conclude", json={"decision": "stopped", "rationale": "Done.", "note": "done"})
    trail = api.as_("viewer").get(f"{url}/events").json["items"]
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("pilot.created", "pm-user"),
        ("pilot.updated", "admin-user"),
        ("pilot.launched", "pm-user"),
        ("pilot.concluded", "admin-user"),
    ]
    assert trail[0]["details"]["plan"]["seed"] is None
    assert trail[2]["details"]["seed"] == api.get(url).json["seed"]
    assert trail[1]["details"]["fields"] == ["hypothesis"]
    assert trail[1]["details"]["after"] == {"hypothesis": "Sharper"}
    assert trail[2]["details"]["plan_hash"] == api.get(url).json["plan_hash"]
    assert trail[3]["details"]["note"] == "done"


def test_events_of_unknown_pilot_is_404(api):
    assert api.get("/api/v1/pilots/4242/events").status_code == 404
