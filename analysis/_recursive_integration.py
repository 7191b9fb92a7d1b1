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
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

GRID_R = 24
"""Grid-size parameter ``r`` of [1]; 24 gives boundary accuracy far below 1e-6."""

_INF_BOUND = 40.0
_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


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


_SIXTHS = np.diff(_ODD) / 6.0
_FULL_WEIGHTS = np.empty(_FULL.size)
"""Simpson weights of the untruncated grid at mean 0 (the end points' weights are never read)."""
_FULL_WEIGHTS[1::2] = 4.0 * _SIXTHS
_FULL_WEIGHTS[2:-1:2] = _SIXTHS[1:] + _SIXTHS[:-1]
_FULL_WEIGHTS[0], _FULL_WEIGHTS[-1] = _SIXTHS[0], _SIXTHS[-1]


class _Grid(NamedTuple):
    """Grid points and Simpson weights; ``points[inner]`` equals ``mean + _FULL[full]`` (the untruncated interior)."""

    points: np.ndarray
    weights: np.ndarray
    inner: slice
    full: slice


def _layout(mean: float, low: float, high: float) -> _Grid:
    """`grid` with its interior read from the untruncated grid: the points are ``mean + _FULL``, the weights those of
    the grid at mean 0 (a shifted grid's spacings differ from them in the last bits only), so that a stage's grid
    costs a few calls rather than a dozen; only the two points and three weights next to each boundary are computed.
    """
    odd_all = mean + _ODD
    lo = max(low, float(odd_all[0]))
    hi = min(high, float(odd_all[-1]))
    if hi <= lo:
        return _Grid(np.array([lo]), np.array([0.0]), slice(0, 0), slice(0, 0))
    a = int(odd_all.searchsorted(lo, "right"))
    b = int(odd_all.searchsorted(hi, "left"))
    m = b - a  # odd points strictly inside (lo, hi)
    if m < 2:
        points, weights = grid(mean, lo, hi)
        inner = slice(2, 2 * m + 1) if m else slice(0, 0)
        return _Grid(points, weights, inner, slice(2 * a, 2 * b - 1) if m else slice(0, 0))
    size = 2 * m + 3
    points = np.empty(size)
    np.add(_FULL[2 * a : 2 * b - 1], mean, out=points[2 : 2 * m + 1])
    first, last = float(points[2]), float(points[2 * m])
    points[0], points[1], points[-2], points[-1] = lo, 0.5 * (lo + first), 0.5 * (last + hi), hi
    head, tail = (first - lo) / 6.0, (hi - last) / 6.0
    weights = np.empty(size)
    weights[3 : 2 * m] = _FULL_WEIGHTS[2 * a + 1 : 2 * b - 2]
    weights[0], weights[1], weights[2] = head, 4.0 * head, head + _SIXTHS[a]
    weights[-3], weights[-2], weights[-1] = _SIXTHS[b - 2] + tail, 4.0 * tail, tail
    return _Grid(points, weights, slice(2, 2 * m + 1), slice(2 * a, 2 * b - 1))


def grid(mean: float, low: float, high: float, r: int = GRID_R) -> tuple[np.ndarray, np.ndarray]:
    """Jennison-Turnbull grid and Simpson weights on ``[low, high]`` around ``mean``.

    Points are dense within three standard deviations of ``mean`` and thin out
    logarithmically in the tails; the region is truncated to ``[low, high]``.
    """
    odd_all = mean + (_ODD if r == GRID_R else _odd_offsets(r))
    lo = max(low, float(odd_all[0]))
    hi = min(high, float(odd_all[-1]))
    if hi <= lo:
        return np.array([lo]), np.array([0.0])
    a = int(odd_all.searchsorted(lo, "right"))
    b = int(odd_all.searchsorted(hi, "left"))
    odd = np.concatenate(([lo], odd_all[a:b], [hi]))
    points = np.empty(2 * odd.size - 1)
    points[0::2] = odd
    points[1::2] = 0.5 * (odd[:-1] + odd[1:])
    h = np.diff(odd)
    weights = np.zeros_like(points)
    weights[0::2][:-1] += h / 6.0
    weights[0::2][1:] += h / 6.0
    weights[1::2] = 4.0 * h / 6.0
    return points, weights


