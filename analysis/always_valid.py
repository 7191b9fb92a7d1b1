"""Always-valid inference by the normal-mixture SPRT, tuned and calibrated for a fixed cohort.

For an estimate ``d`` of the treatment difference with variance ``V`` and a normal mixing
distribution of variance ``tau2`` over the effect, the mixture likelihood ratio is

    Lambda = sqrt(V / (V + tau2)) * exp(tau2 d^2 / (2 V (V + tau2))).

``Lambda >= 1 / a`` is equivalent to ``|d| / sqrt(V) >= c(V)`` with
``c(V)^2 = (1 + V / tau2) (2 ln(1/a) + ln(1 + tau2 / V))``, so the test and the confidence
sequence (``d -+ c(V) sqrt(V)``, intersected over looks) are driven by a per-look z threshold.

Why not the web-scale recipe. A fixed roster never grows; information grows only because audits
accumulate, towards a ceiling set by between-moderator variance. Reasoned in terms of ``V``,
three choices make the procedure spend the alpha the pilot paid for:

1. ``tau2`` is tuned to the pilot's planned final variance (:func:`tune_tau2`): it minimises the
   threshold ``c`` at the planned end, where power matters (effects near the MDE, which is
   proportional to ``sqrt(V_final)``). A constant tuned for thousands of users leaves ``c``
   far above what 200 moderators can reach.
2. Ville's inequality bounds the crossing probability over an infinite horizon; a pilot stops
   at its planned end. :func:`design_mixture` finds the nominal level ``a >= alpha`` at which
   the probability of ever crossing over the planned information schedule is exactly ``alpha``
   (recursive integration, the same engine as the group-sequential boundaries, which is valid
   because the estimates have independent increments in information time). Looks beyond or
   more frequent than the plan can exceed ``alpha`` slightly; ``calibrate=False`` keeps the
   pure Ville guarantee for any schedule.
3. With few clusters the statistic is closer to Student t: each look's normal tail
   probability is mapped to the t quantile with that look's Welch-Satterthwaite ``df``.

References
----------
.. [1] Johari, R., Koomen, P., Pekelis, L. and Walsh, D. (2022). Always valid inference:
       continuous monitoring of A/B tests. Operations Research 70(3), 1806-1821.
.. [2] Howard, S. R., Ramdas, A., McAuliffe, J. and Sekhon, J. (2021). Time-uniform,
       nonparametric, nonasymptotic confidence sequences. Annals of Statistics 49(2), 1055-1080.
.. [3] Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm.
       Annals of Mathematical Statistics 41(5), 1397-1409.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from analysis._recursive_integration import crossing_probabilities
from analysis._roots import RootHint, seeded_root
from analysis.ratio import ConfidenceInterval


@dataclass(frozen=True)
class MixtureDesign:
    """A normal-mixture SPRT fixed at registration.

    Attributes
    ----------
    tau2 : float
        Variance of the normal mixing distribution over the effect.
    alpha : float
        Target two-sided false-go rate.
    nominal_alpha : float
        Level ``a`` used in ``Lambda >= 1/a``; equals ``alpha`` when not calibrated.
    planned_final_variance : float
        ``Var(estimate)`` expected at the planned end.
    planned_fractions : tuple of float or None
        Information schedule the calibration assumed (``None``: uncalibrated, Ville bound).
    """

    tau2: float
    alpha: float
    nominal_alpha: float
    planned_final_variance: float
    planned_fractions: tuple[float, ...] | None = None


@dataclass(frozen=True)
class AlwaysValidResult:
    """Per-look always-valid p-values, confidence sequence and rejection flags.

    ``rejected[k]`` is sticky: once the mixture crosses, the pilot has its answer.
    ``direction`` is the sign of the estimate at the first rejection ("up" = treatment higher).
    """

    design: MixtureDesign
    statistics: tuple[float, ...]
    likelihood_ratios: tuple[float, ...]
    p_values: tuple[float, ...]
    thresholds: tuple[float, ...]
    cs_low: tuple[float, ...]
    cs_high: tuple[float, ...]
    rejected: tuple[bool, ...]
    first_rejection: int | None
    direction: Literal["up", "down", "none"]

    @property
    def confidence_sequence(self) -> ConfidenceInterval:
        """The running-intersection interval at the latest look."""
        return ConfidenceInterval(self.cs_low[-1], self.cs_high[-1])


def mixture_threshold(variance: ArrayLike, tau2: float, nominal_alpha: float) -> np.ndarray:
    """z threshold ``c(V)`` at which ``Lambda = 1 / nominal_alpha`` (vectorised over ``V``)."""
    v = np.asarray(variance, dtype=float)
    return np.sqrt((1.0 + v / tau2) * (2.0 * math.log(1.0 / nominal_alpha) + np.log1p(tau2 / v)))


def log_likelihood_ratio(z: ArrayLike, variance: ArrayLike, tau2: float) -> np.ndarray:
    """``ln Lambda`` for standardized estimates ``z = d / sqrt(V)``."""
    z = np.asarray(z, dtype=float)
    v = np.asarray(variance, dtype=float)
    return 0.5 * np.log(v / (v + tau2)) + tau2 * z * z / (2.0 * (v + tau2))


def tune_tau2(planned_final_variance: float, alpha: float = 0.05) -> float:
    """Mixture variance minimising the rejection threshold at the planned final variance.

    With ``s = tau2 / V`` the threshold is ``c^2 = (1 + 1/s)(2 ln(1/alpha) + ln(1 + s))``, a
    function of ``s`` alone, so the optimum is ``tau2 = s* V_final`` (``s*`` ~ 11 at alpha 0.05).

    References
    ----------
    .. [1] Howard et al. (2021), section 3.5 (tuning the mixture to an intrinsic time).
    """
    _design_iv(planned_final_variance, alpha)
    log_l = 2.0 * math.log(1.0 / alpha)

    def c2(log_s: float) -> float:
        s = math.exp(log_s)
        return (1.0 + 1.0 / s) * (log_l + math.log1p(s))

    best = optimize.minimize_scalar(c2, bounds=(-5.0, 12.0), method="bounded", options={"xatol": 1e-8})
    return float(math.exp(best.x) * planned_final_variance)


def _design_iv(planned_final_variance: float, alpha: float) -> None:
    if not (math.isfinite(planned_final_variance) and planned_final_variance > 0):
        raise ValueError(f"planned_final_variance must be positive, got {planned_final_variance}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _schedule_iv(fractions: ArrayLike) -> np.ndarray:
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or t.size == 0 or t[0] <= 0 or np.any(np.diff(t) <= 0):
        raise ValueError("planned_fractions must be positive and strictly increasing")
    return t


def crossing_probability(planned_fractions: ArrayLike, ratio: float, nominal_alpha: float) -> float:
    """Null probability that ``Lambda`` ever reaches ``1/nominal_alpha`` over the schedule.

    ``ratio = tau2 / V_final``; at fraction ``t`` the variance is ``V_final / t``.
    """
    t = _schedule_iv(planned_fractions)
    c = mixture_threshold(1.0 / t, ratio, nominal_alpha)
    return crossing_probabilities(t, c, -c).total


def design_mixture(
    planned_final_variance: float,
    alpha: float = 0.05,
    planned_fractions: ArrayLike | None = None,
    *,
    tau2: float | None = None,
    nominal_guess: float | None = None,
    nominal_hint: RootHint | None = None,
) -> MixtureDesign:
    """Tune (and, given a planned schedule, calibrate) the mixture SPRT for one pilot.

    Parameters
    ----------
    planned_final_variance : float
        Planned ``Var(estimate)`` at the end (from the registration-time variance model).
    alpha : float
        Target two-sided false-go rate.
    planned_fractions : array_like or None
        Planned information fractions of the looks (e.g. daily). When given, the nominal level
        is raised until the finite-horizon crossing probability equals ``alpha``.
    tau2 : float or None
        Mixture variance; ``None`` uses :func:`tune_tau2`.
    nominal_guess : float or None
        A nominal level close to the answer (e.g. the calibration of a slightly shorter schedule): the search tries
        a narrow bracket around it first, which saves about half the integrations; the answer is the same root.
    nominal_hint : RootHint or None
        A neighbouring calibration's nominal level and the slope of the crossing probability there (see
        `calibration_hint`): secant steps from it find the same root in about three integrations.

    Returns
    -------
    MixtureDesign
    """
    _design_iv(planned_final_variance, alpha)
    tau2 = tune_tau2(planned_final_variance, alpha) if tau2 is None else float(tau2)
    if not tau2 > 0:
        raise ValueError(f"tau2 must be positive, got {tau2}")
    if planned_fractions is None:
        return MixtureDesign(tau2, alpha, alpha, planned_final_variance)
    t = _schedule_iv(planned_fractions)
    ratio = tau2 / planned_final_variance
    nominal = _calibrate(tuple(t.tolist()), ratio, alpha, nominal_guess, nominal_hint).x
    return MixtureDesign(tau2, alpha, float(nominal), planned_final_variance, tuple(t.tolist()))


_CALIBRATIONS: dict[tuple[tuple[float, ...], float, float], RootHint] = {}
_MAX_CALIBRATIONS = 4096
CALIBRATION_XTOL = 1e-9


def calibration_hint(schedule: tuple[float, ...], ratio: float, alpha: float) -> RootHint | None:
    """The calibrated nominal level of a schedule calibrated before in this process, with the slope of the crossing
    probability there: the seed for the next, similar schedule (a planner's next weekly horizon)."""
    return _CALIBRATIONS.get((schedule, ratio, alpha))


def _calibrate(
    schedule: tuple[float, ...], ratio: float, alpha: float, guess: float | None, hint: RootHint | None = None
) -> RootHint:
    """The nominal level whose crossing probability over ``schedule`` is ``alpha`` (memoized: a planner's weekly
    horizons often merge their looks into the same schedule, and results recompute the same pilot's design), and
    the slope there. With a ``hint`` secant steps find it first (`analysis._roots.seeded_root`); Brent's method from
    a bracket around ``guess`` (or the whole range) otherwise."""
    key = (schedule, ratio, alpha)
    if key in _CALIBRATIONS:
        return _CALIBRATIONS[key]
    t = np.asarray(schedule)
    excess = _Memo(lambda a: crossing_probability(t, ratio, a) - alpha)
    found = seeded_root(excess, hint, alpha, MAX_NOMINAL_ALPHA, CALIBRATION_XTOL)
    if found is None:
        low, high = alpha, 0.999
        if guess is not None and alpha < guess < 0.999:
            near = (max(alpha, 0.995 * guess), min(0.999, 1.005 * guess))
            if excess(near[0]) * excess(near[1]) <= 0:
                low, high = near
        nominal = float(optimize.brentq(excess, low, high, xtol=CALIBRATION_XTOL))
        # The slope at the root from the bracket's last secant is not exposed by brentq; the ends evaluated around
        # the guess give it to the accuracy a seed needs (a poor slope costs a step, never a wrong root).
        points = sorted(excess.values.items())
        pairs = [(a, b) for a, b in itertools.pairwise(points) if b[0] - a[0] > 1e-6 * nominal]
        slope = math.nan
        if pairs:
            (x0, f0), (x1, f1) = min(pairs, key=lambda pair: abs(pair[0][0] + pair[1][0] - 2 * nominal))
            slope = (f1 - f0) / (x1 - x0)
        found = RootHint(nominal, slope)
    if len(_CALIBRATIONS) >= _MAX_CALIBRATIONS:
        _CALIBRATIONS.clear()
    _CALIBRATIONS[key] = found
    return found


class _Memo:
    """A function of one float that remembers its values (bracket ends are evaluated once)."""

    def __init__(self, function) -> None:
        self.function, self.values = function, {}

    def __call__(self, x: float) -> float:
        if x not in self.values:
            self.values[x] = self.function(x)
        return self.values[x]


MAX_NOMINAL_ALPHA = 0.999
"""The most liberal nominal level a calibration may reach (`design_mixture` searches up to it)."""


def design_or_most_liberal(
    planned_final_variance: float, alpha: float, planned_fractions: ArrayLike
) -> tuple[MixtureDesign, float]:
    """`design_mixture` calibrated to `planned_fractions`, and the two-sided alpha it spends.

    The mixture's threshold has a floor (the ``ln(1 + tau^2 / V)`` term), so over few looks even the most liberal
    nominal level may cross less often than a large alpha asks for (2-3 daily looks at alpha 0.15, a week at 0.5).
    No calibration exists then; instead of raising, the design at `MAX_NOMINAL_ALPHA` is returned with the alpha it
    does spend (below `alpha`: the test stays valid, and conservative).

    Returns
    -------
    tuple of (MixtureDesign, float)
    """
    _design_iv(planned_final_variance, alpha)
    tau2 = tune_tau2(planned_final_variance, alpha)
    t = _schedule_iv(planned_fractions)
    ratio = tau2 / planned_final_variance
    # Crossing at the last look alone bounds the ceiling from below, so integrate only when that bound is not enough.
    last = float(mixture_threshold(1.0 / t[-1], tau2 / planned_final_variance, MAX_NOMINAL_ALPHA)[()])
    alone = 2.0 * stats.norm.sf(last)
    ceiling = alone if alone > alpha else crossing_probability(t, ratio, MAX_NOMINAL_ALPHA)
    if ceiling <= alpha:
        design = MixtureDesign(tau2, alpha, MAX_NOMINAL_ALPHA, planned_final_variance, tuple(t.tolist()))
        return design, float(ceiling)
    return design_mixture(planned_final_variance, alpha, t, tau2=tau2), float(alpha)


def _z_equivalent(z: np.ndarray, df: np.ndarray) -> np.ndarray:
    tail = stats.t.sf(np.abs(z), df)
    return np.sign(z) * stats.norm.isf(tail)


def _t_threshold(c: np.ndarray, df: np.ndarray) -> np.ndarray:
    return stats.t.isf(stats.norm.sf(c), df)


def p_values_from_lr(design: MixtureDesign, log_lr: np.ndarray) -> np.ndarray:
    """Running always-valid p-values from per-look ``ln Lambda``.

    Uncalibrated: ``min(1, 1/max Lambda)``. Calibrated: the null probability, over the planned
    schedule, that ``Lambda`` reaches the running maximum observed so far, which is at most
    the Ville bound and rejects exactly when ``p <= alpha``.
    """
    running = np.maximum.accumulate(log_lr)
    ville = np.minimum(1.0, np.exp(-running))
    if design.planned_fractions is None:
        return ville
    ratio = design.tau2 / design.planned_final_variance
    schedule = tuple(np.asarray(design.planned_fractions, dtype=float).tolist())
    out = np.array([1.0 if level >= 1.0 else _calibrated_level(schedule, ratio, float(level)) for level in ville])
    return np.minimum.accumulate(out)


@lru_cache(maxsize=8192)
def _calibrated_level(schedule: tuple[float, ...], ratio: float, level: float) -> float:
    """`crossing_probability` memoized: a running maximum of the likelihood ratio, once reached, is the same number
    at every later recomputation of the same pilot (past looks do not change), so each costs one integration."""
    return min(1.0, crossing_probability(np.asarray(schedule), ratio, level))


def _running_intersection(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intersect each look's interval with the previous looks' intersection.

    The intersection of a confidence sequence over looks is still a confidence sequence, and tighter. It can only
    become empty when the sequence has already missed the truth (an event of probability at most alpha under the
    model) or the model is off, e.g. a variance estimated from very few units. An empty interval says nothing
    useful, so from such a look on the intersection restarts from that look's own interval, which is valid by itself.
    """
    out_low, out_high = np.empty_like(low), np.empty_like(high)
    current_low, current_high = -np.inf, np.inf
    for k, (lo, hi) in enumerate(zip(low, high, strict=True)):
        current_low, current_high = max(current_low, lo), min(current_high, hi)
        if current_low > current_high:
            current_low, current_high = lo, hi
        out_low[k], out_high[k] = current_low, current_high
    return out_low, out_high


def always_valid(
    estimates: ArrayLike,
    variances: ArrayLike,
    design: MixtureDesign,
    df: ArrayLike | None = None,
    *,
    with_p_values: bool = True,
) -> AlwaysValidResult:
    """Mixture SPRT p-values and confidence sequence for a pilot's looks so far.

    Parameters
    ----------
    estimates : array_like
        Difference (treatment minus control) at each look, in time order.
    variances : array_like
        Its variance at each look (positive).
    design : MixtureDesign
        From :func:`design_mixture`, fixed at registration.
    df : array_like or None
        Welch-Satterthwaite degrees of freedom per look (``None``: normal).
    with_p_values : bool
        Skip the (integration-based) calibrated p-values when only the decision is needed.

    Returns
    -------
    AlwaysValidResult

    References
    ----------
    .. [1] Johari et al. (2022), section 4; Howard et al. (2021), section 3.
    """
    d = np.atleast_1d(np.asarray(estimates, dtype=float))
    v = np.atleast_1d(np.asarray(variances, dtype=float))
    if d.shape != v.shape or d.ndim != 1 or d.size == 0:
        raise ValueError("estimates and variances must be 1-d sequences of the same length")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("estimates must be finite and variances positive and finite")
    dfs = np.full_like(d, np.inf) if df is None else np.asarray(df, dtype=float)
    if dfs.shape != d.shape or np.any(~(dfs > 0)):
        raise ValueError("df must be positive, one per look")
    z = d / np.sqrt(v)
    z_eq = _z_equivalent(z, dfs)
    log_lr = log_likelihood_ratio(z_eq, v, design.tau2)
    c = _t_threshold(mixture_threshold(v, design.tau2, design.nominal_alpha), dfs)
    half = c * np.sqrt(v)
    low, high = _running_intersection(d - half, d + half)
    crossed = np.abs(z) >= c
    first = int(np.argmax(crossed)) if crossed.any() else None
    direction: Literal["up", "down", "none"] = "none"
    if first is not None:
        direction = "up" if d[first] > 0 else "down"
    rejected = np.maximum.accumulate(crossed)
    p = p_values_from_lr(design, log_lr) if with_p_values else np.full_like(d, np.nan)
    return AlwaysValidResult(
        design=design,
        statistics=tuple(z.tolist()),
        likelihood_ratios=tuple(np.exp(log_lr).tolist()),
        p_values=tuple(p.tolist()),
        thresholds=tuple(c.tolist()),
        cs_low=tuple(low.tolist()),
        cs_high=tuple(high.tolist()),
        rejected=tuple(bool(r) for r in rejected),
        first_rejection=first,
        direction=direction,
    )
