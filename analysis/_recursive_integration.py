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

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special

GRID_R = 24
"""Grid-size parameter ``r`` of [1]; 24 gives boundary accuracy far below 1e-6."""

_INF_BOUND = 40.0


def _norm_sf(x: np.ndarray | float) -> np.ndarray | float:
    return 0.5 * special.erfc(np.asarray(x) / np.sqrt(2.0))


def _norm_isf(p: float) -> float:
    return math.sqrt(2.0) * float(special.erfcinv(2.0 * p))


def _norm_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)


def _odd_offsets(r: int) -> np.ndarray:
    """The odd grid points of [1] relative to the mean: dense within three standard deviations, thinning out
    logarithmically in the tails."""
    i = np.arange(1, 6 * r)
    return np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / np.maximum(i, 1)),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / np.maximum(6 * r - i, 1))),
    )


_ODD = _odd_offsets(GRID_R)
_FULL = np.empty(2 * _ODD.size - 1)
_FULL[0::2] = _ODD
_FULL[1::2] = 0.5 * (_ODD[:-1] + _ODD[1:])
_KERNEL_CACHE = 70
"""Stages whose interior kernel is kept (`_interior_kernel`): one planned horizon merges its looks to at most 65."""


@dataclass(frozen=True)
class _Grid:
    """Grid points and Simpson weights; ``points[inner]`` equals ``mean + _FULL[full]`` (the untruncated interior)."""

    points: np.ndarray
    weights: np.ndarray
    inner: slice
    full: slice


def _layout(mean: float, low: float, high: float, r: int = GRID_R) -> _Grid:
    odd_all = mean + (_ODD if r == GRID_R else _odd_offsets(r))
    lo = max(low, odd_all[0])
    hi = min(high, odd_all[-1])
    if hi <= lo:
        return _Grid(np.array([lo]), np.array([0.0]), slice(0, 0), slice(0, 0))
    a = int(np.searchsorted(odd_all, lo, side="right"))
    b = int(np.searchsorted(odd_all, hi, side="left"))
    odd = np.concatenate(([lo], odd_all[a:b], [hi]))
    mid = 0.5 * (odd[:-1] + odd[1:])
    points = np.empty(2 * odd.size - 1)
    points[0::2] = odd
    points[1::2] = mid
    h = np.diff(odd)
    weights = np.zeros_like(points)
    weights[0::2][:-1] += h / 6.0
    weights[0::2][1:] += h / 6.0
    weights[1::2] = 4.0 * h / 6.0
    if b <= a:
        return _Grid(points, weights, slice(0, 0), slice(0, 0))
    return _Grid(points, weights, slice(2, 2 * (b - a) + 1), slice(2 * a, 2 * b - 1))


def grid(mean: float, low: float, high: float, r: int = GRID_R) -> tuple[np.ndarray, np.ndarray]:
    """Jennison-Turnbull grid and Simpson weights on ``[low, high]`` around ``mean``.

    Points are dense within three standard deviations of ``mean`` and thin out
    logarithmically in the tails; the region is truncated to ``[low, high]``.
    """
    layout = _layout(mean, low, high, r)
    return layout.points, layout.weights


@lru_cache(maxsize=_KERNEL_CACHE)
def _interior_kernel(t: float, t_prev: float) -> np.ndarray:
    """Transition density between the untruncated interior grids of two stages, ``phi((g_i sqrt(t) - g_j
    sqrt(t_prev)) / sqrt(t - t_prev))`` without the ``1 / sqrt(2 pi)``.

    Both grids sit at ``theta sqrt(t)`` plus fixed offsets ``g``, so the drift cancels: the interior of the kernel
    depends on the two fractions only, whatever the drift and the boundaries. A root search integrates the same
    fractions a dozen times (calibrating a level, solving for a drift); keeping the interior leaves only the few
    rows and columns next to the boundaries to compute each time, which is what made daily looks over a year slow.
    """
    n = _FULL.size
    half = n // 2 + 1
    kernel = np.empty((n, n))
    z = kernel[:half]
    np.subtract.outer(
        _FULL[:half] * (np.sqrt(t) / np.sqrt(t - t_prev)), _FULL * (np.sqrt(t_prev) / np.sqrt(t - t_prev)), out=z
    )
    z *= z
    z *= -0.5
    np.exp(z, out=z)
    # The offsets are exactly antisymmetric (g[n-1-i] == -g[i]), so row n-1-i is row i reversed, bit for bit.
    kernel[half:] = kernel[: n - half][::-1, ::-1]
    kernel.flags.writeable = False
    return kernel


