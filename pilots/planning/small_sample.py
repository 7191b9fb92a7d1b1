"""The plan's promise for team pilots and pilots with few units (`analysis.small_sample` on a pilot's design).

Normal-theory planning (`analysis.planning`) assumes a known variance and a boundary crossing that stands alone. With
team randomization or fewer than `FEW_UNITS` units the results engine t-corrects every boundary with Welch degrees of
freedom and lets a crossing count only once the exact randomization test, replaying the pilot's own stratified
permuted blocks and read sequentially at the reviews, has crossed too (`pilots.results.safeguard`). This module prices
both: it simulates that procedure on the planned variance curve, with assignments drawn by the pilot's own procedure
and the very re-randomizations the engine will replay, and says what effect reaches the promised power, or that none
does and how much power the design can reach at most.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from analysis.always_valid import mixture_threshold
from analysis.group_sequential import boundaries
from analysis.planning import PlanResult, difference_variance
from analysis.small_sample import CONTROL, TREATMENT, ProcedureDesign, SmallSamplePromise, detectable_effect
from analysis.small_sample import procedure_power as simulate_power
from pilots.assignment.blocks import reassign
from pilots.planning.notes import SPENDING
from pilots.results.safeguard import FEW_UNITS, confirmation_levels, rerandomizations, review_days

PATHS = 1500
"""Simulated pilots behind a promise: Monte Carlo standard error about 0.010 at 80% power."""
NULL_DRAWS = 999
SEED = 20261207


def applies(unit: str, units: int) -> bool:
    """Whether the small-sample safeguard governs this pilot's decisions whatever its audits (team randomization or
    fewer than `FEW_UNITS` units): then the plan promises what `promise` computes."""
    return unit == "team" or units < FEW_UNITS


@dataclass(frozen=True)
class Roster:
    """The randomized units in canonical order with their strata, the arms' weights and the plan's seed."""

    ids: tuple[str, ...]
    strata: tuple[str, ...]
    weights: tuple[tuple[str, int], ...]
    seed: int
    control: str
    treatment: str

    def codes(self, labels: np.ndarray) -> np.ndarray:
        labels = np.asarray(labels)
        return np.where(labels == self.control, CONTROL, np.where(labels == self.treatment, TREATMENT, 2))

    def null(self) -> np.ndarray:
        """The re-randomizations the engine's randomization test replays (`pilots.results.safeguard`); read-only,
        computed once per roster."""
        return _null(self)

    def observed(self, paths: int) -> np.ndarray:
        """``paths`` assignments drawn by the launch procedure (stratified permuted blocks); read-only, computed
        once per roster."""
        return _observed(self, paths)


@functools.lru_cache(maxsize=16)
def _null(roster: Roster) -> np.ndarray:
    draws = rerandomizations(roster.ids, roster.strata, roster.weights, roster.seed % (2**32), NULL_DRAWS)
    codes = roster.codes(draws)
    codes.flags.writeable = False
    return codes


@functools.lru_cache(maxsize=16)
def _observed(roster: Roster, paths: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    weights = dict(roster.weights)
    codes = roster.codes(np.array([reassign(roster.ids, roster.strata, weights, rng) for _ in range(paths)]))
    codes.flags.writeable = False
    return codes


def procedure(
    method: str,
    spending: str,
    alpha: float,
    look_days: Sequence[int],
    look_variance: Sequence[float],
    sizes: tuple[int, int],
    raw_variance: Sequence[float] | None = None,
) -> ProcedureDesign:
    """The engine's procedure for one comparison: the always-valid mixture tuned and calibrated to the planned
    schedule (`pilots.results.sequential.mixture`), or Lan-DeMets boundaries at the planned fractions.
    ``raw_variance`` is the planned variance of the unadjusted difference, which the randomization test reads."""
    variance = np.asarray(look_variance, dtype=float)
    fractions = variance[-1] / variance
    days = np.asarray(look_days)
    if method == "always_valid":
        from pilots.results.sequential import mixture

        design, _ = mixture(float(variance[-1]), alpha, fractions)

        def thresholds(v: np.ndarray) -> np.ndarray:
            return mixture_threshold(v, design.tau2, design.nominal_alpha)

        reviews = np.isin(days, review_days(method, days.tolist()))
    else:
        upper = np.asarray(boundaries(np.minimum(fractions, 1.0), alpha, SPENDING[spending], final=True).upper)

        def thresholds(v: np.ndarray) -> np.ndarray:
            return np.broadcast_to(upper, v.shape)

        reviews = np.ones(days.size, dtype=bool)
    raw = None if raw_variance is None else np.maximum(np.asarray(raw_variance, dtype=float), variance)
    levels = confirmation_levels(method, spending, alpha, days, int(days[-1]) + 1)
    return ProcedureDesign(days, variance, sizes, reviews, thresholds, alpha, raw, levels)


def unadjusted_variance(info) -> np.ndarray:
    """The planned variance of the raw (unadjusted) difference at an `InformationPlan`'s looks: its variance model
    without the pre-period adjustment (the planned variance itself when there is no model)."""
    if info.model is None:
        return np.asarray(info.planned_variance, dtype=float)
    model = replace(info.model, pre_audits_per_unit=0.0)
    n_t, n_c = info.units
    raw = np.array([model.difference_variance(d + 1, n_t, n_c) for d in info.look_days], dtype=float)
    return np.maximum(np.minimum.accumulate(raw), np.asarray(info.planned_variance, dtype=float))


def promise(design: ProcedureDesign, roster: Roster, power: float, also_at: float | None = None) -> SmallSamplePromise:
    """The detectable effect at ``power`` and the largest reachable power (seeded: the same plan every time), and
    the power at ``also_at`` from the same draws (`power_at`'s number)."""
    return detectable_effect(
        design,
        power,
        roster.observed(PATHS),
        roster.null(),
        scale=math.sqrt(design.look_variance[-1]),
        seed=SEED,
        also_at=also_at,
    )


def power_at(design: ProcedureDesign, roster: Roster, effect: float) -> float:
    """The procedure's simulated power at ``effect`` (same seeds as `promise`)."""
    return simulate_power(design, effect, roster.observed(PATHS), roster.null(), seed=SEED).power


def promise_json(
    found: SmallSamplePromise,
    roster: Roster,
    *,
    unit: str,
    normal_effect: float | None,
    target_effect: float | None,
    target_power: float | None,
    percent_points: bool,
) -> dict[str, Any]:
    """The plan document's ``small_sample`` section, with a plain sentence."""
    units = len(roster.ids)
    noun = "teams" if unit == "team" else "units"
    fmt = (lambda v: f"{100 * v:.2f} points") if percent_points else (lambda v: f"{v:.3g}")
    null = roster.null()
    distinct = len({row.tobytes() for row in np.asarray(null, dtype=np.int8)})
    reason = "team randomization" if unit == "team" else f"fewer than {FEW_UNITS} units"
    if found.detectable_effect is None:
        message = (
            f"With {units} {noun} this design cannot reach {found.power:.0%} power at any effect: a crossing counts "
            "only when the exact randomization test agrees, and among the assignments the pilot's permuted blocks "
            f"can draw only {found.ceiling:.0%} leave that test able to reach alpha (otherwise the assignment and its "
            "mirror image carry too much of its probability). That is the largest achievable power, at any effect. "
            f"Randomize more {noun} (or in fewer strata) before relying on this pilot."
        )
    else:
        message = (
            f"With {units} {noun} the plan promises {found.power:.0%} power at an effect of "
            f"{fmt(found.detectable_effect)}"
            + (f" (normal theory would say {fmt(normal_effect)})" if normal_effect is not None else "")
            + ": boundaries are t-corrected with Welch degrees of freedom (at most "
            f"{units - 2}) and a crossing counts only when the exact randomization test agrees. The largest "
            f"achievable power is about {found.ceiling:.0%} (the share of assignments that let that test reach alpha)."
        )
    return {
        "applies": True,
        "reason": reason,
        "units": units,
        "welch_df_at_most": units - 2,
        "distinct_rerandomizations": distinct,
        "rerandomizations": int(np.asarray(null).shape[0]),
        "power": found.power,
        "detectable_effect": found.detectable_effect,
        "normal_theory_detectable_effect": normal_effect,
        "power_at_detectable_effect": found.at_effect.power if found.detectable_effect is not None else None,
        "largest_power": found.ceiling,
        "target_effect": target_effect,
        "power_at_target_effect": target_power,
        "simulated_pilots": found.at_effect.paths,
        "mc_se": found.at_effect.mc_se,
        "message": message,
    }


def plan_section(
    result: PlanResult,
    roster: Roster,
    *,
    unit: str,
    method: str,
    spending: str,
    look_days: Sequence[int],
    percent_points: bool,
    audit_rate_cv: float = 0.0,
    pre_audits_per_unit: float = 0.0,
) -> dict[str, Any]:
    """The ``small_sample`` section of a plan: the procedure on the plan's variance curve (its planned looks
    interpolated in ``1 / days``, where the variance is linear) at the registered ``look_days``; with pre-period
    audits (CUPED) the randomization test reads the unadjusted variance of the same model."""
    per_look = result.design.looks_per_week
    planned_days = np.array([7.0 * (j + 1) / per_look - 1.0 for j in range(len(result.looks_variance))])
    days = np.asarray(look_days, dtype=float)
    x = 1.0 / (planned_days + 1.0)
    variance = np.interp(1.0 / (days + 1.0), x[::-1], np.asarray(result.looks_variance)[::-1])
    arms = result.units_per_arm
    sizes = (arms[0], min(arms[1:]))
    if min(sizes) < 2:
        return _untestable(roster, unit, sizes, result.power)
    raw = None
    if pre_audits_per_unit > 0:
        per_day = result.audits_per_unit_per_week / 7.0
        raw = [
            difference_variance(result.components, per_day * (d + 1), sizes[1], sizes[0], audit_rate_cv=audit_rate_cv)
            for d in look_days
        ]
    design = procedure(method, spending, result.alpha_per_comparison, look_days, variance, sizes, raw)
    target = result.target_effect
    found = promise(design, roster, result.power, abs(target) if target else None)
    return promise_json(
        found,
        roster,
        unit=unit,
        normal_effect=result.weeks[-1].mde,
        target_effect=target,
        target_power=found.also_at.power if found.also_at is not None else None,
        percent_points=percent_points,
    )


def pilot_section(
    session,
    pilot,
    plan,
    result: PlanResult,
    units: int,
    weeks: int,
    *,
    percent_points: bool,
    audit_rate_cv: float = 0.0,
    pre_audits_per_unit: float = 0.0,
) -> dict[str, Any] | None:
    """`plan_section` for a registered pilot (None when the safeguard does not govern it): its own units and strata
    as launch groups them (one stratum when a strata value is still missing), arms, seed and registered looks."""
    from sqlalchemy import select

    from pilots.assignment.randomization import build_units, launch_bands
    from pilots.errors import ValidationFailed
    from pilots.models import RosterEntry
    from pilots.results.looks import planned_look_days

    if not applies(plan.unit, units) or len(plan.arms) < 2:
        return None
    entries = session.scalars(select(RosterEntry).where(RosterEntry.pilot_id == pilot.id)).all()
    try:
        grouped = build_units(entries, pilot, edges=launch_bands(entries, pilot))
        ids, strata = tuple(u.unit_id for u in grouped), tuple(u.stratum for u in grouped)
    except ValidationFailed:
        ids = tuple(sorted({e.team if plan.unit == "team" else e.moderator_id for e in entries}))
        strata = ("all",) * len(ids)
    roster = Roster(ids, strata, tuple(plan.weights.items()), plan.seed, plan.control.name, plan.treatments[0].name)
    method = plan.design.method
    look_days = planned_look_days(method, plan.design.looks, 7 * weeks)
    return plan_section(
        result,
        roster,
        unit=plan.unit,
        method=method,
        spending=plan.design.spending,
        look_days=look_days,
        percent_points=percent_points,
        audit_rate_cv=audit_rate_cv,
        pre_audits_per_unit=pre_audits_per_unit,
    )


def _untestable(roster: Roster, unit: str, sizes: tuple[int, int], power: float) -> dict[str, Any]:
    """The section of a design with a single unit in an arm: no within-arm variance, so nothing can be tested."""
    noun = "teams" if unit == "team" else "units"
    return {
        "applies": True,
        "reason": "team randomization" if unit == "team" else f"fewer than {FEW_UNITS} units",
        "units": len(roster.ids),
        "welch_df_at_most": max(len(roster.ids) - 2, 0),
        "power": power,
        "detectable_effect": None,
        "largest_power": 0.0,
        "message": (
            f"With {sizes[0]} control and {sizes[1]} treatment {noun} an arm has a single unit: its spread cannot be "
            "estimated, so no test can be run and the pilot cannot detect any effect."
        ),
    }


def parameters_section(
    result: PlanResult,
    *,
    method: str,
    spending: str,
    weights: Sequence[float] | None,
    percent_points: bool,
    audit_rate_cv: float = 0.0,
    pre_audits_per_unit: float = 0.0,
) -> dict[str, Any] | None:
    """`plan_section` for a plan from parameters (`POST /plan`) with fewer than `FEW_UNITS` units: one stratum, the
    arms' integer weights (None, no section, when a weight is not an integer) and seed 0 for the re-randomizations,
    which a registered pilot replaces by its own. Looks: daily from day 3 (always-valid), weekly, or the end."""
    arms = result.units_per_arm
    units = sum(arms)
    weights = list(weights) if weights is not None else [1.0] * len(arms)
    if not applies("moderator", units) or any(w != int(w) for w in weights) or len(weights) != len(arms):
        return None
    names = [f"arm-{k}" for k in range(len(arms))]
    treatment = names[1 + int(np.argmin(arms[1:]))]
    ids = tuple(f"unit-{k:03d}" for k in range(units))
    roster = Roster(ids, ("all",) * units, tuple(zip(names, map(int, weights), strict=True)), 0, names[0], treatment)
    days = 7 * len(result.weeks)
    look_days: tuple[int, ...] = (days - 1,)
    if method == "always_valid":
        look_days = tuple(range(2, days))
    elif method == "group_sequential":
        look_days = tuple(7 * (k + 1) - 1 for k in range(len(result.weeks)))
    return plan_section(
        result,
        roster,
        unit="moderator",
        method=method,
        spending=spending,
        look_days=look_days,
        percent_points=percent_points,
        audit_rate_cv=audit_rate_cv,
        pre_audits_per_unit=pre_audits_per_unit,
    )


__all__ = [
    "FEW_UNITS",
    "Roster",
    "applies",
    "pilot_section",
    "plan_section",
    "power_at",
    "procedure",
    "promise",
    "promise_json",
]
