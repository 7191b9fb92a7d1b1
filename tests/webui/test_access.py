"""Object-level permissions: every route that changes a pilot x {owner, collaborator, other pm, admin, analyst, viewer};
collaborators; the seed drawn at launch (admins alone may set one); owners a PM cannot choose.

The route list is generated from the app's URL map, so a new route that changes a pilot cannot be missed: it either
carries the check (`webui.api.access.require_pilot_change` on the API, `webui.pages.access.pilot_change_required` on
pages) or is named in OWN_CHECKS with the check it uses instead.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from pilots import accounts
from pilots.models import Event, Pilot
from tests.conftest import ApiClient
from tests.webui.test_api_pilots import BODY, body
from webui.database import sessions

READ_ONLY = ("GET", "HEAD", "OPTIONS")
# Routes that change a pilot but check ownership their own way.
OWN_CHECKS = {("PUT", "/api/v1/pilots/<int:pilot_id>/collaborators"): "owner or admin only"}
PEOPLE = ("owner", "collaborator", "other_pm", "admin", "analyst", "viewer")
ALLOWED = {"owner", "collaborator", "admin"}

# A body that gets past validation where the route needs one (a 4xx other than 403 after the check is fine).
BODIES = {
    "/roster": {"data": "moderator_id,team,site,language,tenure_months\nm1,t1,Lisbon,en,12\n"},
    "/outcomes": {"json": {"outcomes": []}},
    "/conclude": {"json": {"decision": "stopped", "rationale": "Access test."}},
    "/collaborators": {"json": {"users": []}},
}


def pilot_changing_routes(app) -> list[tuple[str, str]]:
    """Every (method, rule) of the API and the pages that writes and names a pilot in its path."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "pilot_id" not in rule.arguments or rule.endpoint == "static":
            continue
        routes.extend((method, rule.rule) for method in sorted(rule.methods - set(READ_ONLY)))
    return routes


@pytest.fixture
def people(app, tokens) -> dict[str, str]:
    """Tokens for the six people of the matrix: the pm-user owns the pilots made by `owned_pilot`."""
    result = {
        "owner": tokens["pm"],
        "admin": tokens["admin"],
        "analyst": tokens["analyst"],
        "viewer": tokens["viewer"],
    }
    with app.app_context(), sessions()() as session:
        for name in ("collaborator", "other_pm"):
            user = accounts.create_user(session, f"{name}-user", "pm")
            result[name] = accounts.issue_token(session, user)
        session.commit()
    return result


@pytest.fixture
def as_person(client, people):
    return lambda person: ApiClient(client, people, person)


def owned_pilot(as_person) -> int:
    """A draft owned by the pm-user with collaborator-user as its collaborator."""
    owner = as_person("owner")
    created = owner.post("/api/v1/pilots", json=_no_seed())
    assert created.status_code == 201, created.json
    pilot_id = created.json["id"]
    answer = owner.put(f"/api/v1/pilots/{pilot_id}/collaborators", json={"users": ["collaborator-user"]})
    assert answer.status_code == 200, answer.json
    assert answer.json == {"owner": "pm-user", "users": ["collaborator-user"]}
    return pilot_id


def _no_seed() -> dict:
    return {key: value for key, value in BODY.items() if key != "seed"}


def test_every_pilot_changing_route_checks_ownership(app):
    routes = pilot_changing_routes(app)
    assert ("POST", "/api/v1/pilots/<int:pilot_id>/launch") in routes
    unchecked = []
    for method, rule in routes:
        endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule and method in r.methods)
        view = app.view_functions[endpoint]
        if not getattr(view, "changes_pilot", False) and (method, rule) not in OWN_CHECKS:
            unchecked.append((method, rule))
    assert unchecked == [], "routes that change a pilot without the ownership check"


@pytest.mark.parametrize("person", PEOPLE)
def test_route_role_ownership_matrix(app, as_person, person):
    """Each person on each pilot-changing route: owners, collaborators and admins get past the check, others 403."""
    for method, rule in pilot_changing_routes(app):
        if not rule.startswith("/api/"):
            continue
        pilot_id = owned_pilot(as_person)
        path = rule.replace("<int:pilot_id>", str(pilot_id))
        kwargs = next((value for suffix, value in BODIES.items() if path.endswith(suffix)), {"json": {}})
        if "data" in kwargs:
            kwargs = {**kwargs, "headers": {"Content-Type": "text/csv"}}
        answer = as_person(person).open(method, path, **kwargs)
        allowed = person in ({"owner", "admin"} if (method, rule) in OWN_CHECKS else ALLOWED)
        if allowed:
            assert answer.status_code not in (401, 403), (person, method, rule, answer.json)
        else:
            assert answer.status_code == 403, (person, method, rule, answer.status_code)
            assert answer.json["error"]["code"] == "forbidden"