_HALF = _FULL.size // 2 + 1
_EXP_FLOOR = -700.0
"""Exponents below this are raised to it before ``exp``: ``exp(-700)`` is 1e-304, where the true values (down to
exactly 0) are just as negligible next to any probability, and exponents near or below the underflow threshold
(about -708) make numpy's ``exp`` four to five times slower, on a third of a daily-look kernel's entries."""
_FLOOR_BLOCK = np.full((_HALF, _FULL.size), _EXP_FLOOR)
"""`_EXP_FLOOR` in the shape of half a kernel."""


def _gaussian(z: np.ndarray, floor: np.ndarray | float = _EXP_FLOOR) -> np.ndarray:
    """``exp(-z^2 / 2)`` in place, with the exponent floored at `_EXP_FLOOR`."""
    z *= z
    z *= -0.5
    np.maximum(z, floor, out=z)
    return np.exp(z, out=z)


def _interior_kernel(t: float, t_prev: float, out: np.ndarray) -> np.ndarray:
    """Transition density between the untruncated interior grids of two stages, ``phi((g_i sqrt(t) - g_j
    sqrt(t_prev)) / sqrt(t - t_prev))`` without the ``1 / sqrt(2 pi)``, for the first `_HALF` rows ``i``, written
    into ``out``. The offsets are exactly antisymmetric (``g[n-1-i] == -g[i]``), so row ``n-1-i`` is row ``i``
    reversed, bit for bit (`_KernelCache.product` reads the other rows that way).

    Both grids sit at ``theta sqrt(t)`` plus fixed offsets ``g``, so the drift cancels: the interior of the kernel
    depends on the two fractions only, whatever the drift and the boundaries. A root search integrates the same
    fractions a dozen times (calibrating a level, solving for a drift); keeping the interior (`_KernelCache`) leaves
    only the few rows and columns next to the boundaries to compute each time, which is what made daily looks over a
    year slow.
    """
    # Columns minus rows (the sign goes with the square): numpy's broadcast loop is faster along a contiguous row.
    np.subtract(
        _FULL * (np.sqrt(t_prev) / np.sqrt(t - t_prev)),
        (_FULL[:_HALF] * (np.sqrt(t) / np.sqrt(t - t_prev)))[:, None],
        out=out,
    )
    return _gaussian(out, _FLOOR_BLOCK)  # numpy's maximum is several times faster against an array than a scalar


