"""The information plan frozen at launch: the plan stays the plan.

At launch each metric's two-level variance model (`pilots.planning.service.VarianceModel`) is fitted to the pre-period
rollups already stored (a simulated pilot's history, or a pre-period uploaded before launch), and the model, the units
per arm and the planned variance of every comparison at every planned look (the information schedule) are stored in
`Pilot.information_plan`. It is part of the locked plan and of its hash (`pilots.planning.canonical`), and every later
look uses it: pre-period audits stored after launch still improve the CUPED adjustment of the estimates, but they never
move the information fractions, the mixture tuning or the boundaries.

A metric without a pre-period model at launch has the rule frozen instead (`"source": "first_look"`): its model is
fitted once from the pilot data through the first look (`pilots.results.looks.first_look_day`), never from the
pre-period, so it is the same at every later look (only audits of those first days arriving late can change it).

Pilots launched before freezing existed have no `information_plan`; they keep the earlier behaviour (pre-period first,
else the first look, fitted at every analysis).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

from analysis.variance_components import VarianceComponents
from pilots.models import Pilot
from pilots.planning.service import VarianceModel
from pilots.results import looks
from pilots.results.loader import Panel, load_panel
from pilots.schemas import PilotPlan, plan_of

FORMAT = 1


def freeze(session: Session, pilot: Pilot) -> dict[str, Any]:
    """The information plan of `pilot` at launch (its assignments flushed, its start date final)."""
    plan = plan_of(pilot)
    panel = load_panel(
        session, pilot.id, plan.unit, plan.start_date, plan.start_date - timedelta(days=1), plan.pre_period_start
    )
    return freeze_panel(plan, panel)


def freeze_panel(plan: PilotPlan, panel: Panel) -> dict[str, Any]:
    """The information plan from a panel's units and pre-period (its pilot days are ignored): what launch stores,
    also for in-memory simulations that never touch the database."""
    design = plan.design
    look_days = looks.planned_look_days(design.method, design.looks, looks.total_days(plan.start_date, plan.end_date))
    panel = panel.through(-1)
    units = {arm: int((panel.units.arms == arm).sum()) for arm in plan.arm_names}
    control = plan.control.name
    metrics: dict[str, Any] = {}
    for spec in plan.metrics:
        definition = plan.definition(spec.name)
        model = looks.metric_model(panel, definition.numerator, definition.denominator, definition.sum_squares, 0)
        entry: dict[str, Any] = {"source": "first_look"}
        if model is not None:
            schedule = {}
            for arm in plan.treatments:
                info = looks.information_plan(model, look_days, units[arm.name], units[control])
                if info.planned_variance is not None:
                    schedule[arm.name] = [float(v) for v in info.planned_variance]
            if len(schedule) == len(plan.treatments):
                entry = {"source": "pre_period", "model": _model_json(model), "planned_variance": schedule}
        metrics[spec.name] = entry
    sources = {entry["source"] for entry in metrics.values()}
    return {
        "format": FORMAT,
        "source": sources.pop() if len(sources) == 1 else "mixed",
        "look_days": list(look_days),
        "units": units,
        "metrics": metrics,
    }


@dataclass(frozen=True)
class FrozenPlan:
    """A pilot's frozen information plan, read back (see module docstring)."""

    look_days: tuple[int, ...]
    units: dict[str, int]
    metrics: dict[str, dict[str, Any]]

    def source(self, metric: str) -> str:
        return self.metrics.get(metric, {}).get("source", "first_look")

    def fits_from_pilot(self, metric: str) -> bool:
        """Whether the metric's model is fitted from the pilot data through the first look."""
        return self.source(metric) != "pre_period"

    def information(
        self, panel: Panel, definition, metric: str, arm: str, control: str, plan_day: int
    ) -> looks.InformationPlan:
        """The comparison's information plan: the stored schedule, or the first-look fit with the launch units."""
        n_t, n_c = self.units.get(arm, 0), self.units.get(control, 0)
        entry = self.metrics.get(metric, {})
        if entry.get("source") == "pre_period" and arm in entry.get("planned_variance", {}):
            model = _model_from_json(entry["model"])
            planned = np.asarray(entry["planned_variance"][arm], dtype=float)
            return looks.InformationPlan(
                self.look_days,
                planned,
                "pre_period",
                "Information fractions follow the plan frozen at launch: a variance model fitted to the pre-period "
                f"audits stored by then ({model.units} units, ICC {model.components.icc:.2f}).",
                model,
                (n_t, n_c),
                frozen=True,
            )
        model = looks.metric_model(
            panel, definition.numerator, definition.denominator, definition.sum_squares, plan_day, pre_period=False
        )
        return replace(looks.information_plan(model, self.look_days, n_t, n_c), frozen=True)


def read(pilot: Pilot) -> FrozenPlan | None:
    """The frozen plan of a pilot launched with one (None for drafts and pilots launched before it existed)."""
    return from_json(pilot.information_plan)


def from_json(stored: dict[str, Any] | None) -> FrozenPlan | None:
    """A stored information plan read back (None when there is none, or in a format this code does not know)."""
    if not stored or stored.get("format") != FORMAT:
        return None
    return FrozenPlan(tuple(stored["look_days"]), dict(stored["units"]), dict(stored["metrics"]))


def _model_json(model: VarianceModel) -> dict[str, Any]:
    return {
        "between": model.components.between,
        "within": model.components.within,
        "baseline": model.baseline,
        "audits_per_unit_per_day": model.audits_per_unit_per_day,
        "audit_rate_cv": model.audit_rate_cv,
        "pre_audits_per_unit": model.pre_audits_per_unit,
        "units": model.units,
    }


def _model_from_json(data: dict[str, Any]) -> VarianceModel:
    return VarianceModel(
        components=VarianceComponents(between=data["between"], within=data["within"]),
        baseline=data["baseline"],
        audits_per_unit_per_day=data["audits_per_unit_per_day"],
        audit_rate_cv=data["audit_rate_cv"],
        pre_audits_per_unit=data["pre_audits_per_unit"],
        units=data["units"],
        source="pre_period",
    )
