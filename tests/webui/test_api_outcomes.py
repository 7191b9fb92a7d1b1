"""The outcomes API: ingestion contract, roles, bad input never a 500, streamed exports that round-trip."""

from __future__ import annotations

import csv
import io

import pytest

from pilots import rollups
from tests.pilots.ingestion_support import MODERATORS, audit, make_pilot
from webui.database import sessions


def url(pilot_id: int, what: str = "outcomes") -> str:
    return f"/api/v1/pilots/{pilot_id}/{what}"


@pytest.fixture
def pilot(session) -> int:
    return make_pilot(session)


def test_json_ingestion_contract(api, pilot):
    response = api.as_("pm").post(url(pilot), json={"outcomes": [audit("a1"), audit("a2"), audit("a1")]})
    assert response.status_code == 200
    assert response.get_json() == {"accepted": 2, "duplicates": 1}
    assert api.post(url(pilot), json={"outcomes": [audit("a2")]}).get_json() == {"accepted": 0, "duplicates": 1}


def test_csv_ingestion(api, pilot):
    body = "audit_id,moderator_id,audited_at,correct,critical\nc1,m01,2026-02-11T00:00:00Z,1,false\n"
    response = api.post(url(pilot), data=body, content_type="text/csv; charset=utf-8")
    assert response.get_json() == {"accepted": 1, "duplicates": 0}


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_only_writers_ingest(api, pilot, role):
    response = api.as_(role).post(url(pilot), json={"outcomes": [audit("a1")]})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_body"),
        ({"json": {"outcomes": [audit("a1", correct="yes")]}}, 422, "validation_failed"),
        ({"json": {"outcomes": "a1"}}, 422, "validation_failed"),
        ({"data": "x,y\n1,2\n", "content_type": "text/csv"}, 422, "validation_failed"),
        ({"data": "", "content_type": "text/csv"}, 422, "validation_failed"),
        ({"data": "a=1", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        ({"data": b"\x00\xff", "content_type": "text/csv"}, 400, "malformed_body"),
    ],
)
def test_bad_bodies_are_clear_4xx(api, pilot, kwargs, status, code):
    response = api.post(url(pilot), **kwargs)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_validation_errors_list_row_and_field(api, pilot):
    records = [audit("a1"), audit("a2", handle_time_s="12"), audit("a3", moderator_id="nobody")]
    details = api.post(url(pilot), json={"outcomes": records}).get_json()["error"]["details"]
    assert [(d["row"], d["field"]) for d in details] == [(2, "handle_time_s"), (3, "moderator_id")]
    assert api.as_("analyst").get(url(pilot)).get_json() == {"outcomes": []}


def test_conflict_is_409_naming_the_audit(api, pilot):
    api.post(url(pilot), json={"outcomes": [audit("a1")]})
    response = api.post(url(pilot), json={"outcomes": [audit("a1", correct=False)]})
    assert response.status_code == 409
    assert "'a1'" in response.get_json()["error"]["message"]


def test_body_over_the_size_limit_is_413_json(app, api, pilot):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = api.post(url(pilot), data="x" * 5000, content_type="text/csv")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_draft_and_missing_pilots(api, session):
    draft = make_pilot(session, status="draft", name="draft")
    response = api.post(url(draft), json={"outcomes": [audit("a1")]})
    assert response.status_code == 409
    assert "launch first" in response.get_json()["error"]["message"]
    assert api.post(url(9999), json={"outcomes": []}).status_code == 404
    assert api.as_("analyst").get(url(9999)).status_code == 404
    assert api.as_("analyst").get(url(9999, "units")).status_code == 404


def test_viewer_may_not_export(api, pilot):
    assert api.as_("viewer").get(url(pilot)).status_code == 403
    assert api.as_("viewer").get(url(pilot, "units")).status_code == 403


def test_outcome_export_filters_and_formats(api, pilot):
    records = [
        audit("p1", audited_at="2026-01-20T12:00:00Z"),
        audit("s1", audited_at="2026-02-02T00:00:00Z"),
        audit("s2", audited_at="2026-02-20T08:00:00+00:00", critical=None, handle_time_s=None),
    ]
    api.post(url(pilot), json={"outcomes": records})
    reader = api.as_("analyst")
    everything = reader.get(url(pilot)).get_json()["outcomes"]
    assert [(r["audit_id"], r["period"]) for r in everything] == [("p1", "pre"), ("s1", "pilot"), ("s2", "pilot")]
    assert everything[2]["critical"] is None
    window = reader.get(url(pilot) + "?since=2026-02-02&until=2026-02-19").get_json()["outcomes"]
    assert [r["audit_id"] for r in window] == ["s1"]
    text = reader.get(url(pilot), headers={"Accept": "text/csv"}).get_data(as_text=True)
    assert text.splitlines()[0].startswith("audit_id,moderator_id,audited_at,correct")
    assert len(text.splitlines()) == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-03-01&until=2026-02-01", "since"),
        ("format=xml", "format"),
        ("bogus=1", "bogus"),
    ],
)
def test_export_query_problems_are_4xx(api, pilot, query, field):
    response = api.as_("analyst").get(url(pilot) + "?" + query)
    assert response.status_code in (400, 422)
    assert field in response.get_data(as_text=True)


