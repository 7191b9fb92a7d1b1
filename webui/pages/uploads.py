"""Uploading CSV files from the site: a draft's roster (replaced whole), late joiners of a running pilot, and QA
outcomes of a running pilot; plus the sample files the pages link to.

Files are read and validated by the same code as the API bodies (`pilots.roster.upload`, `pilots.ingestion`) and
stored by the same service functions, all-or-nothing: a file with any bad row stores nothing and the page lists
every problem as `row, field, message`.
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import Response, abort, flash, redirect, render_template, request, url_for

from pilots import ingestion, roster
from pilots.errors import Conflict, PilotLabError, ValidationFailed
from pilots.models._time import utcnow
from pilots.roster.summary import roster_summary
from pilots.roster.upload import parse_upload
from pilots.simulation import write_audits_csv
from pilots.simulation.sample import pilot_sample, sample_refusal, sample_window
from webui.database import get_session, sessions
from webui.pages import bp
from webui.pages.access import pilot_change_required
from webui.pages.guards import abort_for, actor, pilot_or_404, require

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_FILES = ("roster.csv", "outcomes.csv")


@bp.get("/samples/<name>")
def sample_file(name: str):
    """A sample CSV to start from (the same files as `examples/` in the repository)."""
    if name not in SAMPLE_FILES:
        abort(404)
    response = Response((SAMPLES / name).read_bytes(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    response.cache_control.max_age = 3600
    return response


class Problems:
    """A rejected upload as the page shows it: the message, the `row, field, message` table and how many in all."""

    def __init__(self, error: PilotLabError) -> None:
        self.message = error.message
        details = error.details if isinstance(error.details, list) else []
        self.rows = [item for item in details if isinstance(item, dict)]
        self.total = getattr(error, "total", len(self.rows))


def _file() -> tuple[bytes | None, str | None]:
    """The uploaded file's bytes, or a message saying what is missing."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, "Choose a CSV file to upload."
    try:
        data = upload.read()
    finally:
        upload.close()  # large uploads are spooled to a temporary file: release it now
    if not data.strip():
        return None, "That file is empty."
    return data, None


@bp.route("/pilots/<int:pilot_id>/roster", methods=["GET", "POST"])
@pilot_change_required
def pilot_roster(pilot_id: int):
    """A draft's roster (upload replaces it) or a running pilot's late joiners (upload adds them)."""
    require("write")
    pilot = pilot_or_404(pilot_id)
    problems, missing, status = None, None, 200
    if request.method == "POST":
        data, missing = _file()
        if data is not None:
            try:
                rows = parse_upload(data, "text/csv")
                if pilot.status == "draft":
                    count = roster.replace_roster(get_session(), pilot.id, rows, actor())
                    flash(f"Roster saved: {count:,} moderators.", "info")
                else:
                    result = roster.add_late_joiners(get_session(), pilot.id, rows, actor())
                    flash(_late_joiner_message(result), "info")
                return redirect(url_for("pages.pilot_roster", pilot_id=pilot.id))
            except (ValidationFailed, Conflict) as error:
                problems, status = Problems(error), error.http_status
            except PilotLabError as error:
                abort_for(error)
        else:
            status = 422
    summary = roster_summary(get_session(), pilot.id)
    return render_template(
        "pages/setup/roster.html", pilot=pilot, summary=summary, problems=problems, missing=missing
    ), status


def _late_joiner_message(result: roster.LateJoinResult) -> str:
    by_arm: dict[str, int] = {}
    for assignment in result.added:
        by_arm[assignment.arm] = by_arm.get(assignment.arm, 0) + 1
    split = ", ".join(f"{count:,} to {arm}" for arm, count in by_arm.items())
    text = f"{len(result.added):,} late joiner{'s' if len(result.added) != 1 else ''} added"
    text += f" ({split})." if split else "."
    if result.unchanged:
        text += f" {len(result.unchanged):,} were already on the roster unchanged."
    return text


@bp.route("/pilots/<int:pilot_id>/outcomes", methods=["GET", "POST"])
@pilot_change_required
def pilot_outcomes(pilot_id: int):
    """Upload a CSV of QA outcomes to a running pilot (up to the API's per-request limit)."""
    require("write")
    pilot = pilot_or_404(pilot_id)
    problems, missing, status, result = None, None, 200, None
    if request.method == "POST":
        data, missing = _file()
        if data is not None:
            try:
                result = ingestion.ingest_csv_body(sessions(), pilot.id, data, actor=actor(), source="page-csv")
            except (ValidationFailed, Conflict) as error:
                problems, status = Problems(error), error.http_status
            except PilotLabError as error:
                if error.http_status in (400, 409, 422):
                    problems, status = Problems(error), error.http_status
                else:
                    abort_for(error)
        else:
            status = 422
    return render_template(
        "pages/setup/outcomes.html",
        pilot=pilot,
        problems=problems,
        missing=missing,
        result=result,
        max_rows=ingestion.MAX_ROWS_PER_REQUEST,
        sample=None
        if sample_refusal(pilot)
        else sample_window(pilot.pre_period_start or pilot.start_date, pilot.end_date, utcnow().date()),
    ), status


@bp.get("/pilots/<int:pilot_id>/samples/outcomes.csv")
@pilot_change_required
def pilot_sample_outcomes(pilot_id: int):
    """Sample QA outcomes for this pilot's own moderators and dates (`pilots.simulation.sample`), to try an upload:
    a static file's dates fall outside a new pilot's data window and its moderators are not on its roster. Refused
    (409) once the pilot has real QA outcomes (`sample_refusal`)."""
    require("write")
    pilot = pilot_or_404(pilot_id)
    refusal = sample_refusal(pilot)
    if refusal is not None:
        abort(409, description=refusal)
    found = pilot_sample(get_session(), pilot, utcnow().date())
    if found is None:
        abort(404, description="No sample yet: the pilot has no roster, or no whole day of its data window has passed.")
    text = io.StringIO()
    write_audits_csv(found.audits, text)
    response = Response(text.getvalue(), mimetype="text/csv")
    name = f"pilot-{pilot.id}-sample-outcomes-{found.first}-{found.last}.csv"
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response
