"""A randomization test that may be read at every review: exact group-sequential boundaries from re-randomizations.

The fixed-horizon randomization test (`analysis.permutation`) is exact at one look. Read again at every review until
it rejects, it rejects falsely far more often than its level, just as a repeated z-test does. This test spends its
level over the reviews instead. Under the sharp null the outcome data do not depend on the assignment, so the whole
path of the statistic over the reviews can be computed for every re-randomization as well as for the observed one.
At review ``i`` the boundary ``c_i`` is the most lenient one at which no more than ``floor(spent_i (n + 1))`` of the
``n + 1`` paths (the observed one and ``n`` re-randomizations) have crossed at review ``i`` or before, where
``spent_i`` is the cumulative one-sided level spent by then. The rule is a symmetric function of the paths and the
observed assignment is exchangeable with the re-randomizations, so it crosses by review ``i`` with probability at
most ``spent_i``: exact, whatever the outcome distribution and however correlated the reviews are.

Paths whose statistic is undefined at a review (an arm emptied by chance) count as crossed there, on the safe side:
they use up level and never let the observed path cross more easily. Ties at a boundary all cross or none do.

References
----------
.. [1] Rosenberger, W. F., Lachin, J. M. (2016). Randomization in Clinical Trials, 2nd ed., ch. 6 (randomization
   tests that follow the design). Wiley.
.. [2] Lan, K. K. G., DeMets, D. L. (1983). Discrete sequential boundaries for clinical trials. Biometrika 70(3),
   659-663 (spending the level over looks).
.. [3] Phipson, B., Smyth, G. K. (2010). Permutation P-values Should Never Be Zero. Stat. Appl. Genet. Mol. Biol.
   9(1) (counting the observed assignment among the re-randomizations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

Direction = Literal["greater", "less"]

_TIE = 1e-12
"""Relative slack under which two statistics count as tied (floating-point noise between equal assignments)."""


@dataclass(frozen=True, eq=False)
class SequentialRandomizationResult:
    """Where the observed path crossed (``crossed_at``: index of the first review, None if it has not), the boundary
    on the statistic at each review (infinite, on the tested side, where no path could cross within the level) and
    the cumulative share of the ``paths`` that had crossed by each review (at most the level spent by then)."""

    crossed_at: int | None
    boundaries: np.ndarray
    crossed_share: np.ndarray
    paths: int

    @property
    def rejects(self) -> bool:
        return self.crossed_at is not None


def sequential_randomization_test(
    observed: ArrayLike, null: ArrayLike, spent: ArrayLike, direction: Direction = "greater"
) -> SequentialRandomizationResult:
    """Exact group-sequential randomization test of the observed path against re-randomized ones.

    Parameters
    ----------
    observed : array_like, shape (J,)
        The statistic at each review so far under the observed assignment (nan: undefined, never crosses).
    null : array_like, shape (n, J)
        The same statistic under each of ``n`` re-randomizations of the pilot's own assignment procedure, at the
        same reviews and on the same data.
    spent : array_like, shape (J,)
        Cumulative one-sided level spent by each review (non-decreasing, in [0, 1)), e.g. a Lan-DeMets spending
        function at the reviews' fractions of the planned duration.
    direction : {"greater", "less"}
        The side tested: large statistics (a benefit, when higher is better) or small ones.

    Returns
    -------
    SequentialRandomizationResult
    """
    obs = np.asarray(observed, dtype=float)
    draws = np.asarray(null, dtype=float)
    if obs.ndim != 1 or obs.size == 0:
        raise ValueError(f"observed must be one statistic per review, got shape {obs.shape}")
    if draws.ndim != 2 or draws.shape[1] != obs.size or draws.shape[0] < 1:
        raise ValueError(f"null must have shape (n, {obs.size}), got {draws.shape}")
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    sign = 1.0 if direction == "greater" else -1.0
    paths = sign * np.vstack([obs[None, :], draws])[None, :, :]
    crossed_at, boundaries, share = crossings(paths, np.ones(paths.shape[1]), spent)
    first = int(crossed_at[0])
    return SequentialRandomizationResult(first if first >= 0 else None, sign * boundaries[0], share[0], paths.shape[1])


def crossings(paths: np.ndarray, weights: np.ndarray, spent: ArrayLike, tie: float = _TIE) -> tuple[np.ndarray, ...]:
    """The sequential rule on many data sets at once (the plan's power simulation prices thousands of pilots).

    ``paths`` (C, N, J): per data set, the statistic at each of J reviews under N assignments, the observed one in
    row 0, the side tested upwards (negate for "less"); ``weights`` (N,): how often each assignment counts (a
    re-randomization drawn twice is computed once and weighs 2; the observed row weighs 1). Returns the index of the
    review at which the observed path first crossed (-1: never) (C,), the boundaries (C, J) and the cumulative share
    of the weight crossed by each review (C, J). ``tie``: relative difference under which two statistics tie (wider
    for statistics computed in single precision)."""
    values = np.asarray(paths, dtype=float)
    sets, _, looks = values.shape
    levels = np.asarray(spent, dtype=float)
    if levels.shape != (looks,) or not np.all((levels >= 0) & (levels < 1)) or np.any(np.diff(levels) < 0):
        raise ValueError("spent must be one non-decreasing level in [0, 1) per review")
    state = Reviews(sets, weights, tie)
    crossed_at = np.full(sets, -1)
    boundaries = np.full((sets, looks), np.inf)
    share = np.zeros((sets, looks))
    for i in range(looks):
        hit, boundaries[:, i] = state.review(values[:, :, i], levels[i])
        crossed_at[(crossed_at < 0) & hit] = i
        share[:, i] = state.crossed / state.total
    return crossed_at, boundaries, share


class Reviews:
    """The rule's state over reviews for ``sets`` data sets: which assignments' paths have not crossed yet (alive)
    and the weight that has. `review` reads the next review; `keep` drops data sets no longer needed (the plan's
    simulation stops following a pilot once its observed path has crossed)."""

    def __init__(self, sets: int, weights: ArrayLike, tie: float = _TIE) -> None:
        w = np.asarray(weights, dtype=float)
        if w.ndim != 1 or w.size < 2 or np.any(w < 1) or w[0] != 1.0:
            raise ValueError("weights must be one weight of at least 1 per assignment, the observed one 1")
        self.weights, self.tie, self.total = w, tie, float(w.sum())
        self.alive = np.ones((sets, w.size), dtype=bool)
        self.crossed = np.zeros(sets)

    def keep(self, rows: np.ndarray) -> None:
        self.alive, self.crossed = self.alive[rows], self.crossed[rows]

    def review(self, values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Read one review: ``values`` (sets, N), the statistic under each assignment (row 0 observed; nan:
        undefined) and ``level``, the cumulative level spent by it. Returns whether the observed path crossed here
        and the boundary (inf where none fits)."""
        w, n = self.weights, self.weights.size
        values = np.asarray(values)
        values = values if values.dtype in (np.float32, np.float64) else values.astype(float)  # single precision stays
        observed_defined = ~np.isnan(values[:, 0])
        undefined = np.isnan(values)
        if undefined.any():
            values = np.where(undefined, np.inf, values)  # undefined: most extreme, uses up level first
        budget = np.floor(level * self.total + 1e-9) - self.crossed
        sets = values.shape[0]
        bound = np.full(sets, np.inf)
        most = int(budget.max(initial=0.0))
        if most < 1:
            return np.zeros(sets, dtype=bool), bound
        v = np.where(self.alive, values, values.dtype.type(-np.inf))
        # Every weight is at least 1, so whatever fits in the budget is among the `most` + 1 largest values; one more
        # shows whether the last of them ties the next.
        k = min(n, most + 2)
        top = np.argpartition(-v, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), v.shape)
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(v, top, axis=1), axis=1, kind="stable"), axis=1)
        ranked = np.take_along_axis(v, top, axis=1)
        mass = np.cumsum(np.where(ranked > -np.inf, w[top], 0.0), axis=1)
        gap = np.empty_like(ranked)
        with np.errstate(invalid="ignore"):
            gap[:, :-1] = ranked[:, :-1] - ranked[:, 1:]
        gap[np.isnan(gap)] = 0.0  # two undefined (infinite) statistics tie
        gap[:, -1] = np.inf if k == n else 0.0  # past the k largest: never a boundary (its mass exceeds the budget)
        slack = self.tie * np.maximum(1.0, np.abs(np.where(np.isfinite(ranked), ranked, 0.0)))
        # A boundary sits below a position when everything from the top to it fits in the budget and the next value
        # is strictly lower (ties all cross or none do); the most lenient such boundary is the last one.
        fits = (mass <= budget[:, None] + 1e-9) & ~(gap <= slack) & (ranked > -np.inf)
        found = fits.any(axis=1)
        last = k - 1 - np.argmax(fits[:, ::-1], axis=1)
        bound = np.where(found, ranked[np.arange(sets), last], np.inf)
        low = bound - self.tie * np.maximum(1.0, np.abs(np.where(np.isfinite(bound), bound, 0.0)))
        hit = self.alive & (values >= low[:, None]) & found[:, None]
        self.crossed += hit.astype(float) @ w
        self.alive &= ~hit
        return hit[:, 0] & observed_defined, bound


__all__ = ["Reviews", "SequentialRandomizationResult", "crossings", "sequential_randomization_test"]
