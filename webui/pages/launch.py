"""Launching a draft from the site, and the balance table shown right after.

The confirmation page says what launch locks (the plan and its SHA-256 fingerprint) and what happens (randomization,
no reassignment), and, when the planned start date has passed, that the start moves to the launch day. The launch
itself is `pilots.lifecycle.launch_pilot`, exactly as `POST /api/v1/pilots/{id}/launch`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func
from sqlmodel import select

from pilots import lifecycle
from pilots.assignment.balance import balance_report
from pilots.errors import Conflict, PilotLabError, ValidationFailed
from pilots.models import RosterEntry
from pilots.models._time import utcnow
from pilots.planning.canonical import PLAN_FIELDS
from webui.database import get_session
from webui.pages import bp
from webui.pages.access import pilot_change_required
from webui.pages.balance_view import balance_view
from webui.pages.guards import abort_for, actor, pilot_or_404, require
from webui.pages.uploads import Problems
from webui.pages.wording import design_rows


@bp.route("/pilots/<int:pilot_id>/launch", methods=["GET", "POST"])
@pilot_change_required
def pilot_launch(pilot_id: int):
    """The launch confirmation (GET) and the launch (POST)."""
    require("write")
    pilot = pilot_or_404(pilot_id)
    if pilot.status != "draft":
        flash("This pilot has already launched; a pilot is launched once.", "info")
        return redirect(url_for("pages.pilot_balance", pilot_id=pilot.id))
    problems, unconfirmed, status = None, False, 200
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            unconfirmed, status = True, 422
        else:
            try:
                launched = lifecycle.launch_pilot(get_session(), pilot.id, actor())
            except (ValidationFailed, Conflict) as error:
                problems, status = Problems(error), error.http_status
            except PilotLabError as error:
                abort_for(error)
            else:
                fingerprint = launched.plan_hash[:12]
                flash(
                    f"Launched: the roster is randomized and the plan is locked (fingerprint {fingerprint}…).", "info"
                )
                return redirect(url_for("pages.pilot_balance", pilot_id=pilot.id))
    today = utcnow().date()
    return render_template(
        "pages/setup/launch.html",
        pilot=pilot,
        today=today,
        start_moves=pilot.start_date < today,
        roster=_roster_counts(pilot.id),
        design=design_rows(pilot.design or {}),
        plan_fields=[name.replace("_", " ") for name in PLAN_FIELDS],
        problems=problems,
        missing=None,
        unconfirmed=unconfirmed,
    ), status


@bp.get("/pilots/<int:pilot_id>/balance")
def pilot_balance(pilot_id: int):
    """Units by stratum and arm and how alike the groups are (aggregate data: every role may read it)."""
    require("read")
    pilot = pilot_or_404(pilot_id)
    if pilot.status == "draft":
        flash("The balance table appears once the pilot has launched.", "info")
        return redirect(url_for("pages.pilot_overview", pilot_id=pilot.id))
    return render_template(
        "pages/setup/balance.html", pilot=pilot, view=balance_view(balance_report(get_session(), pilot), pilot)
    )


def _roster_counts(pilot_id: int) -> tuple[int, int]:
    """Moderators and distinct teams on the roster."""
    row = (
        get_session()
        .exec(select(func.count(), func.count(func.distinct(RosterEntry.team))).where(RosterEntry.pilot_id == pilot_id))
        .one()
    )
    return int(row[0]), int(row[1])
