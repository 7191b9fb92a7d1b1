"""When the pilot is analysed (its looks) and how much information each look carries (information time).

Looks. `always_valid` pilots are monitored daily from the third day of treatment (earlier days carry almost no
information and every page view would otherwise be a look on noise). `group_sequential` pilots have `design.looks`
planned reviews equally spaced in calendar time between `start_date` and `end_date`; the last is on `end_date`.
Look k (1-based) of n falls on day ``ceil(k * D / n)`` of a pilot of D days. Decisions use planned looks only;
between reviews the document shows the last review's status, so opening the page never adds a look.

Information time (METHODS.md section 4). The information curve is planned from the two-level variance model
(`pilots.planning.service.VarianceModel`), fitted to the pre-period rollups when the pilot has a pre-period with audits,
else to the pilot data through the first look (the first planned review, or the end of the first week for daily
monitoring; the between-moderator variance measured within arms, so a real effect does not inflate it), which is the
same for every later look, so the plan does not move once fixed. The planned information fraction of a look is
``V_plan(end) / V_plan(look)``. The rule: planned fractions are used while the observed ones ``V_plan(end) /
V_observed(look)`` stay within 25% of them at every look taken (`analysis.information`); beyond that the plan is judged
wrong and the observed fractions are used (group sequential), or the mixture is re-tuned to the planned final variance
rescaled by the observed/planned ratio at the latest look (always valid). Without any usable variance model the
fractions are calendar time (days elapsed / planned days).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from pilots.catalog import MetricDefinition
from pilots.planning.service import VarianceModel, variance_model
from pilots.results.loader import Panel

FIRST_DAILY_LOOK = 3
FIRST_WEEK = 7
TOLERANCE = 0.25

PlanSource = Literal["pre_period", "first_look", "calendar"]


def total_days(start: date, end: date) -> int:
    """Planned calendar days of treatment, start and end inclusive."""
    return (end - start).days + 1


def planned_look_days(method: str, looks: int, days: int) -> tuple[int, ...]:
    """0-based day indexes of the planned looks over the whole pilot (see module docstring)."""
    if method == "always_valid":
        return tuple(range(min(FIRST_DAILY_LOOK, days) - 1, days))
    return tuple(sorted({max(0, math.ceil(k * days / looks) - 1) for k in range(1, looks + 1)}))


def look_dates(start: date, look_days: tuple[int, ...]) -> list[date]:
    return [start + timedelta(days=d) for d in look_days]


def first_look_day(method: str, look_days: tuple[int, ...]) -> int:
    """The day whose cumulative data fix the plan when there is no pre-period."""
    return FIRST_WEEK - 1 if method == "always_valid" else look_days[0]


@dataclass(frozen=True)
class InformationPlan:
    """The planned variance of the difference at every planned look (None: calendar time), and its source."""

    look_days: tuple[int, ...]
    planned_variance: np.ndarray | None
    source: PlanSource
    message: str
    model: VarianceModel | None = None
    units: tuple[int, int] = (0, 0)
    frozen: bool = False

    @property
    def tolerance(self) -> float:
        """Departure of observed from planned fractions beyond which observed ones are used: never for a plan frozen
        at launch (`pilots.results.frozen`: the plan stays the plan), `TOLERANCE` for older pilots."""
        return math.inf if self.frozen else TOLERANCE

    @property
    def final_variance(self) -> float | None:
        return None if self.planned_variance is None else float(self.planned_variance[-1])

    def planned_fractions(self) -> np.ndarray:
        """Planned information fractions of every planned look (calendar time without a variance plan)."""
        if self.planned_variance is None:
            return (np.asarray(self.look_days, dtype=float) + 1.0) / (self.look_days[-1] + 1.0)
        return self.planned_variance[-1] / self.planned_variance

    def variance_at(self, day: int) -> float:
        """Planned variance after day `day` (0-based), also between planned looks (nan without a plan)."""
        if self.planned_variance is not None and day in self.look_days:
            return float(self.planned_variance[self.look_days.index(day)])
        if self.planned_variance is None or self.model is None:
            return math.nan
        return max(self.final_variance, self.model.difference_variance(day + 1, *self.units))


def metric_model(
    panel: Panel, numerator: str, denominator: str, squares: str | None, plan_day: int, *, pre_period: bool = True
):
    """The variance model of one metric: pre-period first (unless `pre_period` is False: a plan frozen at launch
    without one), else the pilot data through `plan_day`."""
    if pre_period and panel.has_pre_period:
        pre_x = panel.pre_column(denominator)
        model = variance_model(
            panel.pre_column(numerator),
            pre_x,
            panel.pre_column(squares) if squares else None,
            panel.pre_days,
            "pre_period",
            pre_audits_per_unit=float(pre_x.mean()) if pre_x.size else 0.0,
        )
        if model is not None:
            return model
    if panel.days == 0:
        return None
    through = min(plan_day, panel.days - 1)
    return variance_model(
        panel.cumulative(numerator, through),
        panel.cumulative(denominator, through),
        panel.cumulative(squares, through) if squares else None,
        through + 1,
        "first_look",
        arms=panel.units.arms.astype(str),
    )


def pilot_columns(
    pre_only: Panel,
    definitions: Iterable[MetricDefinition],
    from_pilot: Callable[[MetricDefinition], bool] | None = None,
) -> set[str]:
    """The rollup columns the results read from the pilot period, given the panel of the pre-period alone: `audits`
    (checks, data_through), each metric's numerator and denominator, and its sums of squares only when its variance
    model is fitted to the pilot data through the first look: `from_pilot(definition)` says so for a plan frozen at
    launch; otherwise when the pre-period cannot fit the model."""
    out = {"audits"}
    for definition in definitions:
        out |= {definition.numerator, definition.denominator}
        squares = definition.sum_squares
        if not squares:
            continue
        if from_pilot is not None:
            needed = from_pilot(definition)
        else:
            needed = metric_model(pre_only, definition.numerator, definition.denominator, squares, 0) is None
        if needed:
            out.add(squares)
    return out


def information_plan(
    model: VarianceModel | None, look_days: tuple[int, ...], units_treatment: int, units_control: int
) -> InformationPlan:
    """Planned Var(difference) at each planned look, or calendar time when the model cannot give one."""
    if model is not None:
        planned = np.array([model.difference_variance(d + 1, units_treatment, units_control) for d in look_days])
        if np.all(np.isfinite(planned)) and np.all(planned > 0):
            planned = np.minimum.accumulate(planned)  # information never falls as audits accumulate
            where = "pre-period audits" if model.source == "pre_period" else "the data at the first look"
            return InformationPlan(
                look_days,
                planned,
                model.source,
                f"Information fractions are planned from a variance model fitted to {where} "
                f"({model.units} units, ICC {model.components.icc:.2f}).",
                model,
                (units_treatment, units_control),
            )
    return InformationPlan(
        look_days,
        None,
        "calendar",
        "There is not enough data for a variance model yet, so information is measured in calendar time.",
    )