def _transition(new: _Grid, old: _Grid, base: np.ndarray, t: float, t_prev: float, mass: np.ndarray) -> np.ndarray:
    """``sum_j phi((x_i sqrt(t) - base_j) / sd) mass_j`` for every new point ``x_i`` (without ``1 / sqrt(2 pi)``):
    the interior block from `_interior_kernel`, the rows and columns next to the boundaries computed directly."""
    sd = np.sqrt(t - t_prev)
    rows, cols = new.inner, old.inner
    out = np.empty(new.points.size)

    def block(row_index, col_index) -> np.ndarray:
        z = np.subtract.outer(new.points[row_index] * np.sqrt(t), base[col_index])
        z /= sd
        z *= z
        z *= -0.5
        np.exp(z, out=z)
        return z

    if rows.stop - rows.start < 4 or cols.stop - cols.start < 4:
        return block(slice(None), slice(None)) @ mass
    n_old, n_new = old.points.size, new.points.size
    edge_cols = np.array((0, 1, n_old - 2, n_old - 1))  # inner is everything but two points at each end
    edge_rows = np.array((0, 1, n_new - 2, n_new - 1))
    # Rows of the cached kernel are contiguous; the interior mass is padded to the full grid with zeros, so the
    # product needs no copy of a strided sub-block.
    padded = np.zeros(_FULL.size)
    padded[old.full] = mass[cols]
    out[rows] = _interior_kernel(t, t_prev)[new.full] @ padded + block(rows, edge_cols) @ mass[edge_cols]
    out[edge_rows] = block(edge_rows, slice(None)) @ mass
    return out


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
        self._grid: _Grid | None = None

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
        layout = _layout(mean, max(lower, -_INF_BOUND), min(upper, _INF_BOUND))
        points = layout.points
        if self.points is None or self._grid is None:
            density = _norm_pdf(points - mean)
        else:
            base = self.points * np.sqrt(self.t_prev) + drift
            sd = np.sqrt(dt)
            density = _transition(layout, self._grid, base, t, self.t_prev, self.mass) * (
                np.sqrt(t) / sd / np.sqrt(2.0 * np.pi)
            )
        self.points, self.mass, self.t_prev, self._grid = points, density * layout.weights, t, layout


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
    newton = _upper_by_newton(prop, t, target, lo)
    if newton is not None:
        return newton
    return float(optimize.brentq(excess, lo, _INF_BOUND, xtol=1e-10))


def _upper_by_newton(prop: Propagator, t: float, target: float, lo: float) -> float | None:
    """The boundary of `solve_upper` by Newton steps on ``ln P(Z_k >= b, cont.) - ln target``, whose derivative is
    the density at ``b`` over the tail (both from the grid in one pass): about five passes where Brent's method
    takes seventeen. Steps are kept inside the bracket by bisection; None when they do not settle (the caller then
    uses Brent's method), so the answer never rests on Newton converging."""
    sqrt_t = math.sqrt(t)
    if prop.points is None:
        mean = prop.theta * sqrt_t
        base, mass, sd = np.array([mean * sqrt_t]), np.array([1.0]), sqrt_t  # z = b - mean
    else:
        base = prop.points * math.sqrt(prop.t_prev) + prop.theta * (t - prop.t_prev)
        mass, sd = prop.mass, math.sqrt(t - prop.t_prev)
    log_target = math.log(target)
    low, high = lo, _INF_BOUND
    b = min(max(float(_norm_isf(target)) + prop.theta * sqrt_t, low), high)
    for _ in range(40):
        z = (b * sqrt_t - base) / sd
        tail = float(mass @ _norm_sf(z))
        if not tail > 0:  # beyond every path: the boundary is lower
            high = b
            b = 0.5 * (low + high)
            continue
        g = math.log(tail) - log_target
        if g > 0:
            low = b
        else:
            high = b
        slope = -float(mass @ _norm_pdf(z)) * sqrt_t / sd / tail
        step = g / slope if slope < 0 else math.inf
        new = b - step
        if not (low < new < high):
            new = 0.5 * (low + high)
        if abs(new - b) < 1e-12:
            return new
        b = new
    return None


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
