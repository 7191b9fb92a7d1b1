"""How a sequential design changes what a planned pilot can detect.

Three designs, matching the monitoring options of METHODS.md section 4:

* ``fixed``: one analysis at the horizon.
* ``group_sequential``: Lan-DeMets spending at the planned information fractions; the inflation factor and power
  come from `analysis.group_sequential` (recursive integration).
* ``always_valid``: the normal-mixture SPRT exactly as `analysis.always_valid` runs it: ``tau^2`` tuned to the
  planned final variance and the nominal level calibrated over the planned looks, so the per-look z thresholds are
  ``c(V_j)``. Power and the drift needed for the target power come from the same recursive integration, and the
  inflation factor is ``(drift / (z_{1-alpha/2} + z_{power}))^2``.

Looks whose information fraction is within `MIN_LOOK_STEP` of the next look are merged into it (`merge_close_looks`).
A fixed roster's information saturates, so daily looks late in a long pilot add almost no information: their
z statistics are almost perfectly correlated, and the recursive integration, whose grid is built for steps of at
least ~1e-3 in information time, breaks down on them (with 7 looks a week over 52 weeks it overflows). Merging also
bounds the work per planned week, which grows with the square of the looks' count otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from analysis._recursive_integration import crossing_probabilities
from analysis._roots import RootHint, seeded_root
from analysis.always_valid import (
    MixtureDesign,
    calibration_hint,
    crossing_probability,
    design_mixture,
    mixture_threshold,
    tune_tau2,
)
from analysis.group_sequential import Boundaries, boundaries, rejection_probability

Method = Literal["fixed", "group_sequential", "always_valid"]

MIN_LOOK_STEP = 1 / 64
"""Smallest increment of information fraction between the looks the planner integrates over (at most 65 looks, so
weekly looks over a year are never merged). Against simulation (400,000 paths, 140 and 364 daily looks) integrating
every look is off by 7% in the crossing probability (140 looks) or overflows (364); merged at 1e-3 it matches within
the Monte Carlo error. The MDE with looks merged at 1/64 is within 0.7% of the one merged at 1e-3 for daily
always-valid and group-sequential designs over 12 weeks (ICC 0 and 0.15)."""

MAX_NOMINAL_ALPHA = 0.999
"""The most liberal nominal level `analysis.always_valid.design_mixture` calibrates to."""

MAX_DRIFT = 1e3
"""Drifts beyond this cross every boundary with probability 1 to double precision; larger ones are clipped."""

ROOT_XTOL = 1e-10
"""Absolute tolerance of every drift found (Brent's or seeded secant steps)."""


@dataclass(frozen=True)
class SequentialDesign:
    """The monitoring plan: method, looks per week and (group sequential) the alpha-spending function."""

    method: Method = "fixed"
    looks_per_week: int = 1
    spending: Literal["obf", "pocock"] = "obf"

    def __post_init__(self) -> None:
        if self.method not in ("fixed", "group_sequential", "always_valid"):
            raise ValueError(f"unknown method {self.method!r}")
        if self.looks_per_week < 1:
            raise ValueError(f"looks_per_week must be >= 1, got {self.looks_per_week}")


def always_valid_z(alpha: float, rho: float) -> float:
    """|z| at which the normal-mixture likelihood ratio reaches ``1 / alpha``, for ``rho = tau^2 / V``.

    References
    ----------
    .. [1] Johari, R., Koomen, P., Pekelis, L., Walsh, D. (2022). Always Valid Inference: Continuous Monitoring of
       A/B Tests. Operations Research 70(3), 1806-1821.
    """
    if not 0.0 < alpha < 1.0 or rho <= 0.0:
        raise ValueError(f"need alpha in (0, 1) and rho > 0, got alpha={alpha}, rho={rho}")
    return float(mixture_threshold(1.0, rho, alpha))


def merge_close_looks(fractions: np.ndarray, min_step: float = MIN_LOOK_STEP) -> np.ndarray:
    """The planned fractions without the looks that lie within ``min_step`` of the next kept look.

    The last look is always kept, and a dropped look's alpha is spent at the kept look that follows it, so the
    design still spends exactly ``alpha``.
    """
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise ValueError("information fractions must be finite, positive and increasing")
    keep = [t.size - 1]
    for k in range(t.size - 2, -1, -1):
        if t[keep[-1]] - t[k] >= min_step:
            keep.append(k)
    return t[keep[::-1]]


def _root(function: Callable[[float], float], brackets: list[tuple[float, float]]) -> float:
    """The root of ``function`` in the first of ``brackets`` that holds one (a sign change)."""
    for low, high in brackets:
        try:
            return float(optimize.brentq(function, low, high, xtol=ROOT_XTOL))
        except ValueError:  # no sign change in this bracket (or a NaN): try the next one
            continue
    raise ValueError("the design's power cannot be computed for these looks")


@dataclass(frozen=True)
class DesignAtHorizon:
    """A design evaluated for a pilot ending at a given horizon: inflation and a power function.

    ``fractions`` are the looks after `merge_close_looks`; ``thresholds`` the always-valid z thresholds at them
    (from ``mixture``, calibrated over them) and ``bounds`` the group-sequential boundaries (None for the other
    designs).
    """

    design: SequentialDesign
    alpha: float
    fractions: np.ndarray
    thresholds: np.ndarray | None
    bounds: Boundaries | None = None
    mixture: MixtureDesign | None = None

    def _upper_crossing(self, drift: float) -> float:
        if self.thresholds is not None:
            c = self.thresholds
            return float(crossing_probabilities(self.fractions, c, -c, drift).upper.sum())
        return rejection_probability(self.bounds, drift)[0]

    def power(self, drift: float) -> float:
        """Probability of a significant result (either direction) when ``E[z] = drift`` at the horizon."""
        drift = min(abs(drift), MAX_DRIFT) if math.isfinite(drift) else MAX_DRIFT
        if self.thresholds is not None:
            c = self.thresholds
            return crossing_probabilities(self.fractions, c, -c, drift).total
        if self.bounds is not None:
            up, low = rejection_probability(self.bounds, drift)
            return float(up + low)
        crit = stats.norm.isf(self.alpha / 2)
        return float(stats.norm.sf(crit - drift) + stats.norm.cdf(-crit - drift))

    def drift(self, power: float, guess: float | None = None) -> float:
        """The drift (expected z at the horizon) with probability ``power`` of an upper crossing.

        ``power`` must exceed the upper-crossing rate under no effect (``alpha / 2``). A ``guess`` (the previous
        week's drift) is tried first in a narrow bracket, which halves the integrations per week; then the bracket
        of `analysis.group_sequential.design_drift`, then wider ones.
        """
        return self.solve_drift(power, guess if guess is None else RootHint(guess, math.nan)).x

    def solve_drift(self, power: float, hint: RootHint | None = None) -> RootHint:
        """`drift` and the slope of the upper-crossing probability there. With a ``hint`` carrying a slope (the
        previous week's answer) secant steps find the root first (`analysis._roots.seeded_root`, the same root to
        the same tolerance in about half the integrations); Brent's method from the brackets of `drift` otherwise."""
        fixed = stats.norm.isf(self.alpha / 2) + stats.norm.ppf(power)
        if self.thresholds is None and self.bounds is None:
            return RootHint(float(fixed), math.nan)
        high = 2 * fixed + 5.0 if self.thresholds is None else 2 * float(self.thresholds.max()) + 5.0

        def excess(th: float) -> float:
            return self._upper_crossing(th) - power

        seeded = seeded_root(excess, hint, 0.0, high, ROOT_XTOL)
        if seeded is not None:
            return seeded
        brackets = [(0.0, high * 2**k) for k in range(4)]
        if hint is not None and 0 < hint.x < high:
            brackets.insert(0, (0.995 * hint.x, 1.005 * hint.x))
        root = _root(excess, brackets)
        step = 1e-6 * max(root, 1.0)
        return RootHint(root, (excess(root + step) - excess(root - step)) / (2 * step))

    def inflation(self, power: float, guess: float | None = None) -> float:
        """Information inflation over the fixed design at the same alpha and power (1 for ``fixed``)."""
        if self.thresholds is None and self.bounds is None:
            return 1.0
        return self.seeded_inflation(power, guess if guess is None else RootHint(guess, math.nan))[0]

    def key(self) -> tuple:
        """Everything the design's crossing probabilities depend on, as a dictionary key: two horizons of a plan with
        equal keys have the same inflation and power curve (`plan_pilot` solves their drift once)."""
        thresholds = None if self.thresholds is None else tuple(self.thresholds.tolist())
        upper = None if self.bounds is None else self.bounds.upper
        return self.design, self.alpha, tuple(self.fractions.tolist()), thresholds, upper

    def seeded_inflation(self, power: float, hint: RootHint | None) -> tuple[float, RootHint | None]:
        """`inflation` and the drift's `RootHint` for the next horizon (see `solve_drift`)."""
        if self.thresholds is None and self.bounds is None:
            return 1.0, hint
        fixed = stats.norm.isf(self.alpha / 2) + stats.norm.ppf(power)
        solved = self.solve_drift(power, hint)
        return float((solved.x / fixed) ** 2), solved


def at_horizon(
    design: SequentialDesign,
    alpha: float,
    fractions: np.ndarray,
    final_variance: float,
    previous: DesignAtHorizon | None = None,
    known: dict[tuple, DesignAtHorizon] | None = None,
) -> DesignAtHorizon:
    """Evaluate the design for looks at planned ``fractions`` ending with variance ``final_variance``.

    ``previous`` (the same design at the week before) only speeds up the always-valid calibration: its nominal
    level starts the search, the root found is the same. ``known`` collects group-sequential designs by their merged
    looks: a plan's horizons often merge to the same schedule (with information linear in time, 63 daily looks and
    every second of 126 are the same fractions: 14 of 52 weeks of daily looks), whose boundaries are then computed
    once.
    """
    if design.method == "fixed":
        return DesignAtHorizon(design, alpha, np.ones(1), None)
    if not (math.isfinite(final_variance) and final_variance > 0):
        raise ValueError(f"the planned variance must be positive and finite, got {final_variance}")
    t = merge_close_looks(fractions)
    if t.size == 1:
        return DesignAtHorizon(design, alpha, t, None)
    if design.method == "always_valid":
        # The mixture's threshold has a floor (the ln(1 + tau^2 / V) term), so over few looks even the most liberal
        # nominal level may cross less often than a large alpha asks for: then no calibration exists.
        tau2 = tune_tau2(final_variance, alpha)
        # The chance of crossing at the last look alone bounds the ceiling from below: integrate only when needed.
        last = float(mixture_threshold(1.0, tau2 / final_variance, MAX_NOMINAL_ALPHA)[()])
        alone = 2.0 * stats.norm.sf(last)
        ceiling = alone if alone > alpha else crossing_probability(t, tau2 / final_variance, MAX_NOMINAL_ALPHA)
        if ceiling <= alpha:
            raise ValueError(
                f"alpha {alpha:.3g} is more than an always-valid test can spend over these looks (at most "
                f"{ceiling:.2f}); choose a smaller alpha or a group-sequential design"
            )
        guess = hint = None
        if previous is not None and previous.mixture is not None:
            before = previous.mixture
            guess = before.nominal_alpha
            hint = calibration_hint(before.planned_fractions, before.tau2 / before.planned_final_variance, alpha)
        mixture = design_mixture(final_variance, alpha, t, tau2=tau2, nominal_guess=guess, nominal_hint=hint)
        thresholds = mixture_threshold(final_variance / t, mixture.tau2, mixture.nominal_alpha)
        return DesignAtHorizon(design, alpha, t, thresholds, mixture=mixture)
    key = (design, alpha, tuple(t.tolist()))
    if known is not None and key in known:
        return known[key]
    evaluated = DesignAtHorizon(design, alpha, t, None, boundaries(t, alpha, design.spending, final=True))
    if known is not None:
        known[key] = evaluated
    return evaluated
