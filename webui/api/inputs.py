"""Reading request bodies and query strings through the API data models, with every problem as a named 4xx.

Routes validate here rather than through spectree so that a malformed body is reported as such (spectree reads an
unparsable body as `{}`), JSON is parsed by pydantic in strict mode (no `"5"` for 5, no `NaN`), and the messages use
dotted field paths. The models are still declared on the route with `spec.validate(..., skip_validation=True)`, so
the OpenAPI document describes exactly what is checked here. A body in another format than JSON is a 415 (as on
the routes that also take CSV), a JSON body that does not fit the model a 422.
"""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from pilots.errors import PilotLabError, ValidationFailed, problem
from pilots.schemas import problems_from

Model = TypeVar("Model", bound=BaseModel)
JSON_TYPE = "application/json"


class UnsupportedMediaType(PilotLabError):
    """The body is not in a format the route reads; `details` names the `Content-Type` header."""

    http_status = 415
    code = "unsupported_media_type"


def json_body(model: type[Model], *, optional: bool = False) -> Model:
    """The request body as `model`: 415 naming `Content-Type` unless it is JSON, 422 naming `body` for malformed JSON.

    With `optional`, an empty body means the model's defaults, whatever its content type.
    """
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return model()
    if not request.is_json:
        given = request.mimetype or "none"
        raise UnsupportedMediaType(
            f"Send the body as JSON with 'Content-Type: {JSON_TYPE}' (not {given!r}).",
            [problem("Content-Type", f"must be {JSON_TYPE}, got {given!r}")],
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise ValidationFailed("The request body is invalid.", problems_from(error)) from error


def query_args(model: type[Model]) -> Model:
    """The query string as `model` (each parameter given once); 422 naming the parameter otherwise."""
    repeated = [name for name, values in request.args.lists() if len(values) > 1]
    if repeated:
        raise ValidationFailed(
            "Give each query parameter once.", [problem(name, "is given more than once") for name in repeated]
        )
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise ValidationFailed("The query string is invalid.", problems_from(error)) from error
