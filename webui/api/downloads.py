"""The audit trail of downloads: who exported which table of which pilot, in which format and date range.

Each export route calls `record_download` once, just before it streams, in every format it serves (CSV, JSON and
the results report's HTML). The record is committed in its own short
unit of work (the export itself is a read), with the pilot in the details rather than as the event's pilot, so a
pilot's own history shows its changes and not every read of it.
"""

from __future__ import annotations

from flask import request

from pilots import events
from pilots.db import unit_of_work
from webui.api.auth import actor
from webui.api.formats import wants_csv
from webui.database import sessions

FILTERS = ("since", "until", "as_of")


def requested_as_file() -> bool:
    """Whether the caller asked for a file by naming its format (`?format=json` or `csv`), as the Downloads page's
    links do. A bare JSON read of results or balance is an API client reading the verdict, not an export: recording
    every poll would put a write on every read (and on SQLite serialize them)."""
    return "format" in request.args


def record_download(
    table: str, pilot_id: int | None = None, who: str | None = None, file_format: str | None = None
) -> None:
    """Record that the caller (`who`, by default the API caller) downloaded `table` (of `pilot_id`) in the
    requested format (or `file_format`, for a file that has only one: the HTML report)."""
    filters = {name: request.args[name] for name in FILTERS if name in request.args}
    with unit_of_work(sessions()) as work:
        events.record(
            work,
            who or actor(),
            "export.downloaded",
            table=table,
            pilot=pilot_id,
            format=file_format or ("csv" if wants_csv() else "json"),
            **filters,
        )
