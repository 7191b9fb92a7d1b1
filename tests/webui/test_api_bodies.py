"""Every route that reads a body answers 400 / 422 (JSON) to malformed bodies, never a 500: JSON nested far deeper
than any parser's recursion limit, and arbitrary bytes (hypothesis) in each content type it reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pilots.ingestion_support import audit, make_pilot

DEPTH = 1_000
DEEP_ARRAY = "[" * DEPTH + "]" * DEPTH
DEEP_OBJECT = '{"a":' * DEPTH + "1" + "}" * DEPTH


def _bodies() -> dict[str, str]:
    return {
        "bare array": DEEP_ARRAY,
        "bare object": DEEP_OBJECT,
        "roster": '{"moderators": [{"moderator_id": "m1", "shift": ' + DEEP_ARRAY + "}]}",
        "roster list": '{"moderators": ' + DEEP_ARRAY + "}",
        "outcomes": '{"outcomes": [' + DEEP_OBJECT + "]}",
        "field": '{"name": ' + DEEP_ARRAY + "}",
    }


def _operations(client) -> list[tuple[str, str]]:
    """(method, path template) of every API operation with a request body, from the OpenAPI document."""
    document = client.get("/api/v1/openapi.json").json
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]


@pytest.fixture
def pilot(session) -> int:
    return make_pilot(session, status="draft")


def _url(template: str, pilot: int) -> str:
    return template.replace("{pilot_id}", str(pilot))


def test_deeply_nested_json_is_a_4xx_on_every_body(api, client, pilot):
    operations = _operations(client)
    assert len(operations) >= 7
    for method, template in operations:
        for name, body in _bodies().items():
            response = api.open(method, _url(template, pilot), data=body, headers={"Content-Type": "application/json"})
            assert response.status_code in (400, 409, 422), (method, template, name, response.status_code)
            assert response.is_json and "error" in response.json


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode), csv=st.booleans())
def test_arbitrary_bodies_never_500(api, client, pilot, body, csv):
    headers = {"Content-Type": "text/csv" if csv else "application/json"}
    for method, template in _operations(client):
        response = api.open(method, _url(template, pilot), data=body, headers=headers)
        assert response.status_code < 500, (method, template, body, response.status_code)
        assert response.is_json or response.status_code == 200


def test_small_body_limit_except_on_bulk_uploads(api, client, pilot):
    padding = " " * (80 * 1024)  # 80 KiB of JSON whitespace around a small document
    json_headers = {"Content-Type": "application/json"}
    for method, path in [("POST", "/api/v1/pilots"), ("POST", "/api/v1/plan"), ("PATCH", f"/api/v1/pilots/{pilot}")]:
        response = api.open(method, path, data="{}" + padding, headers=json_headers)
        assert response.status_code == 413 and response.json["error"]["code"] == "request_entity_too_large", path
    assert client.post("/login", data={"name": "x", "password": "y", "pad": padding}).status_code == 413
    body = json.dumps({"outcomes": [audit(f"a{k}") for k in range(2000)]})
    assert len(body) > 80 * 1024
    response = api.post(f"/api/v1/pilots/{pilot}/outcomes", data=body, headers=json_headers)
    assert response.status_code != 413  # a draft pilot: 409, but the body was read
    roster = '{"moderators": [' + ",".join(f'{{"moderator_id": "m{k}"}}' for k in range(5000)) + "]}"
    assert len(roster) > 80 * 1024
    assert api.put(f"/api/v1/pilots/{pilot}/roster", data=roster, headers=json_headers).status_code == 200
