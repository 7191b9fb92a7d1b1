"""The OpenAPI document: valid, public, complete (every /api/v1 route of the app), and true to what routes do
(schemathesis fuzzes the pilots routes against it)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pilots.schemas import PilotCreate
from tests.pilots.results_support import make_pilot, write_unit_days
from tests.pilots.results_support import settings as simulation

DOC = "/api/v1/openapi.json"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def test_document_is_public_and_valid(client):
    response = client.get(DOC)
    assert response.status_code == 200
    document = response.json
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "plt_...",
    }
    assert document["security"] == [{"bearer": []}]
    assert document["paths"][DOC]["get"]["security"] == []


def test_document_lists_every_api_route(app, client):
    documented = {
        (path, method.upper()) for path, operations in client.get(DOC).json["paths"].items() for method in operations
    }
    routes = {
        (re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - IGNORED_METHODS
    }
    assert routes - documented == set(), "undocumented API routes"
    assert documented - routes == set(), "documented routes that do not exist"


def test_request_models_are_the_validating_models(client):
    document = client.get(DOC).json
    create = document["paths"]["/api/v1/pilots"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PilotCreate")
    component = document["components"]["schemas"]["PilotCreate"]
    assert set(component["properties"]) == set(PilotCreate.model_fields)
    assert set(component["required"]) == {"name", "kind", "metrics", "start_date", "end_date"}
    assert component["additionalProperties"] is False
    for status in ("401", "403", "422"):
        assert status in create["responses"]
    conclude = document["paths"]["/api/v1/pilots/{pilot_id}/conclude"]["post"]
    assert conclude["requestBody"]["required"] is True
    assert "decision" in document["components"]["schemas"]["ConcludeRequest"]["required"]


def test_415_is_declared_exactly_where_a_body_is_read(client):
    """Every operation with a request body answers 415 to a body in another format (and says so); no other does.
    Every authenticated route declares 401, 403 (a pilot-scoped token used elsewhere) and 429 (token guessing
    throttled); only routes that read input declare 422."""
    document = client.get(DOC).json
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            assert ("415" in operation["responses"]) == ("requestBody" in operation), label
    # Routes that read no input cannot answer 422 (spectree used to add it to every route). Every route may get the
    # server's 400 / 414 / 431; routes behind a token read the database and may answer 503 in an outage.
    general = {"400", "414", "431"}
    assert set(document["paths"]["/api/v1/me"]["get"]["responses"]) == {"200", "401", "403", "429", "503"} | general
    assert set(document["paths"][DOC]["get"]["responses"]) == {"200"} | general
    assert (
        set(document["paths"]["/api/v1/pilots/{pilot_id}"]["get"]["responses"])
        == {"200", "401", "403", "404", "429", "503"} | general
    )
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = {"408", "413"} <= set(operation["responses"])
            assert body == ("requestBody" in operation), (method, path)
    assert "422" in document["paths"]["/api/v1/pilots/{pilot_id}/launch"]["post"]["responses"]


def test_every_body_route_answers_415_to_another_format(app, api, client):
    """Drive the document: each operation with a request body, sent text/plain, answers the 415 it declares."""
    pilot_id = _draft(api)
    document = client.get(DOC).json
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            url = path.replace("{pilot_id}", str(pilot_id))
            response = api.as_("admin").open(method.upper(), url, data="hello", content_type="text/plain")
            assert response.status_code == 415, (method, path, response.status_code, response.json)
            assert "application/json" in response.json["error"]["message"]
            checked += 1
    assert checked >= 7


def _draft(api) -> int:
    body = {
        "name": "Fuzz target",
        "kind": "tool",
        "metrics": [{"name": "accuracy"}],
        "start_date": "2024-01-01",
        "end_date": "2024-02-01",
    }
    return api.as_("pm").post("/api/v1/pilots", json=body).json["id"]


# Valid-by-schema bodies can still break cross-field rules (end_date after start_date), so a 422 for schema-valid
# data is correct here; every other check applies (no 5xx, documented status codes, content types and bodies).
HEALTH = list(HealthCheck)
PILOT_OPERATIONS = {
    "GET /api/v1/pilots",
    "POST /api/v1/pilots",
    "GET /api/v1/pilots/{pilot_id}",
    "PATCH /api/v1/pilots/{pilot_id}",
    "POST /api/v1/pilots/{pilot_id}/launch",
    "POST /api/v1/pilots/{pilot_id}/conclude",
    "GET /api/v1/pilots/{pilot_id}/events",
}
EXCLUDED = [positive_data_acceptance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_pilots_routes_conform_to_the_document(app, api, mode):
    """Fuzz every pilots operation with a pm token (bounded and deterministic: a few examples per operation).

    (schemathesis.pytest's fixture loader does not run on pytest 9, so the operations' strategies are driven here.)
    """
    pilot_id = _draft(api)
    headers = {"Authorization": f"Bearer {api._tokens['pm']}"}
    schema = schemathesis.openapi.from_wsgi(DOC, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if operation.label in PILOT_OPERATIONS]
    assert len(operations) == len(PILOT_OPERATIONS)

    for operation in operations:
        path_parameters = {"pilot_id": pilot_id} if "{pilot_id}" in operation.path else None

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        @settings(
            max_examples=6, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

        run()


PLAN_AND_READ_OPERATIONS = {
    "POST /api/v1/plan",
    "GET /api/v1/pilots/{pilot_id}/plan",
    "GET /api/v1/pilots/{pilot_id}/results",
    "GET /api/v1/me",
}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_plan_and_results_routes_conform_to_the_document(app, api, session, mode):
    """The same property run for the planner (whose numerics must answer 200 or a 4xx it declares for any body the
    document allows), the results of a running pilot with pre-period data, and `/me`."""
    sim = simulation(n_moderators=30, weeks=2)
    pilot_id, roster = make_pilot(session, sim)
    write_unit_days(session, pilot_id, roster, sim)
    headers = {"Authorization": f"Bearer {api._tokens['analyst']}"}
    schema = schemathesis.openapi.from_wsgi(DOC, app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [operation for operation in operations if operation.label in PLAN_AND_READ_OPERATIONS]
    assert len(operations) == len(PLAN_AND_READ_OPERATIONS)

    for operation in operations:
        path_parameters = {"pilot_id": pilot_id} if "{pilot_id}" in operation.path else None

        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        @settings(
            max_examples=8, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def run(case):
            case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

        run()


def test_spectree_validation_errors_use_the_envelope_shape():
    from pydantic import BaseModel, ValidationError

    from pilots.errors import ValidationFailed
    from webui.api.openapi import _validation_failed

    class Query(BaseModel):
        limit: int

    try:
        Query.model_validate({"limit": "x"})
    except ValidationError as error:
        with pytest.raises(ValidationFailed) as raised:
            _validation_failed(None, None, error, None, None)
    assert raised.value.details == [{"row": None, "field": "limit", "message": raised.value.details[0]["message"]}]
    _validation_failed(None, None, None, None, None)  # no error, no exception


def test_two_models_with_one_name_are_refused():
    from pydantic import BaseModel

    from webui.api.openapi import _model_name

    first = type("Twin", (BaseModel,), {"__annotations__": {"a": int}})
    second = type("Twin", (BaseModel,), {"__annotations__": {"b": int}})
    assert _model_name(first) == "Twin" == _model_name(first)
    with pytest.raises(RuntimeError, match="Twin"):
        _model_name(second)