def test_units_export(api, pilot):
    api.post(
        url(pilot),
        json={
            "outcomes": [
                audit("p1", "m01", "2026-01-20T12:00:00Z", correct=False, handle_time_s=10.0),
                audit("s1", "m01", "2026-02-03T00:00:00Z", critical=True, handle_time_s=20.0),
                audit("s2", "m01", "2026-02-05T00:00:00Z", critical=None, handle_time_s=30.0),
                audit("s3", "m02", "2026-02-05T00:00:00Z"),
            ]
        },
    )
    units = api.as_("analyst").get(url(pilot, "units")).get_json()["units"]
    assert [(u["moderator_id"], u["period"], u["arm"]) for u in units] == [
        ("m01", "pre", "control"),
        ("m01", "pilot", "control"),
        ("m02", "pilot", "treatment"),
    ]
    assert units[1] == {
        "unit_id": "m01",
        "moderator_id": "m01",
        "arm": "control",
        "period": "pilot",
        "audits": 2,
        "correct": 2,
        "critical_audits": 1,
        "critical": 1,
        "handle_audits": 2,
        "handle_sum": 50.0,
        "handle_sum2": 1300.0,
        "days": 2,
        "first_day": "2026-02-03",
        "last_day": "2026-02-05",
    }
    text = api.as_("analyst").get(url(pilot, "units") + "?format=csv").get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(rollups.UNIT_COLUMNS)


def test_csv_export_reimported_into_another_pilot_gives_identical_rollups(app, api, session, pilot):
    records = [
        audit(
            f"a{k}",
            MODERATORS[k % 8],
            f"2026-{1 + k % 3:02d}-{10 + k % 17:02d}T{k % 24:02d}:{k % 60:02d}:07.25+03:00",
            correct=k % 5 != 0,
            critical=[None, True, False][k % 3],
            handle_time_s=None if k % 7 == 0 else k * 1.7,
            policy=None if k % 4 == 0 else "hate",
        )
        for k in range(300)
    ]
    api.post(url(pilot), json={"outcomes": records})
    exported = api.as_("analyst").get(url(pilot) + "?format=csv").get_data(as_text=True)
    other = make_pilot(session, name="copy")
    assert api.post(url(other), data=exported, content_type="text/csv").get_json() == {"accepted": 300, "duplicates": 0}
    again = api.as_("analyst").get(url(other) + "?format=csv").get_data(as_text=True)
    strip = [{k: v for k, v in row.items() if k != "ingested_at"} for row in csv.DictReader(io.StringIO(exported))]
    again_rows = [{k: v for k, v in row.items() if k != "ingested_at"} for row in csv.DictReader(io.StringIO(again))]
    assert strip == again_rows
    with app.app_context(), sessions()() as s:
        first, second = rollups.stored(s, pilot), rollups.stored(s, other)
    assert first.keys() == second.keys()
    for key in first:
        assert first[key][:5] == second[key][:5]
        assert first[key][5:] == pytest.approx(second[key][5:], rel=1e-12)


def test_routes_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = document["paths"]["/api/v1/pilots/{pilot_id}/outcomes"]
    assert set(operations) >= {"get", "post"}
    assert "requestBody" in operations["post"]
    assert "get" in document["paths"]["/api/v1/pilots/{pilot_id}/units"]


def test_exports_of_an_id_beyond_any_pilot_are_404(api):
    for path in ("outcomes", "units"):
        response = api.get(f"/api/v1/pilots/{2**40}/{path}")
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("pilot_id", [2**31, 2**40, 2**63, 2**70])
def test_posting_outcomes_to_an_id_beyond_any_pilot_is_404(api, pilot_id):
    row = {"audit_id": "a1", "moderator_id": "m1", "audited_at": "2024-06-03T10:00:00Z", "correct": True}
    as_json = api.post(f"/api/v1/pilots/{pilot_id}/outcomes", json={"outcomes": [row]})
    as_csv = api.post(
        f"/api/v1/pilots/{pilot_id}/outcomes",
        data="audit_id,moderator_id,audited_at,correct\na1,m1,2024-06-03T10:00:00Z,true\n",
        content_type="text/csv",
    )
    for response in (as_json, as_csv):
        assert response.status_code == 404, response.json
        assert response.json["error"]["code"] == "not_found"


def test_item_id_is_stored_exported_and_validated_in_json_and_csv(api, pilot):
    records = [audit("d1", item_id="item-7"), audit("d2", item_id="item-7", auditor_id="qa-02"), audit("d3")]
    assert api.post(url(pilot), json={"outcomes": records}).get_json() == {"accepted": 3, "duplicates": 0}
    body = "audit_id,moderator_id,audited_at,correct,auditor_id,item_id\nd4,m01,2026-02-11T00:00:00Z,1,qa-03,item-7\n"
    assert api.post(url(pilot), data=body, content_type="text/csv").get_json() == {"accepted": 1, "duplicates": 0}
    exported = api.as_("analyst").get(url(pilot)).get_json()["outcomes"]
    assert [(r["audit_id"], r["item_id"]) for r in exported] == [
        ("d1", "item-7"),
        ("d2", "item-7"),
        ("d3", None),
        ("d4", "item-7"),
    ]
    text = api.as_("analyst").get(url(pilot) + "?format=csv").get_data(as_text=True)
    assert "item_id" in text.splitlines()[0].split(",")
    bad = api.post(url(pilot), json={"outcomes": [audit("d5"), audit("d6", item_id=7)]})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"] == [
        {"row": 2, "field": "item_id", "message": "must be a string, got a number"}
    ]
    long_cell = "audit_id,moderator_id,audited_at,correct,item_id\nd7,m01,2026-02-11T00:00:00Z,1," + "i" * 101 + "\n"
    bad = api.post(url(pilot), data=long_cell, content_type="text/csv")
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"][0]["field"] == "item_id"
    assert bad.get_json()["error"]["details"][0]["row"] == 1
