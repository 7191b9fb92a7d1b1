"""Concluding a running pilot from the site with its decision record.

The page shows the engine's recommendation now (the one stored with the decision) and asks what was decided and
why; `pilots.lifecycle.conclude_pilot` applies the API's rule (a decision that differs from the recommendation, or
`stopped`, needs a rationale) and records who and when.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from pilots import decisions, lifecycle
from pilots.errors import PilotLabError, ValidationFailed
from pilots.schemas import ConcludeRequest, problems_from
from webui.database import get_session
from webui.pages import bp
from webui.pages.access import pilot_change_required
from webui.pages.form_state import FormState
from webui.pages.guards import abort_for, actor, pilot_or_404, require
from webui.pages.wording import verdict

FIELDS = ("decision", "rationale", "note")
CHOICES = (
    ("roll_out", "Roll out", "Make the change for everyone."),
    ("do_not_roll_out", "Do not roll out", "Keep things as they are."),
    ("stopped", "Stopped for another reason", "The pilot ends without a roll-out decision; say why."),
)


class ConcludeForm(FormState):
    def add(self, name: str, message: str) -> None:
        if name in FIELDS:
            super().add(name, message)
        else:
            self.general.append(message)


@bp.route("/pilots/<int:pilot_id>/conclude", methods=["GET", "POST"])
@pilot_change_required
def pilot_conclude(pilot_id: int):
    """The decision form (GET) and concluding the pilot with it (POST)."""
    require("write")
    pilot = pilot_or_404(pilot_id)
    if pilot.status != "running":
        flash(f"This pilot is {pilot.status}; only a running pilot can be concluded.", "info")
        return redirect(url_for("pages.pilot_overview", pilot_id=pilot.id))
    form = ConcludeForm({name: request.form.get(name, "") for name in FIELDS})
    if request.method == "POST":
        if not form.get("decision"):
            form.add("decision", "Choose what was decided.")
        else:
            body = {name: form.get(name).strip() or None for name in FIELDS}
            try:
                data = ConcludeRequest.model_validate(body)
                lifecycle.conclude_pilot(
                    get_session(), pilot.id, actor(), data.note, decision=data.decision, rationale=data.rationale
                )
            except ValidationError as error:
                for item in problems_from(error):
                    form.add(item["field"], item["message"])
            except ValidationFailed as error:
                for item in error.details:
                    form.add(item.get("field") or "", item.get("message", "is invalid"))
            except PilotLabError as error:
                abort_for(error)
            else:
                flash("The pilot is concluded and the decision is recorded.", "info")
                return redirect(url_for("pages.pilot_overview", pilot_id=pilot.id))
    recommendation, provisional = decisions.current_recommendation(get_session(), pilot.id)
    return render_template(
        "pages/setup/conclude.html",
        pilot=pilot,
        form=form,
        choices=CHOICES,
        recommendation=verdict(recommendation) if recommendation else None,
        provisional=provisional,
        follows={"roll_out": "go", "do_not_roll_out": "no_go"},
        raw_recommendation=recommendation,
    ), (422 if form.has_errors else 200)
