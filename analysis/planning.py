"""Planning a pilot: the minimum detectable effect and power week by week, for a fixed roster.

The cohort is fixed at launch, so weeks add audits, not moderators. Under the two-level model
(`analysis.variance_components`) a unit's observed rate after ``m`` audits has variance ``sigma_b^2 + sigma_w^2 / m``:
the within part shrinks with more weeks, the between part does not, so the MDE falls towards a ceiling set by the
number of moderators. The planner shows where that happens ("more data stops helping") and includes the price of
looking every week (the sequential design's inflation factor). The planned variance curve also gives the planned
information fractions the sequential engine uses (METHODS.md section 4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import optimize, stats

from analysis._planning_design import (
    DesignAtHorizon,
    SequentialDesign,
    always_valid_z,
    at_horizon,
    merge_close_looks,
)
from analysis._planning_inputs import arms_iv, components_iv, unit_scale
from analysis._planning_text import summary_sentence
from analysis._roots import RootHint
from analysis.planning_variance import (
    alternative_variance_ratio,
    difference_variance,
    fixed_t_power,
    mde_under_alternative,
)
from analysis.variance_components import VarianceComponents

MAX_WEEKS = 52
"""Longest horizon a plan tabulates, and so the longest pilot the engine plans and analyses: daily looks over 52 weeks
(364) is the largest design the boundary computation is verified on (`analysis._planning_design`), and the work of a
plan or a results document grows with the horizon, so a longer one would tie up a worker."""

MIN_SEQUENTIAL_ALPHA = 1e-9
"""Smallest per-comparison level a sequential design is planned at: below it the boundary search cannot resolve the
alpha spent at a look (`analysis._recursive_integration.solve_upper` treats targets under 1e-15 as no boundary)."""

__all__ = [
    "MAX_WEEKS",
    "PlanResult",
    "PlanWeek",
    "SequentialDesign",
    "alternative_variance_ratio",
    "always_valid_z",
    "difference_variance",
    "plan_pilot",
]


@dataclass(frozen=True)
class PlanWeek:
    """One row of the plan: what the pilot can detect if it ends after ``week`` weeks.

    ``inflation_factor`` is the sequential design's sample-size inflation for the looks up to this week
    (1 for a fixed design); ``mde`` is on the metric's scale (0.015 = 1.5 points of accuracy), ``mde_relative``
    is ``mde / baseline``; ``power`` is the power at the target effect (``None`` without one).
    """

    week: int
    audits_per_unit: float
    variance_difference: float
    information: float
    inflation_factor: float
    mde: float
    mde_relative: float
    power: float | None


@dataclass(frozen=True)
class PlanResult:
    """The plan: per-week table, where more data stops helping, and a sentence for the PM.

    ``looks_variance`` is the planned variance of the difference at every look; ``looks_unit_variance`` the same
    divided by the larger variance component (what the information fractions are computed from).
    """

    weeks: tuple[PlanWeek, ...]
    units_per_arm: tuple[int, ...]
    audits_per_unit_per_week: float
    baseline: float
    components: VarianceComponents
    alpha: float
    alpha_per_comparison: float
    power: float
    design: SequentialDesign
    target_effect: float | None
    saturation_week: int | None
    detectable_week: int | None
    summary: str
    looks_variance: tuple[float, ...] = field(repr=False, default=())
    looks_unit_variance: tuple[float, ...] = field(repr=False, default=())

    def week(self, week: int) -> PlanWeek:
        """The row for a given week (1-based)."""
        return self.weeks[week - 1]

    def information_fractions(self, horizon_week: int | None = None) -> tuple[float, ...]:
        """Planned ``I_j / I_max`` at every look up to ``horizon_week`` (default: the last planned week)."""
        horizon = len(self.weeks) if horizon_week is None else horizon_week
        looks = horizon * self.design.looks_per_week
        variances = self.looks_unit_variance or self.looks_variance
        return tuple(_fractions(np.asarray(variances[:looks])).tolist())


def _fractions(variances: np.ndarray) -> np.ndarray:
    info = 1.0 / variances
    return info / info[-1]


def _weeks_by_looks(unit_variances: np.ndarray, per_look: int, weeks: int) -> dict[tuple[float, ...], list[int]]:
    """The horizons (weeks) of a plan by the looks they merge to (`merge_close_looks`)."""
    by_looks: dict[tuple[float, ...], list[int]] = {}
    for week in range(1, weeks + 1):
        looks = merge_close_looks(_fractions(unit_variances[: week * per_look]))
        by_looks.setdefault(tuple(looks.tolist()), []).append(week)
    return by_looks


def plan_pilot(
    *,
    audits_per_unit_per_week: float,
    baseline: float,
    units_per_arm: Sequence[int] | None = None,
    total_units: int | None = None,
    weights: Sequence[float] | None = None,
    variance: VarianceComponents | None = None,
    icc: float | None = None,
    weeks: int = 8,
    alpha: float = 0.05,
    power: float = 0.8,
    design: SequentialDesign | None = None,
    target_effect: float | None = None,
    audit_rate_cv: float = 0.0,
    pre_period_audits_per_unit: float = 0.0,
    count_noise: bool = True,
    use_t: bool = False,
    metric: str = "accuracy",
    percent_points: bool = True,
    saturation_threshold: float = 0.05,
    proportion_alternative: Literal["up", "down"] | None = None,
) -> PlanResult:
    """MDE and power by week for a planned roster, with the sequential design's inflation.

    Parameters
    ----------
    audits_per_unit_per_week : float
        Expected audits per moderator per week.
    baseline : float
        Control rate or mean (0.93 for accuracy); with ``icc`` alone it must be a proportion.
    units_per_arm : sequence of int, optional
        Units per arm, control first. Alternatively ``total_units`` and ``weights`` (default equal).
    variance : VarianceComponents, optional
        Between- and within-unit variances (e.g. from `estimate_variance_components` on pre-period data).
    icc : float, optional
        For a proportion without variance components: ``sigma_b^2 = icc p (1 - p)``.
    weeks : int
        Longest horizon to tabulate, 1 to ``MAX_WEEKS``; row k describes a pilot that ends after k weeks.
    alpha, power : float
        Two-sided level and target power. With more than two arms each treatment is compared with control at
        ``alpha / (arms - 1)`` (Bonferroni) and the smallest treatment arm sets the MDE.
    design : SequentialDesign, optional
        ``fixed`` (default), ``group_sequential`` (Lan-DeMets spending at the planned information fractions of
        ``looks_per_week`` looks a week) or ``always_valid`` (the calibrated normal-mixture test of
        `analysis.always_valid`, tuned to each horizon's planned variance).
    target_effect : float, optional
        Effect of interest on the metric's scale (0.015 = +1.5 points); adds power by week.
    audit_rate_cv, pre_period_audits_per_unit, count_noise : float, float, bool
        See `difference_variance`.
    use_t : bool
        Fixed design only: noncentral t with ``K_t + K_c - 2`` degrees of freedom instead of the normal.
    metric, percent_points : str, bool
        For the summary sentence: metric name, and whether to show effects as percentage points.
    saturation_threshold : float
        "More data stops helping" after the first week whose next week improves the MDE by less than this.
    proportion_alternative : {"up", "down"}, optional
        For a proportion metric whose improvement moves it ``up`` (accuracy) or ``down`` (error rates): the
        treatment arm's variance is planned at the alternative ``p1 = baseline +- effect`` instead of the baseline,
        both variance components scaled by ``p1 (1 - p1) / (p0 (1 - p0))`` (see `alternative_variance_ratio`).
        The MDE then solves ``d = z sqrt(F V(d))`` and the power at ``target_effect`` uses ``V(target)``. With
        ``None`` (default; any metric that is not a proportion) both arms keep the baseline variance.

    Returns
    -------
    PlanResult

    References
    ----------
    .. [1] Donner, A., Klar, N. (2000). Design and Analysis of Cluster Randomization Trials in Health Research.
       Arnold (design effect ``1 + (m - 1) ICC``).
    .. [2] Jennison, C., Turnbull, B. W. (2000). Group Sequential Methods with Applications to Clinical Trials,
       section 2.3 and ch. 7 (inflation factor).
    .. [3] Johari, R., Koomen, P., Pekelis, L., Walsh, D. (2022). Always Valid Inference: Continuous Monitoring of
       A/B Tests. Operations Research 70(3).
    """
    design = design or SequentialDesign()
    arms = arms_iv(units_per_arm, total_units, weights)
    if not math.isfinite(baseline):
        raise ValueError(f"baseline must be finite, got {baseline}")
    components = components_iv(variance, icc, baseline)
    if not (math.isfinite(audits_per_unit_per_week) and audits_per_unit_per_week > 0):
        raise ValueError(f"audits_per_unit_per_week must be > 0, got {audits_per_unit_per_week}")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}, got {weeks}")
    for name, value in (("alpha", alpha), ("power", power), ("saturation_threshold", saturation_threshold)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {value}")
    if target_effect is not None and not math.isfinite(target_effect):
        raise ValueError(f"target_effect must be finite, got {target_effect}")
    if use_t and design.method != "fixed":
        raise ValueError("use_t applies to the fixed design only")
    alpha_c = alpha / (len(arms) - 1)
    if power <= alpha_c / 2:
        raise ValueError(f"power must exceed alpha / 2 per comparison ({alpha_c / 2:.3g}), got {power}")
    if design.method != "fixed" and alpha_c < MIN_SEQUENTIAL_ALPHA:
        raise ValueError(
            f"alpha per comparison must be at least {MIN_SEQUENTIAL_ALPHA:g} for a sequential design, got {alpha_c:.3g}"
        )
    k_control, k_treatment = arms[0], min(arms[1:])
    unit_components, scale = unit_scale(components)
    if proportion_alternative is not None and not 0.0 < baseline < 1.0:
        raise ValueError(f"baseline must be a proportion in (0, 1) to plan a proportion's alternative, got {baseline}")

    def ratio_at(effect: float) -> float:
        if proportion_alternative is None:
            return 1.0
        return alternative_variance_ratio(baseline, effect, proportion_alternative, k_treatment, k_control)

    # The largest ratio: the treatment arm's proportion at 0.5 (or the baseline itself when that is nearer 0.5).
    max_ratio = (
        1.0
        if proportion_alternative is None
        else ratio_at(abs(0.5 - baseline))
        if ((baseline < 0.5) == (proportion_alternative == "up"))
        else 1.0
    )

    def variance_at(week_count: float) -> float:
        audits = audits_per_unit_per_week * week_count
        if not audits > 0:  # underflow of a vanishing rate
            raise ValueError(f"audits_per_unit_per_week is too small to plan with, got {audits_per_unit_per_week}")
        return difference_variance(
            unit_components,
            audits,
            k_treatment,
            k_control,
            audit_rate_cv=audit_rate_cv,
            pre_period_audits_per_unit=pre_period_audits_per_unit,
            count_noise=count_noise,
        )

    per_look = design.looks_per_week
    # On the unit scale (see `unit_scale`); only `1 / m` can overflow, for a vanishing audit rate.
    unit_variances = np.array([variance_at(j / per_look) for j in range(1, weeks * per_look + 1)])
    if not (np.all(np.isfinite(unit_variances)) and np.all(unit_variances > 0)):
        raise ValueError(f"audits_per_unit_per_week is too small to plan with, got {audits_per_unit_per_week}")
    looks_variance = tuple(v * scale for v in unit_variances.tolist())  # inf, not a warning, if it overflows
    sd_scale = math.sqrt(scale)
    # Python floats from here: a ratio that overflows is inf (reported as null), not a numpy warning.
    z_sum = float(stats.norm.isf(alpha_c / 2) + stats.norm.ppf(power))
    rows = []
    hint = None  # the previous horizon's drift and slope: seeds this one's root (`analysis._roots`)
    evaluated = None
    # Horizons whose looks merge to the same schedule (`at_horizon`) share their design and their drift; their powers
    # at the target effect are computed with the first of them, while that schedule's transition kernels are cached.
    designs: dict[tuple, DesignAtHorizon] = {}
    solved: dict[tuple, tuple[float, RootHint | None]] = {}
    powers: dict[tuple[tuple, float], float] = {}
    same_looks = _weeks_by_looks(unit_variances, per_look, weeks) if design.method != "fixed" else {}

    def target_drift(week: int) -> float:
        sd = math.sqrt(float(unit_variances[week * per_look - 1])) * sd_scale
        return abs(target_effect) / (sd * math.sqrt(ratio_at(abs(target_effect))))

    for week in range(1, weeks + 1):
        unit_var = float(unit_variances[week * per_look - 1])
        var = looks_variance[week * per_look - 1]
        fractions = _fractions(unit_variances[: week * per_look])
        evaluated = at_horizon(design, alpha_c, fractions, unit_var, previous=evaluated, known=designs)
        key = evaluated.key()
        if key not in solved:
            solved[key] = evaluated.seeded_inflation(power, hint)
        factor, hint = solved[key]
        sd = math.sqrt(unit_var) * sd_scale
        if use_t:
            df = k_treatment + k_control - 2
            mde = optimize.brentq(
                lambda d, s=sd, f=df: fixed_t_power(d, s * math.sqrt(ratio_at(d)), f, alpha_c) - power,
                1e-12 * sd,
                20 * sd * z_sum * math.sqrt(max_ratio),
                xtol=1e-14,
            )
        else:
            mde = mde_under_alternative(z_sum * math.sqrt(factor * unit_var) * sd_scale, ratio_at, max_ratio)
        target_power = None
        if target_effect is not None:
            sd_alt = sd * math.sqrt(ratio_at(abs(target_effect)))
            if use_t:
                df = k_treatment + k_control - 2
                target_power = fixed_t_power(target_effect, sd_alt, df, alpha_c)
            else:
                if (key, target_drift(week)) not in powers:
                    for later in same_looks.get(tuple(evaluated.fractions.tolist()), [week]):
                        if later >= week:
                            powers[key, target_drift(later)] = evaluated.power(target_drift(later))
                target_power = powers.get((key, target_drift(week)))
                if target_power is None:  # a later week with the same looks but another design
                    target_power = evaluated.power(target_drift(week))
        rows.append(
            PlanWeek(
                week=week,
                audits_per_unit=audits_per_unit_per_week * week,
                variance_difference=var,
                information=1.0 / var if var > 0 else math.inf,
                inflation_factor=factor,
                mde=float(mde),
                mde_relative=float(mde) / baseline if baseline != 0 else math.nan,
                power=target_power,
            )
        )
    mdes = np.array([row.mde for row in rows])
    saturation = next(
        (k + 1 for k in range(len(mdes) - 1) if mdes[k + 1] > (1 - saturation_threshold) * mdes[k]),
        None,
    )
    detectable = None
    if target_effect is not None:
        detectable = next((r.week for r in rows if r.mde <= abs(target_effect)), None)
    summary = summary_sentence(
        units=sum(arms),
        audits_per_week=audits_per_unit_per_week,
        rows=rows,
        target_effect=target_effect,
        detectable_week=detectable,
        saturation_week=saturation,
        metric=metric,
        percent_points=percent_points,
        threshold=saturation_threshold,
    )
    return PlanResult(
        weeks=tuple(rows),
        units_per_arm=arms,
        audits_per_unit_per_week=audits_per_unit_per_week,
        baseline=baseline,
        components=components,
        alpha=alpha,
        alpha_per_comparison=alpha_c,
        power=power,
        design=design,
        target_effect=target_effect,
        saturation_week=saturation,
        detectable_week=detectable,
        summary=summary,
        looks_variance=looks_variance,
        looks_unit_variance=tuple(unit_variances.tolist()),
    )