def test_refused_change_leaves_the_pilot_and_trail_alone(app, as_person, session):
    pilot_id = owned_pilot(as_person)
    before = session.exec(select(Event).where(Event.pilot_id == pilot_id)).all()
    answer = as_person("other_pm").patch(f"/api/v1/pilots/{pilot_id}", json={"name": "Hijacked"})
    assert answer.status_code == 403
    assert "pm-user" in answer.json["error"]["message"]
    session.expire_all()
    assert session.get(Pilot, pilot_id).name == BODY["name"]
    assert len(session.exec(select(Event).where(Event.pilot_id == pilot_id)).all()) == len(before)


def test_other_pms_read_like_analysts(as_person):
    pilot_id = owned_pilot(as_person)
    other = as_person("other_pm")
    assert other.get(f"/api/v1/pilots/{pilot_id}").status_code == 200
    assert other.get(f"/api/v1/pilots/{pilot_id}/roster").status_code == 200
    assert other.get(f"/api/v1/pilots/{pilot_id}/collaborators").json["owner"] == "pm-user"


def test_owner_is_the_creator_and_listed_with_collaborators(as_person):
    pilot_id = owned_pilot(as_person)
    shown = as_person("viewer").get(f"/api/v1/pilots/{pilot_id}").json
    assert shown["owner"] == "pm-user"
    assert shown["collaborators"] == ["collaborator-user"]


def test_a_pm_cannot_choose_the_owner_but_an_admin_can_hand_over(as_person):
    refused = as_person("owner").post("/api/v1/pilots", json=_no_seed() | {"owner": "other_pm-user"})
    assert refused.status_code == 403
    assert [d["field"] for d in refused.json["error"]["details"]] == ["owner"]
    pilot_id = owned_pilot(as_person)
    assert as_person("owner").patch(f"/api/v1/pilots/{pilot_id}", json={"owner": "other_pm-user"}).status_code == 403
    handed = as_person("admin").patch(f"/api/v1/pilots/{pilot_id}", json={"owner": "other_pm-user"})
    assert handed.status_code == 200 and handed.json["owner"] == "other_pm-user"
    assert as_person("other_pm").patch(f"/api/v1/pilots/{pilot_id}", json={"name": "Now mine"}).status_code == 200


def test_owner_must_be_an_active_pm_or_admin(as_person):
    pilot_id = owned_pilot(as_person)
    for name in ("nobody", "analyst-user"):
        answer = as_person("admin").patch(f"/api/v1/pilots/{pilot_id}", json={"owner": name})
        assert answer.status_code == 422
        assert answer.json["error"]["details"][0]["field"] == "owner"


def test_collaborators_are_managed_by_owner_or_admin_only(as_person, session):
    pilot_id = owned_pilot(as_person)
    path = f"/api/v1/pilots/{pilot_id}/collaborators"
    assert as_person("collaborator").put(path, json={"users": []}).status_code == 403
    assert as_person("other_pm").put(path, json={"users": ["other_pm-user"]}).status_code == 403
    assert as_person("admin").put(path, json={"users": ["other_pm-user"]}).json["users"] == ["other_pm-user"]
    # The former collaborator lost the right to change the pilot; the new one has it.
    assert as_person("collaborator").patch(f"/api/v1/pilots/{pilot_id}", json={"name": "x"}).status_code == 403
    assert as_person("other_pm").patch(f"/api/v1/pilots/{pilot_id}", json={"name": "Renamed"}).status_code == 200
    changes = session.exec(
        select(Event).where(Event.pilot_id == pilot_id, Event.action == "pilot.collaborators_changed")
    ).all()
    assert [event.details["added"] for event in changes] == [["collaborator-user"], ["other_pm-user"]]
    assert changes[-1].details["removed"] == ["collaborator-user"] and changes[-1].actor == "admin-user"


