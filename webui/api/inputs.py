"""Reading request bodies and query strings through the API data models, with every problem as a named 422.

Routes validate here rather than through spectree so that a malformed body is reported as such (spectree reads an
unparsable body as `{}`), JSON is parsed by pydantic in strict mode (no `"5"` for 5, no `NaN`), and the messages use
dotted field paths. The models are still declared on the route with `spec.validate(..., skip_validation=True)`, so
the OpenAPI document describes exactly what is checked here.
"""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from pilots.errors import ValidationFailed, problem
from pilots.schemas import problems_from

Model = TypeVar("Model", bound=BaseModel)


def json_body(model: type[Model], *, optional: bool = False) -> Model:
    """The request body as `model`; 422 naming `body` for a wrong content type or malformed JSON.

    With `optional`, an empty body means the model's defaults.
    """
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return model()
    if not request.is_json:
        raise ValidationFailed(
            "Send the body as JSON with 'Content-Type: application/json'.",
            [problem("body", f"content type must be application/json, got {request.mimetype or 'none'!r}")],
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
