"""The spectree instance that documents (and, where routes let it, validates) the API, and response helpers.

The OpenAPI document is served by `webui.api.meta` at /api/v1/openapi.json. Spectree's own documentation pages are
never registered (`spec.register` is not called): they load their assets from a CDN. Request-validation errors from
spectree are turned into the API's error envelope by `_validation_failed`, so every route answers 422 the same way.
"""

from __future__ import annotations

from typing import Any

import flask
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from spectree.plugins.flask_plugin import FlaskPlugin

from pilots.errors import ValidationFailed
from pilots.schemas import ErrorEnvelope, problems_from

BEARER = "bearer"
ERROR_DESCRIPTIONS = {
    400: "Bad request (also: a request that is not valid HTTP, answered by the server before the route)",
    401: "Missing, unknown, expired or revoked API token",
    403: "The caller may not do this (its role, it neither owns nor collaborates on the pilot, or its token is scoped "
    "to another pilot's ingestion)",
    408: "The request body did not arrive within the body deadline",
    413: "The request body is larger than the route accepts (64 KiB; 64 MiB for bulk uploads)",
    414: "The request line (method and URL) is too long",
    431: "The request headers are too large or too many",
    503: "The database is unavailable; retry after the `Retry-After` seconds",
    410: "Deleted on purpose (the retention policy purged the raw audits)",
    404: "No such resource",
    409: "Conflicts with the current state",
    415: "The body's Content-Type is not one the route reads (application/json, or text/csv where listed)",
    422: "Invalid input: `details` lists `{row, field, message}` for every problem",
    429: "Too many failed token lookups from this address: try again after `Retry-After` seconds",
}


def _validation_failed(request, response, error, instance, model_adapter) -> None:
    """Spectree's before-hook: a request that failed validation becomes a ValidationFailed (422, our envelope)."""
    if error is not None:
        raise ValidationFailed("The request is invalid.", problems_from(error))


_NAMES: dict[str, type] = {}

# Operations whose JSON body may be omitted (spectree marks every declared body as required).
OPTIONAL_BODIES: set[str] = set()
# Operations that also take a CSV body (`Content-Type: text/csv`, a header row then one record per line).
CSV_BODIES: set[str] = {"replaceRoster", "addLateJoiners", "ingestOutcomes"}
CSV_CONTENT = {"schema": {"type": "string", "description": "CSV text: a header row, then one record per line."}}


def _model_name(model: type) -> str:
    """Component names are the models' class names; two different models with one name are a startup error."""
    name = model.__name__
    if _NAMES.setdefault(name, model) is not model:
        raise RuntimeError(f"Two API models are named {name!r} ({_NAMES[name].__module__}, {model.__module__}).")
    return name


class StreamingFlaskPlugin(FlaskPlugin):
    """Spectree's Flask plugin, but a streamed response passes through untouched.

    The stock plugin unpacks every response with `get_data()` before it looks at `skip_validation`, which drains a
    streamed export into memory before its first byte is sent (minutes and gigabytes for millions of rows). Our
    streamed responses are exports, never validated against a model, so they are returned as they are.
    """

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        if isinstance(resp, flask.Response) and resp.is_streamed:
            return resp, None
        return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)


spec = SpecTree(
    "flask",
    backend=StreamingFlaskPlugin,
    title="PilotLab API",
    version="1.0.0",
    description=(
        "Register pilots, randomize rosters, ingest QA outcomes and read sequential results. Send an API token as "
        '`Authorization: Bearer <token>`. Errors are `{"error": {"code", "message", "details"}}`.'
    ),
    mode="strict",
    annotations=True,
    validation_error_status=422,
    validation_error_model=ErrorEnvelope,
    before=_validation_failed,
    naming_strategy=_model_name,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[
        SecurityScheme(name=BEARER, data=SecuritySchemeData(type="http", scheme="bearer", bearer_format="plt_...")),
    ],
    security={BEARER: []},
)


class DeclaredResponse(Response):
    """A spectree Response that lists exactly the declared codes.

    `spec.validate` adds the validation-error status (422) to every route, also to routes that read no input and can
    never answer it (`/me`, `GET /pilots/{id}`); routes that validate input declare 422 themselves.
    """

    def add_model(self, code: int, model: Any, replace: bool = True, description: str | None = None) -> None:
        if not replace:  # only spectree's automatic validation-error entry is added without replacing
            return
        super().add_model(code, model, replace, description)


def responses(ok: int, model: Any = None, *errors: int, public: bool = False) -> Response:
    """A spectree Response: the success code and model, then the listed error codes with the error envelope.

    Authenticated routes (all but `public` ones) always list 401 (no valid token), 403 (a role check, or a token
    scoped to one pilot's ingestion used elsewhere) and 429 (failed token lookups throttled per address).
    """
    codes: dict[str, Any] = {f"HTTP_{ok}": model}
    wanted = set(errors) if public else {401, 403, 429, *errors}
    for code in sorted(wanted):
        codes[f"HTTP_{code}"] = (ErrorEnvelope, ERROR_DESCRIPTIONS[code])
    return DeclaredResponse(**codes)


# Statuses any route can answer whatever it does: from the server before the route runs (malformed HTTP, request
# line or headers too large), from reading a body (too slow, too large), from the database (an outage).
EVERY_ROUTE = (400, 414, 431)
BODY_ROUTES = (408, 413)
DATABASE_ROUTES = (503,)


def _error_entry(code: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorEnvelope"}
    return {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}


def _general_statuses(operation: dict[str, Any]) -> None:
    codes = [*EVERY_ROUTE]
    if "requestBody" in operation:
        codes += BODY_ROUTES
    if operation.get("security") != []:  # authenticated routes read the database (public ones do not)
        codes += DATABASE_ROUTES
    responses = operation["responses"]
    for code in codes:
        responses.setdefault(str(code), _error_entry(code))
    operation["responses"] = dict(sorted(responses.items()))


def _pilot_links(paths: dict[str, Any]) -> None:
    """OpenAPI links from a created pilot (`201` of createPilot, its `id`) to every operation on `{pilot_id}`, so
    stateful clients (schemathesis' state machine) can chain calls on a real pilot."""
    targets = {
        operation["operationId"]: {
            "operationId": operation["operationId"],
            "parameters": {"pilot_id": "$response.body#/id"},
        }
        for path, operations in paths.items()
        if "{pilot_id}" in path
        for operation in operations.values()
    }
    for operations in paths.values():
        for operation in operations.values():
            if operation.get("operationId") == "createPilot":
                operation["responses"]["201"]["links"] = targets


def document() -> dict[str, Any]:
    """The OpenAPI document, completed where spectree cannot say it: optional request bodies, CSV request bodies,
    the CSV representation of every export (any GET with a `format` query parameter answers text/csv too), and the
    statuses any route can answer (`EVERY_ROUTE`, `BODY_ROUTES`, `DATABASE_ROUTES`)."""
    generated = spec.spec
    for operations in generated["paths"].values():
        for operation in operations.values():
            _general_statuses(operation)
            name = operation.get("operationId")
            if name in OPTIONAL_BODIES and "requestBody" in operation:
                operation["requestBody"]["required"] = False
            if name in CSV_BODIES and "requestBody" in operation:
                operation["requestBody"]["content"].setdefault("text/csv", CSV_CONTENT)
            if any(p.get("in") == "query" and p.get("name") == "format" for p in operation.get("parameters", [])):
                operation["responses"]["200"].setdefault("content", {}).setdefault("text/csv", CSV_CONTENT)
    _pilot_links(generated["paths"])
    return generated
