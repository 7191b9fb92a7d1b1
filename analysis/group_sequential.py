"""Group-sequential boundaries by Lan-DeMets alpha spending, for the information actually observed.

Two-sided designs are symmetric and spend ``alpha / 2`` on each side (the rpact / gsDesign /
ldbounds convention): crossing the upper boundary is evidence of benefit, the lower boundary of
harm. Boundaries are computed by recursive numerical integration for the observed information
fractions, so looks can be unequally spaced or skipped; the look that reaches ``t >= 1`` (or is
declared final) spends all remaining alpha. Optional futility bounds come from beta spending
against the design alternative and are non-binding: efficacy boundaries ignore them, so
stopping or not stopping for futility never inflates the false-go rate.

Monitoring a running pilot (crossings, repeated confidence intervals, stagewise p-values and the
small-sample t correction) lives in :mod:`analysis.gs_monitor`.

References
----------
.. [1] Lan, K. K. G. and DeMets, D. L. (1983). Discrete sequential boundaries for clinical
       trials. Biometrika 70(3), 659-663.
.. [2] Jennison, C. and Turnbull, B. W. (2000). Group Sequential Methods with Applications to
       Clinical Trials, ch. 7 and 19. Chapman & Hall/CRC.
.. [3] Pampallona, S., Tsiatis, A. A. and Kim, K. (2001). Interim monitoring of group
       sequential trials using spending functions for the type I and type II error
       probabilities. Drug Information Journal 35, 1113-1121.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy import optimize, stats

from analysis import spending as _spending
from analysis._recursive_integration import Propagator, solve_lower, solve_upper

Sides = Literal[1, 2]


@dataclass(frozen=True)
class FutilityDesign:
    """Non-binding futility by beta spending against the design alternative.

    Attributes
    ----------
    beta : float
        Type II error to spend (1 - design power).
    spending : {"obf", "pocock"} or callable
        Beta-spending function family.
    theta : float or None
        Expected z statistic at information fraction 1 under the design alternative (the
        "drift"). ``None`` derives it from ``alpha``, ``beta`` and the inflation factor of the
        design, i.e. the alternative the pilot was sized for.
    """

    beta: float = 0.2
    spending: _spending.SpendingName | _spending.SpendingFunction = "obf"
    theta: float | None = None


@dataclass(frozen=True)
class Boundaries:
    """Efficacy (and optional futility) boundaries on the z scale, one entry per look.

    Attributes
    ----------
    information_fractions : tuple of float
        ``I_k / I_max`` at each look.
    alpha : float
        Overall (two-sided if ``sides == 2``) significance level.
    sides : int
        1 (upper boundary only) or 2 (symmetric upper and lower).
    alpha_spent : tuple of float
        Cumulative alpha spent by each look (both sides together).
    upper, lower : tuple of float
        Efficacy boundaries; ``lower`` is ``-upper`` for two-sided designs and ``-inf`` for
        one-sided. ``inf`` means no chance of stopping at that look.
    nominal_p : tuple of float
        Nominal p-value (two-sided for ``sides == 2``) a fixed-horizon test would need to
        cross the boundary at that look.
    futility : tuple of float or None
        Non-binding futility boundaries (stop if ``Z <= futility``); the last equals ``upper``.
    beta_spent : tuple of float or None
        Cumulative beta spent by each look.
    theta : float or None
        Design drift used for the futility boundaries.
    """

    information_fractions: tuple[float, ...]
    alpha: float
    sides: int
    alpha_spent: tuple[float, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    nominal_p: tuple[float, ...]
    futility: tuple[float, ...] | None = None
    beta_spent: tuple[float, ...] | None = None
    theta: float | None = None

    @property
    def n_looks(self) -> int:
        return len(self.information_fractions)


def _fractions_iv(fractions: object) -> np.ndarray:
    t = np.atleast_1d(np.asarray(fractions, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise ValueError("information_fractions must be a non-empty 1-d sequence")
    if not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"information_fractions must be positive and increasing, got {t.tolist()}")
    return t


def _alpha_iv(alpha: float, name: str = "alpha") -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"{name} must be in (0, 1), got {alpha}")


def cumulative_spend(
    fractions: np.ndarray,
    total: float,
    spending: _spending.SpendingName | _spending.SpendingFunction,
    final: bool,
) -> np.ndarray:
    """Cumulative error spent at each look; the final look (or ``t >= 1``) spends ``total``."""
    spent = np.minimum(np.asarray(_spending.resolve(spending)(fractions, total), dtype=float), total)
    spent = np.maximum.accumulate(spent)
    if final:
        spent[-1] = total
    spent[fractions >= 1.0] = total
    return spent


def _efficacy(t: np.ndarray, per_side: np.ndarray, sides: Sides) -> np.ndarray:
    prop = Propagator(0.0)
    upper = np.empty_like(t)
    previous = 0.0
    for k, tk in enumerate(t):
        target = per_side[k] - previous
        previous = per_side[k]
        upper[k] = solve_upper(prop, tk, target, None if sides == 2 else -np.inf)
        if k < t.size - 1:
            prop.advance(tk, upper[k], -upper[k] if sides == 2 else -np.inf)
    return upper


def _futility(t: np.ndarray, upper: np.ndarray, lower: np.ndarray, design: FutilityDesign, theta: float):
    beta_spent = cumulative_spend(t, design.beta, design.spending, final=bool(t[-1] >= 1.0))
    prop = Propagator(theta)
    bounds = np.empty_like(t)
    previous = 0.0
    for k, tk in enumerate(t):
        bounds[k] = min(solve_lower(prop, tk, beta_spent[k] - previous, upper[k]), upper[k])
        previous = beta_spent[k]
        if k < t.size - 1:
            prop.advance(tk, upper[k], max(bounds[k], lower[k]))
    if t[-1] >= 1.0:
        bounds[-1] = upper[-1]
    return bounds, beta_spent


def boundaries(
    information_fractions: object,
    alpha: float = 0.05,
    spending: _spending.SpendingName | _spending.SpendingFunction = "obf",
    *,
    final: bool = False,
    sides: Sides = 2,
    futility: FutilityDesign | None = None,
) -> Boundaries:
    """Lan-DeMets efficacy boundaries for the given (observed or planned) information fractions.

    Parameters
    ----------
    information_fractions : sequence of float
        Strictly increasing ``I_k / I_max``; may be unequally spaced and may exceed 1.
    alpha : float
        Overall level; for ``sides == 2`` half is spent on each side.
    spending : {"obf", "pocock"} or callable ``f(t, total)``
        Alpha-spending function (per side).
    final : bool
        Treat the last look as the final analysis and spend all remaining alpha there even if
        its information fraction is below 1.
    sides : {1, 2}
        One-sided (upper only) or symmetric two-sided.
    futility : FutilityDesign or None
        Add non-binding beta-spending futility bounds.

    Returns
    -------
    Boundaries

    References
    ----------
    .. [1] Lan, K. K. G. and DeMets, D. L. (1983). Biometrika 70(3), 659-663.
    .. [2] Jennison, C. and Turnbull, B. W. (2000), ch. 7 and 19.
    """
    t = _fractions_iv(information_fractions)
    _alpha_iv(alpha)
    if sides not in (1, 2):
        raise ValueError(f"sides must be 1 or 2, got {sides}")
    per_side = cumulative_spend(t, alpha / sides, spending, final)
    upper = _efficacy(t, per_side, sides)
    lower = -upper if sides == 2 else np.full_like(upper, -np.inf)
    nominal = np.minimum(1.0, sides * stats.norm.sf(upper))
    fut = beta = theta = None
    if futility is not None:
        _alpha_iv(futility.beta, "futility.beta")
        theta = futility.theta
        if theta is None:
            theta = design_drift(alpha, 1.0 - futility.beta, t, spending, sides=sides)
        fut_arr, beta_arr = _futility(t, upper, lower, futility, theta)
        fut, beta = tuple(fut_arr.tolist()), tuple(beta_arr.tolist())
    return Boundaries(
        information_fractions=tuple(t.tolist()),
        alpha=alpha,
        sides=sides,
        alpha_spent=tuple((per_side * sides).tolist()),
        upper=tuple(upper.tolist()),
        lower=tuple(lower.tolist()),
        nominal_p=tuple(nominal.tolist()),
        futility=fut,
        beta_spent=beta,
        theta=theta,
    )


def rejection_probability(bounds: Boundaries, theta: float) -> tuple[float, float]:
    """Probability of ever crossing the upper and the lower efficacy boundary under drift ``theta``.

    ``theta`` is the expected z statistic at information fraction 1. Futility bounds are
    ignored (non-binding), which is the conservative reading for the false-go rate.
    """
    prop = Propagator(theta)
    up_total = low_total = 0.0
    t = bounds.information_fractions
    for k, tk in enumerate(t):
        up, low = (prop.step if k < len(t) - 1 else prop.cross)(tk, bounds.upper[k], bounds.lower[k])
        up_total += up
        low_total += low
    return up_total, low_total


def design_drift(
    alpha: float,
    power: float,
    information_fractions: object,
    spending: _spending.SpendingName | _spending.SpendingFunction = "obf",
    *,
    sides: Sides = 2,
) -> float:
    """Drift (expected z at full information) giving ``power`` to cross the upper boundary."""
    _alpha_iv(power, "power")
    t = _fractions_iv(information_fractions)
    bounds = boundaries(t, alpha, spending, final=True, sides=sides)
    fixed = stats.norm.isf(alpha / sides) + stats.norm.ppf(power)
    return float(
        optimize.brentq(lambda th: rejection_probability(bounds, th)[0] - power, 0.0, 2 * fixed + 5, xtol=1e-10)
    )


def inflation_factor(
    alpha: float,
    power: float,
    information_fractions: object,
    spending: _spending.SpendingName | _spending.SpendingFunction = "obf",
    *,
    sides: Sides = 2,
) -> float:
    """Maximum information of the sequential design relative to the fixed-horizon design.

    ``I_max = inflation_factor * I_fixed`` keeps the same power at the same alternative. The
    final look spends all remaining alpha. Power counts upper-boundary crossings only.

    Parameters
    ----------
    alpha : float
        Overall level (two-sided for ``sides == 2``).
    power : float
        Target power at the design alternative.
    information_fractions : sequence of float
        Planned look fractions; the last is treated as the final analysis.
    spending : {"obf", "pocock"} or callable
        Alpha-spending function.
    sides : {1, 2}

    Returns
    -------
    float
        e.g. about 1.03 for O'Brien-Fleming-type spending with 5 equal looks at two-sided
        alpha 0.05 and power 0.8.

    References
    ----------
    .. [1] Jennison, C. and Turnbull, B. W. (2000), sections 2.3 and 7.2.
    .. [2] Wassmer, G. and Brannath, W. (2016). Group Sequential and Confirmatory Adaptive
           Designs in Clinical Trials, section 2.5 (the rpact "inflation factor").
    """
    fixed = stats.norm.isf(alpha / sides) + stats.norm.ppf(power)
    return (design_drift(alpha, power, information_fractions, spending, sides=sides) / fixed) ** 2


def power_with_futility(bounds: Boundaries) -> float:
    """Probability of crossing the upper efficacy boundary under the design drift when the futility bounds are obeyed.

    Non-binding futility leaves the efficacy boundaries (and the false-go rate) as they were, but a pilot that stops
    at a futility bound gives up the chance of crossing later: at the drift the design was sized for, power falls
    below ``1 - beta`` by the probability of stopping for futility before an eventual efficacy crossing. A fixed
    roster cannot grow to buy it back, so planning shows this figure next to the nominal power.
    """
    if bounds.futility is None or bounds.theta is None:
        raise ValueError("bounds have no futility boundaries")
    # Obeyed futility bounds are a lower boundary: continue only while futility < Z < upper.
    lower = tuple(np.maximum(np.asarray(bounds.futility), np.asarray(bounds.lower)).tolist())
    return rejection_probability(replace(bounds, lower=lower), bounds.theta)[0]