@pytest.mark.parametrize(
    ("users", "field", "fragment"),
    [
        (["nobody"], "users.0", "no active user"),
        (["analyst-user"], "users.0", "pm or admin"),
        (["collaborator-user", "collaborator-user"], "users.1", "twice"),
    ],
)
def test_bad_collaborators_are_named(as_person, users, field, fragment):
    pilot_id = owned_pilot(as_person)
    answer = as_person("owner").put(f"/api/v1/pilots/{pilot_id}/collaborators", json={"users": users})
    assert answer.status_code == 422
    detail = answer.json["error"]["details"][0]
    assert detail["field"] == field and fragment in detail["message"]


def test_deactivated_collaborator_cannot_be_added(as_person, app):
    with app.app_context(), sessions()() as session:
        user = accounts.create_user(session, "gone-user", "pm")
        user.active = False
        session.commit()
    pilot_id = owned_pilot(as_person)
    answer = as_person("owner").put(f"/api/v1/pilots/{pilot_id}/collaborators", json={"users": ["gone-user"]})
    assert answer.status_code == 422


def test_seed_is_drawn_at_launch_and_locked_in_the_plan(as_person, session):
    owner = as_person("owner")
    pilot_id = owned_pilot(as_person)
    draft = owner.get(f"/api/v1/pilots/{pilot_id}").json
    assert draft["seed"] is None
    csv = "moderator_id,team,site,language,tenure_months\n" + "".join(
        f"m{i},t{i % 3},{'Lisbon' if i % 2 else 'Manila'},{'en' if i % 3 else 'pt'},{6 + i}\n" for i in range(12)
    )
    uploaded = owner.put(f"/api/v1/pilots/{pilot_id}/roster", data=csv, headers={"Content-Type": "text/csv"})
    assert uploaded.status_code == 200, uploaded.json
    launched = owner.post(f"/api/v1/pilots/{pilot_id}/launch")
    assert launched.status_code == 200, launched.json
    assert isinstance(launched.json["seed"], int)
    event = session.exec(select(Event).where(Event.pilot_id == pilot_id, Event.action == "pilot.launched")).one()
    assert event.details["seed"] == launched.json["seed"] and event.details["seed_source"] == "drawn at launch"
    trail = owner.get(f"/api/v1/pilots/{pilot_id}/events").json["items"]
    assert not any(item["action"] == "pilot.seed_set" for item in trail)


def test_seeds_differ_between_pilots(as_person):
    seeds = set()
    for layer in ("one", "two", "three"):  # separate layers: the same moderators may be in each
        pilot_id = owned_pilot(as_person)
        as_person("owner").patch(f"/api/v1/pilots/{pilot_id}", json={"layer": layer})
        # Two moderators in each stratum: every draw fills both arms (a draw leaving one empty is refused).
        csv = "moderator_id,team,site,language,tenure_months\n" + "".join(
            f"m{k},t1,Lisbon,en,{12 if k < 2 else 3}\n" for k in range(4)
        )
        as_person("owner").put(f"/api/v1/pilots/{pilot_id}/roster", data=csv, headers={"Content-Type": "text/csv"})
        seeds.add(as_person("owner").post(f"/api/v1/pilots/{pilot_id}/launch").json["seed"])
    assert len(seeds) == 3


def test_a_pm_cannot_choose_the_seed(as_person):
    refused = as_person("owner").post("/api/v1/pilots", json=body(seed=42))
    assert refused.status_code == 403
    assert [d["field"] for d in refused.json["error"]["details"]] == ["seed"]
    pilot_id = owned_pilot(as_person)
    patched = as_person("owner").patch(f"/api/v1/pilots/{pilot_id}", json={"seed": 42})
    assert patched.status_code == 403 and patched.json["error"]["details"][0]["field"] == "seed"


def test_an_admin_may_set_a_seed_to_reproduce_a_randomization_and_the_trail_says_so(as_person, session):
    created = as_person("admin").post("/api/v1/pilots", json=body(seed=20240601))
    assert created.status_code == 201 and created.json["seed"] == 20240601
    pilot_id = created.json["id"]
    assert as_person("admin").patch(f"/api/v1/pilots/{pilot_id}", json={"seed": 7}).json["seed"] == 7
    seeds = session.exec(
        select(Event).where(Event.pilot_id == pilot_id, Event.action == "pilot.seed_set").order_by(Event.id)
    ).all()
    assert [(event.actor, event.details["seed"]) for event in seeds] == [("admin-user", 20240601), ("admin-user", 7)]
