"""Recursive numerical integration for group-sequential boundary-crossing probabilities.

The sequence of standardized statistics ``Z_1, ..., Z_K`` observed at information fractions
``t_1 < ... < t_K`` is treated as the canonical joint distribution: the score
``S_k = Z_k sqrt(t_k)`` has independent normal increments with mean ``theta (t_k - t_{k-1})`` and
variance ``t_k - t_{k-1}``.
The density of ``Z_k`` on the continuation region is propagated stage by stage on the grid of
Jennison & Turnbull (2000, ch. 19), integrated by Simpson's rule. This is the engine behind
``group_sequential`` (boundaries, power, p-values) and the finite-horizon calibration in
``always_valid``.

References
----------
.. [1] Jennison, C. and Turnbull, B. W. (2000). Group Sequential Methods with Applications to
       Clinical Trials, ch. 19. Chapman & Hall/CRC.
.. [2] Armitage, P., McPherson, C. K. and Rowe, B. C. (1969). Repeated significance tests on
       accumulating data. JRSS A 132, 235-244.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

GRID_R = 24
"""Grid-size parameter ``r`` of [1]; 24 gives boundary accuracy far below 1e-6."""

_INF_BOUND = 40.0


def _norm_sf(x: np.ndarray | float) -> np.ndarray | float:
    return 0.5 * special.erfc(np.asarray(x) / np.sqrt(2.0))


def _norm_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def grid(mean: float, low: float, high: float, r: int = GRID_R) -> tuple[np.ndarray, np.ndarray]:
    """Jennison-Turnbull grid and Simpson weights on ``[low, high]`` around ``mean``.

    Points are dense within three standard deviations of ``mean`` and thin out
    logarithmically in the tails; the region is truncated to ``[low, high]``.
    """
    i = np.arange(1, 6 * r)
    x = np.where(
        i < r,
        mean - 3.0 - 4.0 * np.log(r / np.maximum(i, 1)),
        np.where(
            i <= 5 * r,
            mean - 3.0 + 3.0 * (i - r) / (2.0 * r),
            mean + 3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1)),
        ),
    )
    lo = max(low, x[0])
    hi = min(high, x[-1])
    if hi <= lo:
        return np.array([lo]), np.array([0.0])
    inner = x[(x > lo) & (x < hi)]
    odd = np.concatenate(([lo], inner, [hi]))
    mid = 0.5 * (odd[:-1] + odd[1:])
    points = np.empty(2 * odd.size - 1)
    points[0::2] = odd
    points[1::2] = mid
    h = np.diff(odd)
    weights = np.zeros_like(points)
    weights[0::2][:-1] += h / 6.0
    weights[0::2][1:] += h / 6.0
    weights[1::2] = 4.0 * h / 6.0
    return points, weights


@dataclass(frozen=True)
class Crossings:
    """Per-stage probabilities of first crossing the upper and the lower boundary."""

    upper: np.ndarray
    lower: np.ndarray

    @property
    def total(self) -> float:
        return float(self.upper.sum() + self.lower.sum())


class Propagator:
    """Stage-by-stage density of ``Z_k`` on the continuation region under drift ``theta``.

    ``theta`` is the mean of ``Z`` at information fraction 1 (``E Z_k = theta sqrt(t_k)``).
    Call :meth:`cross` to get first-crossing probabilities for candidate boundaries at the
    next stage, then :meth:`advance` with the chosen boundaries.
    """

    def __init__(self, theta: float = 0.0) -> None:
        self.theta = float(theta)
        self.t_prev = 0.0
        self.points: np.ndarray | None = None
        self.mass: np.ndarray | None = None  # density times Simpson weight

    def _shift(self, t: float) -> tuple[float, float]:
        if t <= self.t_prev:
            raise ValueError(f"information fractions must increase, got {t} after {self.t_prev}")
        dt = t - self.t_prev
        return dt, self.theta * dt

    def cross(self, t: float, upper: float, lower: float) -> tuple[float, float]:
        """First-crossing probabilities ``P(Z_k >= upper, cont.)``, ``P(Z_k <= lower, cont.)``."""
        dt, drift = self._shift(t)
        if self.points is None:
            mean = self.theta * np.sqrt(t)
            return float(_norm_sf(upper - mean)), float(_norm_sf(mean - lower))
        base = self.points * np.sqrt(self.t_prev) + drift
        sd = np.sqrt(dt)
        up = float(self.mass @ _norm_sf((upper * np.sqrt(t) - base) / sd))
        low = float(self.mass @ _norm_sf((base - lower * np.sqrt(t)) / sd))
        return up, low

    def advance(self, t: float, upper: float, lower: float) -> None:
        """Move to stage ``t`` keeping only paths that continue (``lower < Z < upper``)."""
        dt, drift = self._shift(t)
        mean = self.theta * np.sqrt(t)
        points, weights = grid(mean, max(lower, -_INF_BOUND), min(upper, _INF_BOUND))
        if self.points is None:
            density = _norm_pdf(points - mean)
        else:
            base = self.points * np.sqrt(self.t_prev) + drift
            sd = np.sqrt(dt)
            kernel = _norm_pdf((points[:, None] * np.sqrt(t) - base[None, :]) / sd)
            density = kernel @ self.mass * np.sqrt(t) / sd
        self.points, self.mass, self.t_prev = points, density * weights, t


def crossing_probabilities(
    fractions: np.ndarray, upper: np.ndarray, lower: np.ndarray, theta: float = 0.0
) -> Crossings:
    """First-crossing probabilities for given boundaries (``inf`` means no boundary)."""
    prop = Propagator(theta)
    ups, lows = [], []
    for t, b, a in zip(fractions, upper, lower, strict=True):
        up, low = prop.cross(t, b, a)
        ups.append(up)
        lows.append(low)
        if t != fractions[-1]:
            prop.advance(t, b, a)
    return Crossings(np.array(ups), np.array(lows))


def solve_upper(prop: Propagator, t: float, target: float, lower: float | None = None) -> float:
    """Upper boundary at stage ``t`` whose first-crossing probability equals ``target``.

    With ``lower=None`` the lower boundary is the mirror image ``-b`` (symmetric design).
    Targets too small to represent return ``inf`` (no chance of stopping).
    """
    if target <= 1e-15:
        return np.inf

    def excess(b: float) -> float:
        return prop.cross(t, b, -b if lower is None else lower)[0] - target

    lo = 0.0 if lower is None else max(lower, -_INF_BOUND)
    if excess(lo) < 0:
        return lo
    return float(optimize.brentq(excess, lo, _INF_BOUND, xtol=1e-10))


def solve_lower(prop: Propagator, t: float, target: float, upper: float) -> float:
    """Lower (futility) boundary at ``t`` with first-crossing probability ``target``."""
    if target <= 1e-15:
        return -np.inf

    def excess(a: float) -> float:
        return prop.cross(t, upper, a)[1] - target

    hi = min(upper, _INF_BOUND)
    if excess(hi) < 0:
        return hi
    return float(optimize.brentq(excess, -_INF_BOUND, hi, xtol=1e-10))
