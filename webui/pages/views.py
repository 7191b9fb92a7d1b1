"""The site's pages: a pilot's overview and its results (the list is in `webui.pages.pilot_list`).

Every view here needs a signed-in user (enforced for the whole blueprint in `webui.pages`).
"""

from __future__ import annotations

from datetime import date

from flask import abort, render_template, request
from pydantic import TypeAdapter, ValidationError

from pilots import access, events
from pilots.errors import PilotLabError
from pilots.results import results_document
from pilots.schemas.fields import PlanDate
from webui import plain
from webui.database import get_session
from webui.pages import bp, exports, queries, trail
from webui.pages.presenter import results_view
from webui.pages.wording import design_rows, plan_metric_row

PLAN_DATE = TypeAdapter(PlanDate)


@bp.get("/pilots/<int:pilot_id>")
def pilot_overview(pilot_id: int):
    session = get_session()
    pilot = queries.pilot_or_404(pilot_id)
    return render_template(
        "pages/pilot_overview.html",
        pilot=pilot,
        metrics=[plan_metric_row(plan) for plan in pilot.metrics or []],
        design=design_rows(pilot.design or {}),
        roster_size=queries.roster_size(session, pilot.id),
        by_arm=queries.assignments_by_arm(session, pilot.id),
        trail=trail.entries(events.history(session, pilot.id), plain.arm_names(pilot.arms), pilot.unit),
        arm_names=plain.arm_names(pilot.arms),
        collaborators=access.collaborators(session, [pilot.id]).get(pilot.id, []),
        conclusion=queries.conclusion(session, pilot),
        exports=exports.links(pilot, exports.Filters()),
    )


def as_of_from_request() -> date | None:
    """`?as_of=` as a date (YYYY-MM-DD only, the API's rule); a 400 page naming it otherwise."""
    raw = request.args.get("as_of") or None
    if raw is None:
        return None
    try:
        return PLAN_DATE.validate_python(raw)  # YYYY-MM-DD only, the API's own rule
    except ValidationError:
        abort(400, description=f"as_of must be a date like 2025-03-14, got {raw[:20]!r}.")


@bp.get("/pilots/<int:pilot_id>/results")
def pilot_results(pilot_id: int):
    pilot = queries.pilot_or_404(pilot_id)
    as_of = as_of_from_request()
    view, unavailable = None, None
    if pilot.status == "draft":
        unavailable = "This pilot has not launched yet. Results appear once it is running and QA audits arrive."
    else:
        try:
            session = get_session()
            document = results_document(session, pilot.id, as_of, use_cache=queries.cache_enabled())
            view = results_view(document, pilot, queries.conclusion(session, pilot))
        except PilotLabError as error:
            unavailable = error.message
    return render_template("pages/pilot_results.html", pilot=pilot, view=view, unavailable=unavailable, as_of=as_of)
