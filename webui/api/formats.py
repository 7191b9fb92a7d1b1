"""Content negotiation for exports: JSON by default, CSV with `?format=csv` or `Accept: text/csv`.

`export_response` is the one place every export route answers through (moderator-level tables, balance, results):
it streams the table, pseudonymised when asked.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, abort, current_app, jsonify, request, stream_with_context
from pydantic import BaseModel, ConfigDict, Field

from pilots.exports.table import ExportTable, csv_chunks, json_chunks, pseudonymized
from pilots.pseudonyms import pseudonym_for

FORMATS = ("json", "csv")


class ExportFormat(BaseModel):
    """The query string of an export route: only `format`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "csv"] | None = Field(default=None, description="Overrides the Accept header.")


class IdentifiedExport(ExportFormat):
    """The query string of an export of moderator-level rows: `format`, and `pseudonymize`."""

    pseudonymize: bool = Field(
        default=False,
        description="Replace moderator, team, unit and auditor ids with keyed pseudonyms (`p-` and 20 hex digits), "
        "stable within the pilot and not reversible without the server's secret, for sharing outside the operation.",
    )

    def pilot_if_asked(self, pilot_id: int) -> int | None:
        """`pilot_id` when pseudonyms were asked for (what `export_response` takes), else None."""
        return pilot_id if self.pseudonymize else None


def wants_csv() -> bool:
    """Whether the client asked for CSV (`?format=csv` wins over the Accept header)."""
    requested = request.args.get("format")
    if requested is not None:
        if requested not in FORMATS:
            abort(400, description=f"format must be one of {', '.join(FORMATS)}, got {requested!r}.")
        return requested == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"], default="application/json")
    return best == "text/csv"


def export_response(table: ExportTable, filename: str, *, pseudonymize_pilot: int | None = None) -> Response:
    """Stream `table` in the requested format; with `pseudonymize_pilot`, its identifiers as that pilot's
    pseudonyms (the key derives from `PSEUDONYM_SECRET`, by default the app's `SECRET_KEY`)."""
    if pseudonymize_pilot is not None:
        secret = current_app.config.get("PSEUDONYM_SECRET") or current_app.config["SECRET_KEY"]
        table = pseudonymized(table, pseudonym_for(str(secret).encode(), pseudonymize_pilot))
        filename += "-pseudonymized"
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
