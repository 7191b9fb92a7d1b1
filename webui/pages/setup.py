"""Registering and editing a pilot's plan from the site: `/pilots/new` and a draft's `/pilots/<id>/edit`.

Both pages post the whole plan; it is validated by the API's models (`PilotCreate`, `PilotUpdate`) and saved by the
API's service functions (`pilots.lifecycle`), so the pages and the API share one set of rules, permissions and
audit-trail entries. On any problem the page comes back with everything as typed and each message by its field.
"""

from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from pilots import lifecycle, roster
from pilots.errors import PilotLabError, ValidationFailed
from pilots.models._time import utcnow
from pilots.schemas import PilotCreate, PilotUpdate, problems_from
from webui.database import get_session
from webui.pages import bp, critical_form
from webui.pages.access import pilot_change_required
from webui.pages.guards import abort_for, actor, pilot_or_404, require
from webui.pages.plan_form import DESIGN_HELP, KINDS, MARGIN_KINDS, METHODS, ROLES, SPENDINGS, UNITS, PlanForm

ROSTER_ATTRIBUTES = ("site", "language", "tenure_months", "team")


def _render(form: PlanForm, pilot=None, attributes=ROSTER_ATTRIBUTES):
    return render_template(
        "pages/pilot_form.html",
        form=form,
        pilot=pilot,
        attributes=attributes,
        kinds=KINDS,
        units=UNITS,
        roles=ROLES,
        methods=METHODS,
        spendings=SPENDINGS,
        margin_kinds=MARGIN_KINDS,
        design_help=DESIGN_HELP,
        critical_help=critical_form.HELP,
    ), (422 if form.has_errors else 200)


def _validated(model, form: PlanForm):
    """The body as `model`, or None with the problems placed on the form."""
    body = form.body()
    try:
        data = model.model_validate_json(json.dumps(body))
    except ValidationError as error:
        form.add_problems(problems_from(error))
        return None
    return None if form.errors else data


@bp.route("/pilots/new", methods=["GET", "POST"])
def pilot_new():
    """Register a draft pilot."""
    require("write")
    if request.method == "GET":
        return _render(PlanForm.blank(utcnow().date()))
    form = PlanForm.from_request(request.form)
    data = _validated(PilotCreate, form)
    if data is None:
        return _render(form)
    try:
        pilot = lifecycle.create_pilot(get_session(), data, actor())
    except ValidationFailed as error:
        form.add_problems(error.details)
        return _render(form)
    except PilotLabError as error:
        abort_for(error)
    flash(f"Pilot “{pilot.name}” is registered as a draft. Next: upload its roster.", "info")
    return redirect(url_for("pages.pilot_roster", pilot_id=pilot.id))


@bp.route("/pilots/<int:pilot_id>/edit", methods=["GET", "POST"])
@pilot_change_required
def pilot_edit(pilot_id: int):
    """Edit a draft's plan (a locked plan redirects to the overview, which says why)."""
    require("write")
    pilot = pilot_or_404(pilot_id)
    if pilot.status != "draft":
        flash("This pilot has launched: its plan is locked and can no longer be edited.", "info")
        return redirect(url_for("pages.pilot_overview", pilot_id=pilot.id))
    attributes = (*ROSTER_ATTRIBUTES, *roster.attribute_names(get_session(), pilot.id))
    if request.method == "GET":
        return _render(PlanForm.from_pilot(pilot), pilot, attributes)
    form = PlanForm.from_request(request.form)
    patch = _validated(PilotUpdate, form)
    if patch is not None:
        try:
            lifecycle.update_pilot(get_session(), pilot.id, patch, actor())
        except ValidationFailed as error:
            form.add_problems(error.details)
        except PilotLabError as error:
            abort_for(error)
        else:
            flash("The plan is saved.", "info")
            return redirect(url_for("pages.pilot_edit", pilot_id=pilot.id))
    return _render(form, pilot, attributes)
