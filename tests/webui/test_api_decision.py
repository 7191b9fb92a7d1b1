"""The decision record: `POST /pilots/{id}/conclude` with a decision, a rationale and a note; `GET /pilots/{id}` then
returns `decision: {decision, rationale, by, at, recommendation, provisional}`, with the engine's recommendation at
that moment; a decision that differs from it (or `stopped`) needs a rationale; old concluded pilots stay valid."""

from __future__ import annotations

import pytest

from pilots import decisions, lifecycle
from pilots.models import Pilot
from tests.webui.test_api_pilots import launched


def _conclude(api, pilot_id: int, role: str = "pm", **body):
    return api.as_(role).post(f"/api/v1/pilots/{pilot_id}/conclude", json=body)


def test_decision_is_recorded_with_the_engines_recommendation(api, session):
    pilot = launched(api, session)
    results = api.get(f"/api/v1/pilots/{pilot['id']}/results")
    expected = results.json["decision"]["recommendation"] if results.status_code == 200 else None
    response = _conclude(
        api, pilot["id"], decision="roll_out", rationale="Leadership wants it for the peak season.", note="Done."
    )
    assert response.status_code == 200, response.json
    record = api.as_("viewer").get(f"/api/v1/pilots/{pilot['id']}").json["decision"]
    assert record["decision"] == "roll_out"
    assert record["rationale"] == "Leadership wants it for the peak season."
    assert record["by"] == "pm-user"
    assert record["at"] is not None
    assert record["recommendation"] == expected
    assert response.json["decision"] == record
    concluded = api.get(f"/api/v1/pilots/{pilot['id']}/events").json["items"][-1]
    assert concluded["action"] == "pilot.concluded"
    assert concluded["details"]["decision"] == "roll_out" and concluded["details"]["note"] == "Done."
    assert concluded["details"]["recommendation"] == expected


@pytest.mark.parametrize("decision", ["roll_out", "do_not_roll_out", "stopped"])
def test_a_decision_that_differs_from_the_recommendation_needs_a_rationale(api, session, monkeypatch, decision):
    monkeypatch.setattr(decisions, "current_recommendation", lambda session, pilot_id: ("continue", True))
    pilot = launched(api, session)
    response = _conclude(api, pilot["id"], decision=decision, rationale="  ")
    assert response.status_code == 422
    [detail] = response.json["error"]["details"]
    assert detail["field"] == "rationale" and "required" in detail["message"]
    assert api.get(f"/api/v1/pilots/{pilot['id']}").json["status"] == "running"


@pytest.mark.parametrize(("recommendation", "decision"), [("go", "roll_out"), ("no_go", "do_not_roll_out")])
def test_following_the_recommendation_needs_no_rationale(api, session, monkeypatch, recommendation, decision):
    monkeypatch.setattr(decisions, "current_recommendation", lambda session, pilot_id: (recommendation, False))
    pilot = launched(api, session)
    response = _conclude(api, pilot["id"], decision=decision)
    assert response.status_code == 200, response.json
    record = response.json["decision"]
    assert record["rationale"] == "" and record["recommendation"] == recommendation
    assert record["provisional"] is False


def test_stopped_always_needs_its_reason(api, session, monkeypatch):
    monkeypatch.setattr(decisions, "current_recommendation", lambda session, pilot_id: ("go", False))
    pilot = launched(api, session)
    assert _conclude(api, pilot["id"], decision="stopped").status_code == 422
    response = _conclude(api, pilot["id"], decision="stopped", rationale="The tool vendor withdrew the feature.")
    assert response.status_code == 200
    assert response.json["decision"]["decision"] == "stopped"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"decision": "ship_it"}, "decision"),
        ({"decision": 1}, "decision"),
        ({"rationale": "Because."}, "decision"),
        ({"decision": "roll_out", "rationale": 5}, "rationale"),
        ({"decision": "roll_out", "rationale": "a\x00b"}, "rationale"),
    ],
)
def test_bad_decision_bodies_are_422_naming_the_field(api, session, body, field):
    pilot = launched(api, session)
    response = _conclude(api, pilot["id"], **body)
    assert response.status_code == 422
    assert response.json["error"]["details"][0]["field"] == field
    assert api.get(f"/api/v1/pilots/{pilot['id']}").json["status"] == "running"


def test_only_writers_may_decide(api, session):
    pilot = launched(api, session)
    for role in ("viewer", "analyst"):
        assert _conclude(api, pilot["id"], role, decision="stopped", rationale="No.").status_code == 403
    assert _conclude(api, pilot["id"], "admin", decision="stopped", rationale="Budget cut.").status_code == 200


def test_conclude_without_a_decision_is_refused_and_old_concluded_pilots_have_none(api, session):
    pilot = launched(api, session)
    refused = api.as_("pm").post(f"/api/v1/pilots/{pilot['id']}/conclude", json={})
    assert refused.status_code == 422 and refused.json["error"]["details"][0]["field"] == "decision"
    lifecycle.conclude_pilot(session, pilot["id"], "pm-user")  # as pilots concluded before decisions were required
    session.commit()
    row = session.get(Pilot, pilot["id"])
    assert row.decision is None and row.decision_by is None
    listing = api.get("/api/v1/pilots?status=concluded").json["items"]
    assert [item["decision"] for item in listing] == [None]


def test_the_openapi_document_describes_the_decision_record(client):
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    conclude = schemas["ConcludeRequest"]["properties"]
    assert set(conclude) == {"decision", "rationale", "note"}
    assert conclude["decision"]["enum"] == ["roll_out", "do_not_roll_out", "stopped"]
    assert schemas["ConcludeRequest"]["required"] == ["decision"]
    assert set(schemas["DecisionPublic"]["properties"]) == {
        "decision", "rationale", "by", "at", "recommendation", "provisional"
    }  # fmt: skip
    assert "decision" in schemas["PilotPublic"]["properties"]
    assert "display_name" in schemas["Arm"]["properties"]


def test_a_failing_results_engine_does_not_block_the_decision(api, session, monkeypatch, caplog):
    def broken(session, pilot_id, as_of=None):
        raise RuntimeError("boom")

    monkeypatch.setattr("pilots.results.results_document", broken)
    pilot = launched(api, session)
    response = _conclude(api, pilot["id"], decision="stopped", rationale="Budget cut.")
    assert response.status_code == 200
    assert response.json["decision"]["recommendation"] is None
    assert "failed while recording a decision" in caplog.text
