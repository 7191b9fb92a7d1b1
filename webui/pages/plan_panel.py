"""The planning panel of a pilot: `/pilots/<id>/planning`, the page form of `GET /api/v1/pilots/{id}/plan`.

It runs the same calculator (`pilots.planning.service.pilot_plan`) on the pilot's roster, arms and design, with the
variance from its pre-period audits, or, when there are none yet, from a baseline, an ICC and audits per week typed
here. Rates are typed in percent and points (the metric's own unit) and converted once, here.
"""

from __future__ import annotations

from flask import render_template, request
from pydantic import ValidationError

from pilots.catalog import METRICS
from pilots.errors import PilotLabError, ValidationFailed
from pilots.planning.service import pilot_plan
from pilots.schemas import plan_of, problems_from
from pilots.schemas.horizon import MAX_WEEKS
from webui.api.plan import PilotPlanQuery
from webui.database import get_session
from webui.figures.scale import scale_for
from webui.pages import bp
from webui.pages.form_state import FormState
from webui.pages.guards import abort_for, pilot_or_404, require
from webui.pages.planning_view import planning_view

INPUTS = ("metric", "baseline", "icc", "audits_per_week", "weeks", "target_effect")
SCALED = ("baseline", "target_effect")  # typed in percent / points for rates


class PlanningForm(FormState):
    """The panel's inputs as typed and the problems found, by input name."""

    @classmethod
    def from_args(cls, args) -> PlanningForm:
        return cls({name: (args.get(name) or "").strip() for name in INPUTS})

    def add(self, name: str, message: str) -> None:
        if name in INPUTS:
            super().add(name, message)
        elif name == "pre_period":
            self.general.append(
                "There are no pre-period QA audits yet, so enter a baseline, an ICC and audits per week."
            )
        elif name == "roster":
            self.general.append("Upload a roster with at least two units first.")
        else:
            self.general.append(f"{name}: {message}")

    def overrides(self, metric: str) -> dict | None:
        """The API query (`PilotPlanQuery`) from the inputs, or None with the problems recorded."""
        raw: dict[str, object] = {}
        for name in INPUTS:
            text = self.get(name)
            if not text:
                continue
            if name == "metric":
                raw[name] = text
                continue
            try:
                value = float(text)
            except ValueError:
                self.add(name, "must be a number")
                continue
            if name in SCALED and METRICS[metric].proportion:
                value /= 100
            raw[name] = int(value) if name == "weeks" and value.is_integer() else value
        if self.errors:
            return None
        try:
            return PilotPlanQuery.model_validate(raw).model_dump(exclude_none=True)
        except ValidationError as error:
            for item in problems_from(error):
                self.add(item["field"], item["message"])
            return None


@bp.get("/pilots/<int:pilot_id>/planning")
def pilot_planning(pilot_id: int):
    """What the pilot can detect, week by week (any signed-in user may read it, as the API's `read`)."""
    require("read")
    pilot = pilot_or_404(pilot_id)
    plan = plan_of(pilot)
    metric = request.args.get("metric") or plan.primary[0].name
    if metric not in {spec.name for spec in plan.metrics}:
        metric = plan.primary[0].name
    form = PlanningForm.from_args(request.args)
    form.values["metric"] = metric
    view, status = None, 200
    overrides = form.overrides(metric)
    if overrides is not None:
        try:
            document = pilot_plan(get_session(), pilot.id, overrides)
            view = planning_view(document, pilot.unit)
        except ValidationFailed as error:
            for item in error.details:
                form.add(item.get("field") or "", item.get("message", "is invalid"))
        except PilotLabError as error:
            abort_for(error)
    if form.has_errors and request.args:
        status = 422
    scale = scale_for({"name": metric})
    return render_template(
        "pages/setup/planning.html",
        pilot=pilot,
        form=form,
        view=view,
        metrics=[(spec.name, METRICS[spec.name].label) for spec in plan.metrics],
        rate=METRICS[metric].proportion,
        change_unit=scale.change_unit or METRICS[metric].unit_of_measure,
        max_weeks=MAX_WEEKS,
    ), status
