"""What a pilot with few randomized units can promise: power of the procedure the results engine actually runs.

With team randomization or a handful of units, the engine (METHODS.md sections 1 and 4) does three things normal
theory ignores:

1. every boundary, always-valid or group-sequential, is t-corrected with the look's Welch-Satterthwaite degrees of
   freedom (at most ``K - 2`` for ``K`` units, often far fewer: 4 against 4 teams give a median of about 4);
2. a crossing counts only once the exact randomization test of the same comparison has also crossed in the same
   direction, read at the reviews with the design's one-sided alpha spent over them
   (`analysis.sequential_randomization`, the small-sample safeguard);
3. that test replays the pilot's own assignment procedure, so it can only reach the significance its distinct
   re-randomizations allow. With 8 teams in permuted blocks the observed assignment and its mirror image often carry
   more than 5% of the procedure's probability: then no outcome, however extreme, can confirm a crossing.

`randomization_floor` gives that smallest attainable p-value per assignment. `procedure_power` simulates the whole
procedure on unit-level data built from the planned variance curve (a between-unit part that more audits do not
shrink plus a within-unit part that falls like ``1 / audits``, nested over looks): Welch t and df at every look,
the design's boundaries t-corrected, the first crossing sticky, and the sequential randomization test against the
pilot's own re-randomizations at the reviews. `detectable_effect` solves it for the promised power with common random
numbers, and the largest power any effect can reach is the share of assignments whose floor lets the test reject.

References
----------
.. [1] Rosenberger, W. F., Lachin, J. M. (2016). Randomization in Clinical Trials, 2nd ed., ch. 6. Wiley.
.. [2] Phipson, B., Smyth, G. K. (2010). Permutation P-values Should Never Be Zero. Stat. Appl. Genet. Mol. Biol. 9(1).
.. [3] Welch, B. L. (1947). The generalization of "Student's" problem when several different population variances
   are involved. Biometrika 34, 28-35.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from analysis.sequential_randomization import Reviews
from analysis.spending import pocock

CONTROL, TREATMENT = 0, 1
"""Arm codes of the label arrays; any other code is an arm outside the comparison."""

Thresholds = Callable[[np.ndarray], np.ndarray]
"""Two-sided z boundary at each look as a function of the observed variance of the difference, shape (paths, looks)."""


def randomization_floor(observed: np.ndarray, null: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Smallest two-sided p-value the randomization test can give each ``observed`` assignment.

    The test's two-sided statistic takes the same absolute value on the observed assignment and on its mirror image
    (control and treatment swapped), whatever the outcomes, so at best every other re-randomization is less extreme.

    Parameters
    ----------
    observed : array_like, shape (P, K) or (K,)
        Arm codes (`CONTROL`, `TREATMENT`, other) of each assignment to price.
    null : array_like, shape (D, K)
        The re-randomizations the test compares against.
    weights : array_like, shape (D,), optional
        Probabilities of the ``null`` rows when they enumerate the procedure's distinct assignments exactly: the
        floor is then their share ``P(a) + P(mirror a)``. Without weights the rows are Monte Carlo draws and the
        floor is the engine's ``(1 + #{draws equal to a or its mirror}) / (D + 1)``.

    Returns
    -------
    numpy.ndarray, shape (P,)
    """
    obs = np.atleast_2d(np.asarray(observed))
    draws = np.asarray(null)
    if draws.ndim != 2 or obs.shape[1] != draws.shape[1]:
        raise ValueError(f"observed and null must have the same number of units, got {obs.shape} and {draws.shape}")
    if weights is None:
        w = np.ones(draws.shape[0])
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (draws.shape[0],) or np.any(w < 0) or not math.isclose(w.sum(), 1.0, rel_tol=1e-9):
            raise ValueError("weights must be one probability per null row, summing to 1")
    mass: dict[bytes, float] = {}
    for row, weight in zip(_codes(draws), w, strict=True):
        mass[row.tobytes()] = mass.get(row.tobytes(), 0.0) + float(weight)
    codes = _codes(obs)
    swapped = np.where(codes == CONTROL, TREATMENT, np.where(codes == TREATMENT, CONTROL, codes))
    hits = np.array(
        [
            mass.get(a.tobytes(), 0.0) + (mass.get(b.tobytes(), 0.0) if not np.array_equal(a, b) else 0.0)
            for a, b in zip(codes, swapped, strict=True)
        ]
    )
    if weights is not None:
        return hits
    return (1.0 + hits) / (draws.shape[0] + 1.0)


