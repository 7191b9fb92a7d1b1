"""GET /api/v1/pilots/{id}/results: roles, CSV columns, errors, OpenAPI presence."""

from __future__ import annotations

import csv
import io
import json

from pilots.results.export import RESULT_COLUMNS
from tests.pilots.results_support import make_pilot, settings, write_unit_days
from webui.api.results import ResultsDocument


def _pilot(session) -> int:
    sim = settings(n_moderators=40, weeks=3, pre_weeks=2, accuracy_effect_points=1.0)
    pilot_id, roster = make_pilot(
        session,
        sim,
        metrics=[{"name": "accuracy"}, {"name": "handle_time", "role": "guardrail", "margin": 0.1, "relative": True}],
    )
    write_unit_days(session, pilot_id, roster, sim)
    return pilot_id


def test_viewer_reads_json_without_nan(api, session):
    pilot_id = _pilot(session)
    response = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results")
    assert response.status_code == 200
    assert "NaN" not in response.get_data(as_text=True) and "Infinity" not in response.get_data(as_text=True)
    document = response.json
    assert document["decision"]["recommendation"] in ("go", "no_go", "continue", "invalid")
    assert set(document["srm"]) >= {"p_value", "ok", "counts"}
    assert [m["name"] for m in document["metrics"]] == ["accuracy", "handle_time"]
    json.dumps(document, allow_nan=False)


def test_every_role_may_export_the_aggregate_results_table(api, session):
    pilot_id = _pilot(session)
    viewer = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?format=csv")
    assert viewer.status_code == 200 and viewer.mimetype == "text/csv"
    response = api.as_("analyst").get(f"/api/v1/pilots/{pilot_id}/results?format=csv")
    assert response.get_data() == viewer.get_data()
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert [(r["metric"], r["arm"]) for r in rows] == [
        ("accuracy", "control"),
        ("accuracy", "treatment"),
        ("handle_time", "control"),
        ("handle_time", "treatment"),
    ]
    assert rows[0]["difference"] == "" and rows[1]["difference"] != ""
    assert rows[3]["non_inferior"] in ("true", "false")


def test_csv_columns_are_documented():
    assert ", ".join(RESULT_COLUMNS) in " ".join(ResultsDocument.__doc__.split())


def test_unknown_pilot_bad_as_of_and_draft(api, session):
    assert api.as_("viewer").get("/api/v1/pilots/999/results").status_code == 404
    pilot_id = _pilot(session)
    bad = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-13-45")
    assert bad.status_code == 422 and bad.json["error"]["details"][0]["field"] == "as_of"
    early = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?as_of=2020-01-01")
    assert early.status_code == 422 and early.json["error"]["details"][0]["field"] == "as_of"
    future = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?as_of=2999-01-01")
    assert future.status_code == 422 and future.json["error"]["details"][0]["field"] == "as_of"
    assert "in the future" in future.json["error"]["message"]
    unknown = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?colour=red")
    assert unknown.status_code == 422
    draft = (
        api.as_("pm")
        .post(
            "/api/v1/pilots",
            json={
                "name": "Draft",
                "kind": "tool",
                "metrics": [{"name": "accuracy"}],
                "start_date": "2026-01-05",
                "end_date": "2026-02-05",
            },
        )
        .json["id"]
    )
    assert api.as_("viewer").get(f"/api/v1/pilots/{draft}/results").status_code == 409


def test_as_of_recomputes(api, session):
    pilot_id = _pilot(session)
    full = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results").json
    early = api.as_("viewer").get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-03-10").json
    assert early["as_of"] == "2026-03-10" and early["data_through"] <= "2026-03-10" < full["data_through"]


def test_results_route_is_in_openapi(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    operation = paths["/api/v1/pilots/{pilot_id}/results"]["get"]
    assert {"200", "403", "404", "409", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"pilot_id", "as_of", "format"}