class _KernelCache:
    """The interior kernels (`_interior_kernel`) of the stage pairs used last, the least recently used evicted first.

    Half of each kernel is kept, the other half read mirrored: a pass over a year of daily looks multiplies by some
    64 kernels in turn, which do not stay in the processor's caches, so the products are bound by memory traffic
    (52 us a product against 7 us from cache), which half-size kernels halve. A new kernel is written over the one it
    evicts: fresh memory for each (mapped and zeroed by the operating system on first touch, unmapped on eviction)
    cost more CPU than the exponentials in it. Because arrays are reused, no kernel leaves the cache: callers get the
    product they need (`product`) under a lock, so a thread never reads a kernel another thread is overwriting.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._kernels: OrderedDict[tuple[float, float], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def product(self, t: float, t_prev: float, rows: slice, cols: slice, vector: np.ndarray) -> np.ndarray:
        """``kernel(t, t_prev)[rows, cols] @ vector`` for the whole kernel (all `_FULL` rows)."""
        n, r0, r1, c0, c1 = _FULL.size, rows.start, rows.stop, cols.start, cols.stop
        key = (t, t_prev)
        with self._lock:
            kernel = self._kernels.get(key)
            if kernel is None:
                spare = self._kernels.popitem(last=False)[1] if len(self._kernels) >= self.size else None
                kernel = _interior_kernel(t, t_prev, np.empty((_HALF, n)) if spare is None else spare)
                self._kernels[key] = kernel
            else:
                self._kernels.move_to_end(key)
            # Sub-blocks of the kernel are strided views that BLAS multiplies without a copy.
            if r1 <= _HALF:
                return kernel[r0:r1, c0:c1] @ vector
            out = np.empty(r1 - r0)
            split = max(r0, _HALF)
            if r0 < split:
                out[: split - r0] = kernel[r0:split, c0:c1] @ vector
            # Rows i >= _HALF: kernel[i, j] == kernel[n-1-i, n-1-j].
            out[split - r0 :] = (kernel[n - r1 : n - split, n - c1 : n - c0] @ vector[::-1])[::-1]
            return out

    def clear(self) -> None:
        with self._lock:
            self._kernels.clear()

    def __len__(self) -> int:
        return len(self._kernels)


_KERNELS = _KernelCache(_KERNEL_CACHE)


_EDGES = 4
_EDGE_INDEX = np.array((0, 1, -2, -1))
"""A truncated grid's points off the fixed offsets: the boundary and the midpoint next to it, at each end (`inner` is
everything else)."""


def _transition(new: _Grid, old: _Grid, base: np.ndarray, t: float, t_prev: float, mass: np.ndarray) -> np.ndarray:
    """``sum_j phi((x_i sqrt(t) - base_j) / sd) mass_j`` for every new point ``x_i`` (without ``1 / sqrt(2 pi)``):
    the interior block from `_interior_kernel`, the rows and columns next to the boundaries computed directly."""
    sd = math.sqrt(t - t_prev)
    rows, cols = new.inner, old.inner
    n_new = new.points.size
    x = new.points * math.sqrt(t)
    if rows.stop - rows.start < _EDGES or cols.stop - cols.start < _EDGES:
        z = np.subtract.outer(x, base)
        z /= sd
        return _gaussian(z) @ mass
    # Every new point from the old edge points, and the new edge points from the old interior: one buffer, so that
    # scaling and exponentiating both blocks is one call each. Rows run along the grids (numpy's broadcasting loop is
    # slow along an axis of four).
    n_inner = cols.stop - cols.start
    buffer = np.empty(_EDGES * (n_new + n_inner))
    to_all = buffer[: _EDGES * n_new].reshape(_EDGES, n_new)
    to_edges = buffer[_EDGES * n_new :].reshape(_EDGES, n_inner)
    np.subtract.outer(base.take(_EDGE_INDEX), x, out=to_all)
    np.subtract.outer(x.take(_EDGE_INDEX), base[cols], out=to_edges)
    buffer /= sd
    _gaussian(buffer)
    inner_mass = mass[cols]
    out = mass.take(_EDGE_INDEX) @ to_all
    out[rows] += _KERNELS.product(t, t_prev, new.full, old.full, inner_mass)
    out[_EDGE_INDEX] += to_edges @ inner_mass
    return out


def _symmetric_transition(
    new: _Grid, old: _Grid, base: np.ndarray, t: float, t_prev: float, mass: np.ndarray
) -> np.ndarray:
    """`_transition` for a symmetric problem (no drift, boundaries ``-b`` and ``b`` at both stages, so both grids are
    exactly antisymmetric and the mass symmetric): the first half of the rows, mirrored. Half the work and half the
    kernel read, for the null-hypothesis passes (calibrating an always-valid level, group-sequential boundaries)."""
    n_new, cols = new.points.size, old.inner
    half = n_new // 2 + 1  # up to the centre point
    if half - 2 < _EDGES or cols.stop - cols.start < _EDGES:
        return _transition(new, old, base, t, t_prev, mass)
    sd = math.sqrt(t - t_prev)
    x = new.points[:half] * math.sqrt(t)
    n_inner = cols.stop - cols.start
    buffer = np.empty(_EDGES * half + 2 * n_inner)
    to_all = buffer[: _EDGES * half].reshape(_EDGES, half)
    to_edges = buffer[_EDGES * half :].reshape(2, n_inner)
    np.subtract.outer(base.take(_EDGE_INDEX), x, out=to_all)
    np.subtract.outer(x[:2], base[cols], out=to_edges)
    buffer /= sd
    _gaussian(buffer)
    inner_mass = mass[cols]
    out = np.empty(n_new)
    top = out[:half]
    np.matmul(mass.take(_EDGE_INDEX), to_all, out=top)
    start = new.full.start
    top[2:] += _KERNELS.product(t, t_prev, slice(start, start + half - 2), old.full, inner_mass)
    top[:2] += to_edges @ inner_mass
    out[half:] = out[half - 2 :: -1]
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
        # Without drift and with boundaries -b and b at every stage so far, the density is symmetric about 0.
        self._symmetric = self.theta == 0.0

    def _shift(self, t: float) -> tuple[float, float]:
        if t <= self.t_prev:
            raise ValueError(f"information fractions must increase, got {t} after {self.t_prev}")
        dt = t - self.t_prev
        return dt, self.theta * dt

    def _base(self, t: float) -> tuple[np.ndarray, float]:
        """Where the current grid's paths are centred at stage ``t`` on the score scale, and the increment's sd."""
        dt, drift = self._shift(t)
        return self.points * math.sqrt(self.t_prev) + drift, math.sqrt(dt)

    def cross(self, t: float, upper: float, lower: float) -> tuple[float, float]:
        """First-crossing probabilities ``P(Z_k >= upper, cont.)``, ``P(Z_k <= lower, cont.)``."""
        if self.points is None:
            self._shift(t)
            mean = self.theta * math.sqrt(t)
            return float(_norm_sf(upper - mean)), float(_norm_sf(mean - lower))
        base, sd = self._base(t)
        return self._tails(base, sd, t, upper, lower)

    def _tails(self, base: np.ndarray, sd: float, t: float, upper: float, lower: float) -> tuple[float, float]:
        sqrt_t = math.sqrt(t)
        if self._symmetric and lower == -upper:
            z = upper * sqrt_t - base
            z /= sd * _SQRT2
            tail = 0.5 * float(special.erfc(z, out=z) @ self.mass)
            return tail, tail
        z = np.empty((2, base.size))
        np.subtract(upper * sqrt_t, base, out=z[0])
        np.subtract(base, lower * sqrt_t, out=z[1])
        z /= sd * _SQRT2
        up, low = special.erfc(z, out=z) @ self.mass
        return 0.5 * float(up), 0.5 * float(low)

    def advance(self, t: float, upper: float, lower: float) -> None:
        """Move to stage ``t`` keeping only paths that continue (``lower < Z < upper``)."""
        if self.points is None or self._grid is None:
            self._shift(t)
            mean = self.theta * math.sqrt(t)
            layout = _layout(mean, max(lower, -_INF_BOUND), min(upper, _INF_BOUND))
            density = _norm_pdf(layout.points - mean)
            self.points, self.mass, self.t_prev, self._grid = layout.points, density * layout.weights, t, layout
            self._symmetric = self._symmetric and lower == -upper
            return
        base, sd = self._base(t)
        self._move(base, sd, t, upper, lower)

    def step(self, t: float, upper: float, lower: float) -> tuple[float, float]:
        """`cross` then `advance` to the same stage with the same boundaries, sharing their work."""
        if self.points is None:
            crossed = self.cross(t, upper, lower)
            self.advance(t, upper, lower)
            return crossed
        base, sd = self._base(t)
        crossed = self._tails(base, sd, t, upper, lower)
        self._move(base, sd, t, upper, lower)
        return crossed

    def _move(self, base: np.ndarray, sd: float, t: float, upper: float, lower: float) -> None:
        layout = _layout(self.theta * math.sqrt(t), max(lower, -_INF_BOUND), min(upper, _INF_BOUND))
        self._symmetric = self._symmetric and lower == -upper
        transition = _symmetric_transition if self._symmetric else _transition
        mass = transition(layout, self._grid, base, t, self.t_prev, self.mass)
        mass *= math.sqrt(t) / sd / _SQRT_2PI
        mass *= layout.weights  # density times Simpson weight
        self.points, self.mass, self.t_prev, self._grid = layout.points, mass, t, layout


def crossing_probabilities(
    fractions: np.ndarray, upper: np.ndarray, lower: np.ndarray, theta: float = 0.0
) -> Crossings:
    """First-crossing probabilities for given boundaries (``inf`` means no boundary)."""
    prop = Propagator(theta)
    stages = list(
        zip(
            np.asarray(fractions, dtype=float).tolist(),
            np.asarray(upper, dtype=float).tolist(),
            np.asarray(lower, dtype=float).tolist(),
            strict=True,
        )
    )
    crossed = [prop.step(t, b, a) for t, b, a in stages[:-1]]
    if stages:
        crossed.append(prop.cross(*stages[-1]))
    ups, lows = zip(*crossed, strict=True) if crossed else ((), ())
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
        if abs(step) < 1e-12:  # settled (a step below the spacing of floats would fail the bracket test below)
            return b - step
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
