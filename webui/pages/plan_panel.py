"""The planning panel of a pilot: `/pilots/<id>/planning`, the page form of `GET /api/v1/pilots/{id}/plan`.

It runs the same calculator (`pilots.planning.service.pilot_plan`) on the pilot's roster, arms and design, with the
variance from its pre-period audits, or, when there are none yet, from a baseline, an ICC and audits per week typed
here. Rates are typed in percent and points (the metric's own unit) and converted once, here.

A fraction typed where percent is expected (0.93 for 93%, 0.02 for 2 points, the API's units) is never planned for
silently: a success rate (accuracy) at or under 1% and a hoped-for change under a hundredth of the room to 0% or 100%
are refused with a "did you mean" link; an error rate under 1% is legitimate (critical errors are rare), so it is
planned for with a note saying how it was read.
"""

from __future__ import annotations

from flask import render_template, request, url_for
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


def _shown(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


class PlanningForm(FormState):
    """The panel's inputs as typed and the problems found, by input name; `suggestion` holds the inputs read as
    fractions of the API's units, scaled to percent, and `notes` what was read in a way worth saying."""

    suggestion: dict[str, str] | None = None
    notes: list[str] | None = None

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

    def _plausible_percent(self, metric: str, name: str, value: float) -> bool:
        """A rate's baseline is a percent in [0, 100] and a change is in points in [-100, 100]; a success rate at or
        under 1% is a fraction typed where percent is expected (an error rate may be that low: noted, not refused)."""
        definition = METRICS[metric]
        if name == "baseline":
            if not 0 <= value <= 100:
                self.add(name, f"is a percentage of audits, between 0 and 100 (type 93 for 93%); got {_shown(value)}")
                return False
            if 0 < value <= 1 and definition.higher_is_better:
                self.add(
                    name,
                    f"is in percent: {_shown(value)} would mean {_shown(value)}% of audits, not "
                    f"{_shown(value * 100)}%. Did you mean {_shown(value * 100)}? Type the percentage.",
                )
                self._suggest(metric)
                return False
            if 0 < value < 1:
                self.notes = [
                    f"Baseline read as {_shown(value)}% of audits (about 1 audit in {round(100 / value):,}). "
                    f"If you meant {_shown(value * 100)}%, type {_shown(value * 100)}."
                ]
            return True
        if not -100 <= value <= 100:
            self.add(
                name, f"is in percentage points, between -100 and 100 (type 2 for 93% to 95%); got {_shown(value)}"
            )
            return False
        return True

    def change_plausible(self, metric: str, baseline: float) -> bool:
        """False (with a field message and a suggestion) when the hoped-for change of a rate is under a hundredth of
        the room to 0% or 100% from `baseline` (a proportion): 0.02 points on 93% is the fraction 0.02, not 2 points."""
        text = self.get("target_effect")
        if not METRICS[metric].proportion or not text or baseline is None:
            return True
        change = float(text)
        room = min(baseline, 1 - baseline)  # as a proportion; a hundredth of it in points is the same number
        if room <= 0 or abs(change) >= room:
            return True
        self.add(
            "target_effect",
            f"is in percentage points: {_shown(change)} would mean {_shown(100 * baseline)}% to "
            f"{_shown(100 * baseline + change)}%, a change no pilot can detect. Did you mean {_shown(change * 100)} "
            "points? Type the points.",
        )
        self._suggest(metric)
        return False

    def _suggest(self, metric: str) -> None:
        """The same inputs with the rate values that read as fractions in percent and points: a success-rate baseline
        of 1 or less, and a change under a hundredth of the room to 0% or 100% from that baseline."""
        suggestion = {name: self.get(name) for name in INPUTS if self.get(name)}
        suggestion["metric"] = metric
        baseline = None
        try:
            value = float(suggestion.get("baseline", ""))
            baseline = value if value > 1 or not METRICS[metric].higher_is_better else value * 100
            suggestion["baseline"] = _shown(baseline)
        except ValueError:
            pass
        try:
            change = float(suggestion.get("target_effect", ""))
        except ValueError:
            change = None
        # Scale the change only when it is implausible next to the (suggested) baseline: 0.5 points on 93% stays.
        room = 1.0 if baseline is None else min(baseline, 100 - baseline) / 100
        if change is not None and abs(change) < room:
            suggestion["target_effect"] = _shown(change * 100)
        self.suggestion = suggestion

    def suggestion_text(self) -> str:
        """`Plan for a baseline of 93% and a change of 2 points` for the suggestion link."""
        parts = []
        if self.suggestion.get("baseline"):
            parts.append(f"a baseline of {self.suggestion['baseline']}%")
        if self.suggestion.get("target_effect"):
            parts.append(f"a change of {self.suggestion['target_effect']} points")
        return "Plan for " + " and ".join(parts) if parts else "Plan again"

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
                if not self._plausible_percent(metric, name, value):
                    continue
                value /= 100
            raw[name] = int(value) if name == "weeks" and value.is_integer() else value
        if self.errors:
            return None
        if "baseline" in raw and "target_effect" in raw and not self.change_plausible(metric, raw["baseline"]):
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
            if "baseline" in overrides or form.change_plausible(metric, document.get("baseline")):
                view = planning_view(document, pilot.unit)
        except ValidationFailed as error:
            for item in error.details:
                form.add(item.get("field") or "", item.get("message", "is invalid"))
        except PilotLabError as error:
            abort_for(error)
    if form.has_errors and request.args:
        status = 422
    scale = scale_for({"name": metric})
    definition = METRICS[metric]
    suggestion = None
    if form.suggestion:
        suggestion = (url_for("pages.pilot_planning", pilot_id=pilot.id, **form.suggestion), form.suggestion_text())
    return render_template(
        "pages/setup/planning.html",
        pilot=pilot,
        form=form,
        view=view,
        metrics=[(spec.name, METRICS[spec.name].label) for spec in plan.metrics],
        rate=definition.proportion,
        change_unit=scale.change_unit or definition.unit_of_measure,
        change_example="2 means 93% to 95%" if definition.higher_is_better else "-0.5 means 2% to 1.5%",
        suggestion=suggestion,
        max_weeks=MAX_WEEKS,
    ), status
