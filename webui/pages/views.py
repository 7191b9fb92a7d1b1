"""The site's pages: the pilots list, a pilot's overview and its results.

Every view here needs a signed-in user (enforced for the whole blueprint in `webui.pages`).
"""

from __future__ import annotations

from datetime import date

from flask import abort, current_app, render_template, request
from flask_login import current_user
from pydantic import TypeAdapter, ValidationError

from pilots import access, events
from pilots.errors import NotFound, PilotLabError
from pilots.lookup import get_pilot
from pilots.models import Pilot
from pilots.results import results_document
from pilots.schemas.fields import PlanDate
from webui.database import get_session
from webui.pages import bp, queries
from webui.pages.presenter import results_view
from webui.pages.wording import design_rows, plan_metric_row, verdict

PLAN_DATE = TypeAdapter(PlanDate)

# Exports of moderator-level rows need the `export` permission; aggregates are readable by everyone.
EXPORTS = (
    ("roster", "Roster", True),
    ("assignments", "Assignments", True),
    ("outcomes", "QA outcomes", True),
    ("units", "Per-moderator totals", True),
    ("balance", "Balance checks", False),
    ("results", "Results", False),
)


def _pilot_or_404(pilot_id: int) -> Pilot:
    try:
        return get_pilot(get_session(), pilot_id)
    except NotFound:
        abort(404)


def _latest_verdict(pilot: Pilot):
    """The verdict badge for the list, or None before launch, without results, or when they fail to compute."""
    if pilot.status == "draft":
        return None
    try:
        document = results_document(get_session(), pilot.id)
    except PilotLabError:
        return None
    except Exception:  # one pilot's broken results must not take the whole list down
        current_app.logger.exception("Results for pilot %s failed on the list page", pilot.id)
        return None
    return verdict((document.get("decision") or {}).get("recommendation"))


@bp.get("/")
def pilot_list():
    status = request.args.get("status") or None
    if status is not None and status not in queries.STATUSES:
        abort(400, description=f"status must be one of {', '.join(queries.STATUSES)}.")
    rows = [(pilot, _latest_verdict(pilot)) for pilot in queries.pilots(get_session(), status)]
    return render_template("pages/pilot_list.html", rows=rows, status=status, statuses=queries.STATUSES)


@bp.get("/pilots/<int:pilot_id>")
def pilot_overview(pilot_id: int):
    session = get_session()
    pilot = _pilot_or_404(pilot_id)
    exports = [
        (key, label) for key, label, moderator_level in EXPORTS if not moderator_level or current_user.can("export")
    ]
    return render_template(
        "pages/pilot_overview.html",
        pilot=pilot,
        metrics=[plan_metric_row(plan) for plan in pilot.metrics or []],
        design=design_rows(pilot.design or {}),
        roster_size=queries.roster_size(session, pilot.id),
        by_arm=queries.assignments_by_arm(session, pilot.id),
        trail=events.history(session, pilot.id),
        collaborators=access.collaborators(session, [pilot.id]).get(pilot.id, []),
        exports=exports,
    )


def _as_of() -> date | None:
    raw = request.args.get("as_of") or None
    if raw is None:
        return None
    try:
        return PLAN_DATE.validate_python(raw)  # YYYY-MM-DD only, the API's own rule
    except ValidationError:
        abort(400, description=f"as_of must be a date like 2025-03-14, got {raw[:20]!r}.")


@bp.get("/pilots/<int:pilot_id>/results")
def pilot_results(pilot_id: int):
    pilot = _pilot_or_404(pilot_id)
    as_of = _as_of()
    view, unavailable = None, None
    if pilot.status == "draft":
        unavailable = "This pilot has not launched yet. Results appear once it is running and QA audits arrive."
    else:
        try:
            view = results_view(results_document(get_session(), pilot.id, as_of), pilot)
        except PilotLabError as error:
            unavailable = error.message
    return render_template("pages/pilot_results.html", pilot=pilot, view=view, unavailable=unavailable, as_of=as_of)