def _codes(labels: np.ndarray) -> np.ndarray:
    """Arm codes with every arm outside the comparison folded into one code (they do not enter the statistic)."""
    labels = np.asarray(labels)
    return np.where((labels == CONTROL) | (labels == TREATMENT), labels, 2).astype(np.int8)


@dataclass(frozen=True)
class ProcedureDesign:
    """The monitoring procedure of one comparison, as planned.

    ``look_days`` are the planned looks (0-based pilot days) and ``look_variance`` the planned variance of the
    difference at each, for arms of ``planned_sizes`` (control, treatment) units. ``reviews`` marks the looks at which
    the verdict is read and the randomization test must agree (a crossing at an earlier look is kept until then).
    ``thresholds`` maps the observed variance to the design's z boundary. ``alpha`` is the two-sided level per
    comparison the randomization test spends over the reviews. ``randomization_variance`` is the planned variance of
    the raw difference the randomization test reads (None: the same as ``look_variance``, no pre-period adjustment).
    ``confirmation_levels`` is the cumulative one-sided level the randomization test has spent by each look (read
    at the reviews; None: Pocock-type spending of ``alpha / 2`` at each look's share of the planned days).
    """

    look_days: np.ndarray
    look_variance: np.ndarray
    planned_sizes: tuple[int, int]
    reviews: np.ndarray
    thresholds: Thresholds
    alpha: float
    randomization_variance: np.ndarray | None = None
    confirmation_levels: np.ndarray | None = None

    def __post_init__(self) -> None:
        days, var = np.asarray(self.look_days), np.asarray(self.look_variance, dtype=float)
        if days.ndim != 1 or days.size == 0 or var.shape != days.shape or np.any(np.diff(days) <= 0):
            raise ValueError("look_days must be increasing and look_variance one value per look")
        if not (np.all(np.isfinite(var)) and np.all(var > 0)):
            raise ValueError("look_variance must be positive and finite")
        if np.asarray(self.reviews).shape != days.shape or not np.asarray(self.reviews).any():
            raise ValueError("reviews must mark at least one look")
        if min(self.planned_sizes) < 2:
            raise ValueError(f"planned_sizes need at least 2 units per arm, got {self.planned_sizes}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.randomization_variance is not None and np.asarray(self.randomization_variance).shape != days.shape:
            raise ValueError("randomization_variance must be one value per look")
        levels = self.confirmation_levels
        if levels is not None and (
            np.asarray(levels).shape != days.shape or np.any(np.diff(levels) < 0) or np.any(np.asarray(levels) < 0)
        ):
            raise ValueError("confirmation_levels must be one non-decreasing level per look")

    def review_levels(self) -> np.ndarray:
        """Cumulative one-sided level of the randomization test spent by each review."""
        days = np.asarray(self.look_days, dtype=float)
        if self.confirmation_levels is None:
            levels = pocock((days + 1.0) / (days[-1] + 1.0), self.alpha / 2.0)
        else:
            levels = np.asarray(self.confirmation_levels, dtype=float)
        return levels[np.asarray(self.reviews, dtype=bool)]

    def covariate_scale(self) -> np.ndarray:
        """Per look, the sd of a unit's fixed pre-period part that the crossing's (CUPED-adjusted) estimate removes
        and the randomization test's raw difference keeps: ``sqrt((V_raw - V) / (1/n_c + 1/n_t))``."""
        if self.randomization_variance is None:
            return np.zeros(np.asarray(self.look_days).size)
        n_c, n_t = self.planned_sizes
        extra = np.asarray(self.randomization_variance, dtype=float) - np.asarray(self.look_variance, dtype=float)
        return np.sqrt(np.maximum(extra, 0.0) / (1.0 / n_c + 1.0 / n_t))

    def unit_variances(self) -> tuple[float, np.ndarray]:
        """A unit's between part and its within part at each look, from the planned variance of the difference.

        ``V_j / (1/n_c + 1/n_t)`` is a unit's variance at look ``j``; a least-squares fit of ``A + B / (day + 1)``
        separates the part more audits do not shrink (``A``, clipped to the range the plan allows) from the rest,
        which is made non-increasing so that later looks average more audits."""
        n_c, n_t = self.planned_sizes
        unit = np.asarray(self.look_variance, dtype=float) / (1.0 / n_c + 1.0 / n_t)
        inverse = 1.0 / (np.asarray(self.look_days, dtype=float) + 1.0)
        if unit.size > 1 and np.ptp(inverse) > 0:
            slope, intercept = np.polyfit(inverse, unit, 1)
            between = float(np.clip(intercept if slope > 0 else unit[-1], 0.0, unit[-1]))
        else:
            between = 0.0
        within = np.minimum.accumulate(np.maximum(unit - between, 0.0))
        return between, within


@dataclass(frozen=True)
class ProcedurePower:
    """Simulated operating characteristics at one effect: ``power`` (a confirmed crossing in the effect's direction
    at a review), ``crossing`` (the sequential boundary alone), ``ceiling`` (share of paths whose assignment lets the
    randomization test reach alpha at all: no effect can do better) and the Monte Carlo standard error of ``power``."""

    effect: float
    power: float
    crossing: float
    ceiling: float
    paths: int

    @property
    def mc_se(self) -> float:
        return math.sqrt(max(self.power * (1.0 - self.power), 1e-12) / self.paths)


@dataclass(frozen=True, eq=False)
class _Draws:
    """The common random numbers of one simulation: unit deviations at every look and the assignments."""

    deviations: np.ndarray  # (P, J, K)
    covariate: np.ndarray  # (P, K) standard normal: the part of a unit's raw outcome the adjustment removes
    observed: np.ndarray  # (P, K) arm codes
    null: np.ndarray  # (D, K) arm codes
    floor: np.ndarray  # (P,)
    difference: np.ndarray  # (P, J) difference of the arms' mean deviations (the estimate under no effect)
    se: np.ndarray  # (P, J) Welch standard error: a common shift of the treated units leaves it unchanged
    bound: np.ndarray  # (P, J) the design's boundary on the t scale, t-corrected with each look's Welch df
    null_treated: np.ndarray  # (U, K) 0/1 treatment masks of the distinct re-randomizations
    null_control: np.ndarray  # (U, K) 0/1 control masks of the same
    null_weights: np.ndarray  # (1 + U,) the observed assignment's weight 1, then how often each was drawn


def _draws(design: ProcedureDesign, observed: np.ndarray, null: np.ndarray, seed: int) -> _Draws:
    rng = np.random.default_rng(seed)
    obs = np.asarray(observed)
    paths, units = obs.shape
    between, within = design.unit_variances()
    looks = within.size
    # Nested means: the within-unit error at look j is the error of the last look plus independent pieces for the
    # audits not yet made, so cov(e_j, e_k) = within[max(j, k)].
    steps = np.sqrt(np.diff(within[::-1], prepend=0.0))[::-1]  # steps[j]: sd of what look j adds over look j + 1
    pieces = rng.standard_normal((paths, looks, units)) * steps[None, :, None]
    errors = np.cumsum(pieces[:, ::-1, :], axis=1)[:, ::-1, :]
    deviations = errors + math.sqrt(between) * rng.standard_normal((paths, 1, units))
    covariate = rng.standard_normal((paths, units))
    treated, control = obs == TREATMENT, obs == CONTROL
    t, var, df = _welch(deviations, treated[:, None, :], control[:, None, :])
    se = np.sqrt(var)
    with np.errstate(invalid="ignore"):
        bound = stats.t.isf(stats.norm.sf(design.thresholds(var)), df)
    # Each distinct re-randomization is computed once and counted as often as it was drawn, at every effect tried.
    distinct, counts = np.unique(_codes(null), axis=0, return_counts=True)
    return _Draws(
        deviations,
        covariate,
        obs,
        np.asarray(null),
        randomization_floor(obs, null),
        t * se,
        se,
        bound,
        (distinct == TREATMENT).astype(float),
        (distinct == CONTROL).astype(float),
        np.concatenate([[1.0], counts.astype(float)]),
    )


def _welch(values: np.ndarray, treated: np.ndarray, control: np.ndarray) -> tuple[np.ndarray, ...]:
    """Welch t, its variance of the difference and df over the last axis of ``values`` for 0/1 arm masks that
    broadcast against it (the delta-method ratio variance of `analysis.ratio` for equally audited units)."""
    n_t, n_c = treated.sum(axis=-1), control.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # an arm with fewer than two units: nan, never crosses
        m_t = (values * treated).sum(axis=-1) / n_t
        m_c = (values * control).sum(axis=-1) / n_c
        v_t = (((values - m_t[..., None]) ** 2) * treated).sum(axis=-1) / ((n_t - 1) * n_t)
        v_c = (((values - m_c[..., None]) ** 2) * control).sum(axis=-1) / ((n_c - 1) * n_c)
        var = v_t + v_c
        df = var**2 / (v_t**2 / (n_t - 1) + v_c**2 / (n_c - 1))
        t = (m_t - m_c) / np.sqrt(var)
    return t, var, df


def _welch_null(y: np.ndarray, treated: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Welch t of every path's unit values ``y`` (C, K) under every re-randomization (D, K masks): (C, D)."""
    # Shift-invariant: centring keeps the sums of squares well conditioned, enough for single precision (the test
    # compares against a p-value threshold, far coarser than float32's resolution of t).
    y = (y - y.mean(axis=1, keepdims=True)).astype(np.float32)
    treated, control = treated.astype(np.float32), control.astype(np.float32)
    n_t, n_c = treated.sum(axis=1), control.sum(axis=1)
    y2 = y * y
    # The same operations in the same order as ``(s_t / n_t - s_c / n_c) / sqrt(v_t + v_c)`` written out, in place:
    # the (C, D) temporaries dominate the time, not the products over the few units.
    s_t, s_c = y @ treated.T, y @ control.T
    v_t, v_c = y2 @ treated.T, y2 @ control.T
    scratch = np.empty_like(s_t)
    for v, s, n in ((v_t, s_t, n_t), (v_c, s_c, n_c)):
        np.square(s, out=scratch)
        np.divide(scratch, n, out=scratch)
        np.subtract(v, scratch, out=v)
        np.maximum(v, np.float32(0.0), out=v)
        np.divide(v, (n - 1) * n, out=v)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.add(v_t, v_c, out=v_t)
        np.sqrt(v_t, out=v_t)
        np.divide(s_t, n_t, out=s_t)
        np.divide(s_c, n_c, out=s_c)
        np.subtract(s_t, s_c, out=s_t)
        np.divide(s_t, v_t, out=s_t)
    return s_t


NULL_PRODUCT = 2_000_000
"""Multiply-adds per matrix product of the randomization test (paths x units x re-randomizations): about 100 paths
of 20 teams a block, which amortizes numpy's per-call cost over the sequential test's review-by-review reading (the
20-team plan took 2.5 s of CPU with blocks ten times smaller, 1.1-1.5 s with these). The server, the `pilotlab`
command and the benches hold BLAS to one thread (`pilots.blas_threads`), so these products do not spread their
threads over cores other requests need; the numbers are the same at any block size."""


def _confirmed(
    design: ProcedureDesign, draws: _Draws, effect: float, candidates: np.ndarray, treated: np.ndarray
) -> np.ndarray:
    """Whether the sequential randomization test (`analysis.sequential_randomization`) crosses in the effect's
    direction at some review, for each path in ``candidates``: the observed assignment's Welch t and every distinct
    re-randomization's at each review, weighted by how often it was drawn. A path is followed review by review only
    until its observed statistic crosses; the null statistics come in blocks of paths sized by `NULL_PRODUCT`."""
    null_t, null_c = draws.null_treated, draws.null_control
    control = draws.observed == CONTROL
    covariate_scale = design.covariate_scale()
    sign = math.copysign(1.0, effect)
    state = Reviews(candidates.size, draws.null_weights, tie=1e-5)  # float32 null statistics
    active = np.arange(candidates.size)  # positions in `candidates` still followed
    out = np.zeros(candidates.size, dtype=bool)
    chunk = max(1, NULL_PRODUCT // (null_t.shape[0] * null_t.shape[1]))
    for j, level in zip(np.flatnonzero(np.asarray(design.reviews)), design.review_levels(), strict=True):
        rows = candidates[active]
        values = np.empty((rows.size, 1 + null_t.shape[0]), dtype=np.float32)
        for start in range(0, rows.size, chunk):
            block = rows[start : start + chunk]
            raw = draws.deviations[block, j, :] + effect * treated[block]
            raw = raw + covariate_scale[j] * draws.covariate[block]
            values[start : start + chunk, 0] = _welch(raw, treated[block], control[block])[0]
            values[start : start + chunk, 1:] = _welch_null(raw, null_t, null_c)
        if sign < 0:
            np.negative(values, out=values)
        hit, _ = state.review(values, level)
        out[active[hit]] = True
        state.keep(~hit)
        active = active[~hit]
        if active.size == 0:
            break
    return out


def _simulate(design: ProcedureDesign, draws: _Draws, effect: float) -> ProcedurePower:
    treated = draws.observed == TREATMENT
    # Shifting every treated unit by the effect moves the estimate and leaves the spreads, the Welch df and so the
    # boundaries as they are: only t is recomputed per effect.
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (draws.difference + effect) / draws.se
    crossed = np.abs(t) >= draws.bound
    first = np.where(crossed.any(axis=1), np.argmax(crossed, axis=1), -1)
    rows = np.arange(t.shape[0])
    up = (first >= 0) & (np.sign(t[rows, np.maximum(first, 0)]) == math.copysign(1.0, effect))
    # The last look is a review, so a crossing is read at some review; it is confirmed once the randomization test
    # has crossed in the same direction at a review (before or after), as the engine's verdict reads them.
    confirmed = np.zeros(t.shape[0], dtype=bool)
    candidates = np.flatnonzero(up & (draws.floor <= design.alpha))
    if candidates.size:
        confirmed[candidates] = _confirmed(design, draws, effect, candidates, treated)
    paths = t.shape[0]
    return ProcedurePower(
        effect=effect,
        power=float(confirmed.mean()),
        crossing=float(up.mean()),
        ceiling=float((draws.floor <= design.alpha).mean()),
        paths=paths,
    )


def procedure_power(
    design: ProcedureDesign, effect: float, observed: np.ndarray, null: np.ndarray, seed: int = 0
) -> ProcedurePower:
    """Simulated power of the engine's procedure at a true difference ``effect`` (metric scale, treatment minus
    control; its sign is the direction that counts).

    Parameters
    ----------
    design : ProcedureDesign
    effect : float
    observed : array_like, shape (P, K)
        One assignment per simulated pilot, drawn from the pilot's own procedure (arm codes).
    null : array_like, shape (D, K)
        The randomization test's re-randomizations (the engine replays 999 draws of the procedure).
    seed : int
        Seed of the unit-level noise; the plan is reproducible.
    """
    if not math.isfinite(effect):
        raise ValueError(f"effect must be finite, got {effect}")
    return _simulate(design, _draws(design, observed, null, seed), effect)


@dataclass(frozen=True)
class SmallSamplePromise:
    """What the plan can promise: ``detectable_effect`` at ``power`` (None when no effect reaches it), the largest
    power any effect can reach (``ceiling``), and the simulated operating characteristics at the detectable effect
    (or at the largest effect tried) and at the effect asked for as ``also_at`` (None when none was asked)."""

    power: float
    detectable_effect: float | None
    ceiling: float
    at_effect: ProcedurePower
    also_at: ProcedurePower | None = None


def detectable_effect(
    design: ProcedureDesign,
    power: float,
    observed: np.ndarray,
    null: np.ndarray,
    *,
    scale: float,
    seed: int = 0,
    tolerance: float = 0.01,
    also_at: float | None = None,
) -> SmallSamplePromise:
    """The smallest positive effect whose simulated power reaches ``power`` (common random numbers, bisection to
    ``tolerance`` times ``scale``), or None when the randomization test's attainable significance caps the power
    below it. ``scale`` is the planned standard deviation of the difference at the end (sets the search range).
    ``also_at``: an effect whose power to report as well, from the same draws (what `procedure_power` gives with the
    same seed, without drawing them again)."""
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive, got {scale}")
    if also_at is not None and not math.isfinite(also_at):
        raise ValueError(f"also_at must be finite, got {also_at}")
    draws = _draws(design, observed, null, seed)
    simulated: dict[float, ProcedurePower] = {}

    def at(effect: float) -> ProcedurePower:  # bisection returns the midpoint it evaluated last: computed once
        if effect not in simulated:
            simulated[effect] = _simulate(design, draws, effect)
        return simulated[effect]

    other = at(also_at) if also_at is not None else None
    ceiling = float((draws.floor <= design.alpha).mean())
    high = 4.0 * scale
    at_high = at(high)
    while at_high.power < power and high < 256.0 * scale:
        high *= 2.0
        at_high = at(high)
    if at_high.power < power:
        return SmallSamplePromise(power, None, max(ceiling, 0.0), at_high, other)

    def short(effect: float) -> float:
        return at(effect).power - power + 1e-9

    effect = float(optimize.bisect(short, 1e-6 * scale, high, xtol=tolerance * scale))
    return SmallSamplePromise(power, effect, ceiling, at(effect), other)


__all__ = [
    "CONTROL",
    "TREATMENT",
    "ProcedureDesign",
    "ProcedurePower",
    "SmallSamplePromise",
    "detectable_effect",
    "procedure_power",
    "randomization_floor",
]
