"""Run the pilot's sequential design on the estimates at its looks: crossing, design-valid interval, p-value, history.

Input is a `LookSeries` (the difference, its variance and Welch df at each look taken so far, from
`pilots.results.metric`) and the `InformationPlan` of `pilots.results.looks`. The same series can be re-run at another
level, which is how Holm's step-down works across several primary metrics (`pilots.results.multiplicity`).

* always_valid: `analysis.always_valid` with the mixture tuned and calibrated to the planned information schedule;
  the interval is the confidence sequence (running intersection), the p-value the always-valid one (a running
  minimum), both at every look of the history. Each new running maximum of the likelihood ratio costs one numerical
  integration over the planned schedule, memoized per process, so a recomputation pays only for new maxima.
* group_sequential: `analysis.gs_monitor.monitor` with Lan-DeMets boundaries at the information fractions chosen by
  `analysis.information.information_time`; the interval is the repeated confidence interval at the decision look
  and the p-value the stagewise-ordering one (defined once the pilot stops or reaches its final review). With the
  design's optional non-binding futility bounds (primary metrics only), the statistic is oriented so that benefit is
  positive before the bounds are applied: futility means "the improvement the pilot was sized for has become
  unlikely", whichever way the metric is better.

Both use the t-corrected boundaries with each look's Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats

from analysis.always_valid import (
    MixtureDesign,
    always_valid,
    design_mixture,
    design_or_most_liberal,
    log_likelihood_ratio,
    p_values_from_lr,
)
from analysis.group_sequential import FutilityDesign, design_drift
from analysis.gs_monitor import Look, monitor
from analysis.information import MIN_STEP, calibration_schedule, information_time, monotone
from pilots.results.looks import InformationPlan

Crossing = Literal["up", "down", "futility", "none"]
GS_P_PENDING = (
    "The stagewise p-value exists once the pilot stops at a boundary or reaches its final review; until then the "
    "repeated confidence interval is the design-valid summary."
)
GS_P_FUTILITY = (
    "The pilot stopped at a futility bound, where no efficacy p-value is reported; the repeated confidence interval "
    "at that review is the design-valid summary."
)


@dataclass(frozen=True)
class Futility:
    """Non-binding futility bounds for one primary comparison: beta to spend and which way the metric is better."""

    beta: float
    higher_is_better: bool


def mixture(final_variance: float, alpha: float, fractions: np.ndarray | None) -> tuple[MixtureDesign, float]:
    """The mixture design and the alpha it spends, memoized per process: the design is a pure function of the plan
    (fixed once the pilot's variance model is), so each worker calibrates it once.

    The calibration integrates over the planned fractions with close looks merged (`calibration_schedule`, as the
    planner does), so a year of daily looks is calibrated correctly; a schedule too short to spend `alpha` gets the
    most liberal design and spends less (`design_or_most_liberal`), never an error. Inputs are rounded (fractions to
    1e-4, the variance to 6 significant digits) before the call, so the memo key determines the design exactly."""
    key = None
    if fractions is not None:
        key = tuple(np.unique(np.round(calibration_schedule(fractions), 4)).tolist())
    return _mixture(float(f"{final_variance:.6g}"), float(alpha), key)


@lru_cache(maxsize=256)
def _mixture(final_variance: float, alpha: float, fractions: tuple[float, ...] | None) -> tuple[MixtureDesign, float]:
    if fractions is None:
        return design_mixture(final_variance, alpha, None), alpha
    return design_or_most_liberal(final_variance, alpha, np.asarray(fractions))


def sized_drift(alpha: float, power: float, fractions: np.ndarray, spending: str) -> float:
    """`design_drift` over the planned reviews, memoized per process (a pure function of the plan)."""
    return _sized_drift(float(alpha), float(power), tuple(np.round(np.asarray(fractions), 4).tolist()), spending)


@lru_cache(maxsize=256)
def _sized_drift(alpha: float, power: float, fractions: tuple[float, ...], spending: str) -> float:
    return design_drift(alpha, power, np.asarray(fractions), spending)


@dataclass(frozen=True)
class LookSeries:
    """Estimates at the looks taken so far (only looks with a usable variance)."""

    days: tuple[int, ...] = ()
    estimates: tuple[float, ...] = ()
    variances: tuple[float, ...] = ()
    dfs: tuple[float, ...] = ()

    def __len__(self) -> int:
        return len(self.days)


@dataclass(frozen=True)
class HistoryPoint:
    day: int
    difference: float
    low: float
    high: float
    p_value: float | None


@dataclass(frozen=True)
class SequentialOutcome:
    """The design's answer at the latest look. `look_day` is the decision look (the stop, or the latest);
    `first_crossing_day` the first look at which a boundary (efficacy, or futility) was crossed, if any."""

    crossing: Crossing
    difference: float
    low: float
    high: float
    se: float
    p_value: float | None
    p_value_reason: str | None
    boundary: float
    look_day: int
    information_fraction: float
    information_source: str
    information_message: str
    history: tuple[HistoryPoint, ...] = field(default=())
    futility_boundary: float | None = None
    first_crossing_day: int | None = None

    @property
    def rejected(self) -> bool:
        """Whether an efficacy boundary was crossed (either direction); a futility stop is not a rejection."""
        return self.crossing in ("up", "down")


def run(
    method: str,
    series: LookSeries,
    plan: InformationPlan,
    alpha: float,
    spending: str,
    *,
    final: bool,
    futility: Futility | None = None,
) -> SequentialOutcome | None:
    """The design applied to `series` at two-sided level `alpha` (None when no look has a usable estimate).

    `futility` adds non-binding futility bounds to a group-sequential test (ignored by always_valid)."""
    if len(series) == 0:
        return None
    if method == "always_valid":
        return _always_valid(series, plan, alpha)
    return _group_sequential(series, plan, alpha, spending, final, futility)


def _always_valid(series: LookSeries, plan: InformationPlan, alpha: float) -> SequentialOutcome:
    d, v = np.asarray(series.estimates), np.asarray(series.variances)
    fractions = plan.planned_fractions()
    source, message, fraction = "planned", plan.message, math.nan
    if plan.planned_variance is not None:
        planned_now = np.array([plan.variance_at(day) for day in series.days], dtype=float)
        info = information_time(plan.final_variance / planned_now, v, plan.final_variance, plan.tolerance)
        final_variance = plan.final_variance
        if info.source == "observed":
            final_variance *= v[-1] / planned_now[-1]
        source, message = info.source, _message(plan, info)
        design, spent = mixture(final_variance, alpha, fractions)
        fraction = final_variance / v[-1]
        if spent < alpha:
            message += (
                f" Over so few planned looks an always-valid test can spend at most {spent:.3g} of the two-sided "
                f"alpha {alpha:.3g}; it spends that much (conservative)."
            )
    else:
        # No variance model: tune the mixture to the variance extrapolated from the first look, Ville's bound.
        days_ratio = (series.days[0] + 1) / (plan.look_days[-1] + 1)
        design, _ = mixture(float(v[0] * days_ratio), alpha, None)
        source, fraction = "calendar", (series.days[-1] + 1) / (plan.look_days[-1] + 1)
    result = always_valid(d, v, design, np.asarray(series.dfs), with_p_values=False)
    crossing: Crossing = result.direction if result.first_rejection is not None else "none"
    # The always-valid p-value is a running minimum over looks of a function of the running maximum of the
    # likelihood ratio: one numerical integration per new maximum, memoized across recomputations.
    z = np.asarray(result.statistics)
    z_normal = np.sign(z) * stats.norm.isf(stats.t.sf(np.abs(z), np.asarray(series.dfs)))  # as always_valid does
    log_lr = log_likelihood_ratio(z_normal, v, design.tau2)
    p_values = p_values_from_lr(design, np.minimum(log_lr, 700.0))
    p_now = float(p_values[-1])
    history = tuple(
        HistoryPoint(day, float(est), float(lo), float(hi), float(p))
        for day, est, lo, hi, p in zip(series.days, d, result.cs_low, result.cs_high, p_values, strict=True)
    )
    return SequentialOutcome(
        crossing=crossing,
        difference=float(d[-1]),
        low=float(result.cs_low[-1]),
        high=float(result.cs_high[-1]),
        se=float(math.sqrt(v[-1])),
        p_value=p_now,
        p_value_reason=None,
        boundary=float(result.thresholds[-1]),
        look_day=series.days[-1],
        information_fraction=min(1.0, float(fraction)) if math.isfinite(fraction) else math.nan,
        information_source=source,
        information_message=message,
        history=history,
        first_crossing_day=series.days[result.first_rejection] if result.first_rejection is not None else None,
    )


def observed_fractions(
    variances: np.ndarray, planned_fractions: np.ndarray, planned_final_variance: float, final: bool
) -> np.ndarray:
    """Observed information fractions ``I_k / I_max`` with ``I_max`` re-scaled so an interim look is never the end.

    When observed information runs ahead of the plan, ``V_plan(end) / V_observed`` reaches 1 before the planned end
    and the spending function would spend all alpha at an interim review (infinite boundaries after it, a "final"
    p-value mid-pilot). ``I_max`` is therefore the larger of the planned one and the observed information
    extrapolated to the end along the planned curve, ``I_observed(latest) / t_planned(latest)``; every fraction
    before the end then stays at or below the planned fraction of the latest look (< 1). At the final analysis the
    latest look is the end: its fraction is 1.
    """
    info = 1.0 / np.asarray(variances, dtype=float)
    i_max = max(1.0 / planned_final_variance, float(info[-1] / planned_fractions[-1]))
    t = monotone(info / i_max)
    ceiling = 1.0 if final else min(float(planned_fractions[-1]), 1.0 - MIN_STEP)
    if t[-1] > ceiling:  # earlier variance estimates dipped below the latest: shrink the curve, keep its shape
        t = t * (ceiling / t[-1])
    if final:
        t[-1] = 1.0
    return t


def _group_sequential(
    series: LookSeries, plan: InformationPlan, alpha: float, spending: str, final: bool, futility: Futility | None
) -> SequentialOutcome:
    v = np.asarray(series.variances)
    if plan.planned_variance is not None:
        planned_now = np.array([plan.variance_at(day) for day in series.days], dtype=float)
        planned_fractions = plan.final_variance / planned_now
        info = information_time(planned_fractions, v, plan.final_variance, plan.tolerance)
        fractions, source, message = np.asarray(info.fractions), info.source, _message(plan, info)
        if info.source == "observed":
            fractions = observed_fractions(v, planned_fractions, plan.final_variance, final)
    else:
        fractions = monotone((np.asarray(series.days, dtype=float) + 1) / (plan.look_days[-1] + 1))
        source, message = "calendar", plan.message
    # Two-sided efficacy bounds are symmetric, so orienting benefit to be positive changes nothing but the side on
    # which the (one-sided) futility bound lies; crossings are mapped back to the difference scale below.
    sign = 1.0 if futility is None or futility.higher_is_better else -1.0
    looks = [
        Look(sign * float(e), float(math.sqrt(var)), float(t), float(df))
        for e, var, t, df in zip(series.estimates, v, fractions, series.dfs, strict=True)
    ]
    design = None
    if futility is not None:
        # The drift the design was sized for comes from the whole planned schedule of reviews; derived from the
        # reviews taken so far it would treat the latest one as the last and make interim bounds far too strict.
        theta = sized_drift(alpha, 1.0 - futility.beta, monotone(plan.planned_fractions()), spending)
        design = FutilityDesign(beta=futility.beta, spending=spending, theta=theta)
    result = monitor(looks, alpha, spending, final=final, futility=design)
    k = result.stopped_at if result.stopped_at is not None else len(looks) - 1
    crossing: Crossing = _on_difference_scale(result.status, sign)
    estimates = [float(e) for e in series.estimates]
    history = tuple(
        HistoryPoint(
            day,
            estimate,
            estimate - crit * look.se,
            estimate + crit * look.se,
            result.p_value if j == k else None,
        )
        for j, (day, estimate, look, crit) in enumerate(
            zip(series.days, estimates, looks, result.critical_values, strict=True)
        )
    )
    low, high = sorted((sign * result.rci.low, sign * result.rci.high))
    p_reason = None
    if result.p_value is None:
        p_reason = GS_P_FUTILITY if crossing == "futility" else GS_P_PENDING
    futility_boundary = None
    if result.futility_values is not None and math.isfinite(result.futility_values[k]):
        futility_boundary = sign * float(result.futility_values[k])
    return SequentialOutcome(
        crossing=crossing,
        difference=estimates[k],
        low=low,
        high=high,
        se=looks[k].se,
        p_value=result.p_value,
        p_value_reason=p_reason,
        boundary=float(result.critical_values[k]),
        look_day=series.days[k],
        information_fraction=min(1.0, float(fractions[k])),
        information_source=source,
        information_message=message,
        history=history,
        futility_boundary=futility_boundary,
        first_crossing_day=series.days[k] if crossing != "none" else None,
    )


def _message(plan: InformationPlan, info) -> str:
    if plan.frozen:
        return (
            f"{plan.message} The information schedule was frozen at launch and is used at every look (observed "
            f"information departs from it by up to {info.departure:.0%})."
        )
    return f"{plan.message} {info.message}"


def _on_difference_scale(status: str, sign: float) -> Crossing:
    """A crossing of the benefit-oriented statistic, named on the treatment-minus-control scale."""
    if status == "futility":
        return "futility"
    if status in ("up", "down"):
        return status if sign > 0 else ("down" if status == "up" else "up")
    return "none"
