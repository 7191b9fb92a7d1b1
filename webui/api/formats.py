"""Content negotiation for exports: JSON by default, CSV with `?format=csv` or `Accept: text/csv`."""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, abort, jsonify, request, stream_with_context
from pydantic import BaseModel, ConfigDict, Field

from pilots.exports import ExportTable, csv_chunks, json_chunks

FORMATS = ("json", "csv")


class ExportFormat(BaseModel):
    """The query string of an export route: only `format`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "csv"] | None = Field(default=None, description="Overrides the Accept header.")


def wants_csv() -> bool:
    """Whether the client asked for CSV (`?format=csv` wins over the Accept header)."""
    requested = request.args.get("format")
    if requested is not None:
        if requested not in FORMATS:
            abort(400, description=f"format must be one of {', '.join(FORMATS)}, got {requested!r}.")
        return requested == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"], default="application/json")
    return best == "text/csv"


def export_response(table: ExportTable, filename: str) -> Response:
    """Stream `table` in the requested format."""
    if wants_csv():
        response = Response(stream_with_context(csv_chunks(table)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    response = Response(stream_with_context(json_chunks(table)), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.json"'  # a file, not a blob in a tab
    return response


def named_json(body: Any, filename: str) -> Response:
    """A JSON document (results, balance) with its file name: shown inline by the API, saved under this name by a
    browser (the pages' download links add the `download` attribute)."""
    response = jsonify(body)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}.json"'
    return response
