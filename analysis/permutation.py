"""Randomization test of a ratio-metric difference that replays the actual assignment procedure.

With few clusters (team randomization, tens of units) t approximations are shaky. Under the sharp
null of no effect on any unit, the outcomes are fixed and only the assignment is random, so
re-running the *same* procedure that assigned the units (stratified permuted blocks, with fresh
seeds) yields the exact null distribution of any statistic, whatever the outcome distribution.
The procedure is passed in as a callable so this module stays pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from analysis import reasons
from analysis.ratio import _RELATIVE_ZERO, RatioStats, compare

Alternative = Literal["two-sided", "greater", "less"]
Statistic = Literal["difference", "t"]


@dataclass(frozen=True, eq=False)
class PermutationResult:
    """Observed statistic, Monte-Carlo randomization p-value and its standard error.

    ``p_value = (1 + #{T* as or more extreme than T}) / (n_resamples + 1)``, which is a valid
    (never anti-conservative) p-value for Monte-Carlo resampling. ``mc_se`` is the binomial standard
    error ``sqrt(p (1 - p) / n_resamples)`` of the resampling noise. ``reason`` is set when the
    observed statistic is undefined (then ``p_value`` is nan).
    """

    statistic: float
    p_value: float
    n_resamples: int
    mc_se: float
    null_distribution: np.ndarray
    alternative: str
    reason: str | None = None


def randomization_test(
    y: ArrayLike,
    x: ArrayLike,
    arms: ArrayLike,
    reassign: Callable[[np.random.Generator], np.ndarray],
    *,
    control: object,
    treatment: object,
    n_resamples: int = 999,
    seed: int | None = None,
    alternative: Alternative = "two-sided",
    statistic: Statistic = "difference",
) -> PermutationResult:
    """Randomization p-value for ``R_treatment - R_control`` under the sharp null.

    Parameters
    ----------
    y, x : array_like, shape (K,)
        Per-unit outcome sums and audit counts (all K randomized units, including other arms).
    arms : array_like, shape (K,)
        The observed arm label of each unit.
    reassign : callable
        ``reassign(rng) -> labels`` re-runs the real assignment procedure with randomness from
        ``rng`` and returns K labels in the same unit order.
    control, treatment : label
        The two arms compared; units in other arms are ignored for the statistic.
    n_resamples : int
        Number of re-randomizations.
    seed : int, optional
        Seed of the generator passed to ``reassign`` (reproducible results).
    alternative : {"two-sided", "greater", "less"}
        Two-sided compares ``|T*| >= |T|``; "greater" tests a positive effect.
    statistic : {"difference", "t"}
        The raw difference in ratios, or its Welch t statistic (studentized; better when arms
        differ in size or spread).

    References
    ----------
    .. [1] Phipson, B., Smyth, G. K. (2010). Permutation P-values Should Never Be Zero: Calculating
       Exact P-values When Permutations Are Randomly Drawn. Stat. Appl. Genet. Mol. Biol. 9(1).
    .. [2] Rosenberger, W. F., Lachin, J. M. (2016). Randomization in Clinical Trials, 2nd ed.,
       ch. 6 (randomization tests that follow the design). Wiley.
    """
    y_a, x_a, labels = _randomization_iv(y, x, arms, reassign, control, treatment, n_resamples)
    _choice_iv("alternative", alternative, ("two-sided", "greater", "less"))
    _choice_iv("statistic", statistic, ("difference", "t"))
    stat = _statistic_fn(y_a, x_a, control, treatment, statistic)
    observed = stat(labels)
    if math.isnan(observed):
        return PermutationResult(observed, math.nan, n_resamples, math.nan, np.empty(0), alternative, reasons.EMPTY_ARM)
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_resamples):
        new = np.asarray(reassign(rng))
        if new.shape != labels.shape:
            raise ValueError(f"reassign must return {labels.shape[0]} labels, got {new.shape}")
        rows.append(new)
    draws = np.array(rows)  # the widest label type of all draws (a draw may name an arm the observed one lacks)
    if statistic == "t":
        # All re-randomizations at once; the observed labels go through the same arithmetic, so a re-run that
        # reproduces them ties exactly. Degenerate draws (an arm with fewer than two audited units, zero variance)
        # take the scalar path, which is `analysis.ratio.compare` itself.
        batch = _welch_t_batch(y_a, x_a, np.vstack([labels[None, :], draws]), control, treatment, stat)
        p = _p_value(float(batch[0]), batch[1:], alternative)
        null = batch[1:]
    else:
        null = np.array([stat(row) for row in draws])
        p = _p_value(observed, null, alternative)
    mc_se = math.sqrt(p * (1 - p) / n_resamples)
    return PermutationResult(observed, p, n_resamples, mc_se, null, alternative)


def welch_t_statistics(y: ArrayLike, x: ArrayLike, labels: ArrayLike, *, control: object, treatment: object):
    """The Welch t statistic of ``R_treatment - R_control`` (`analysis.ratio.compare`) under every row of ``labels``.

    Parameters
    ----------
    y, x : array_like, shape (K,)
        Per-unit outcome sums and audit counts.
    labels : array_like, shape (R, K)
        Arm labels of the K units under each of R assignments (the observed one and re-randomizations).
    control, treatment : label
        The two arms compared.

    Returns
    -------
    numpy.ndarray, shape (R,)
        nan where an arm has no audited unit.
    """
    rows = np.atleast_2d(np.asarray(labels))
    y_a, x_a, _ = _units_iv(y, x, rows[0], control, treatment)
    stat = _statistic_fn(y_a, x_a, control, treatment, "t")
    return _welch_t_batch(y_a, x_a, rows, control, treatment, stat)


def _p_value(observed: float, null: np.ndarray, alternative: str) -> float:
    # Relative slack so that ties broken by floating-point noise count as ties (as scipy does).
    eps = 1e-14 * max(1.0, abs(observed))
    finite = null[~np.isnan(null)]
    if alternative == "greater":
        extreme = np.sum(finite >= observed - eps)
    elif alternative == "less":
        extreme = np.sum(finite <= observed + eps)
    else:
        extreme = np.sum(np.abs(finite) >= abs(observed) - eps)
    # Resamples whose statistic is undefined (an arm emptied by chance) count as extreme: safe side.
    extreme += len(null) - len(finite)
    return float((extreme + 1) / (len(null) + 1))


def _statistic_fn(
    y: np.ndarray, x: np.ndarray, control: object, treatment: object, kind: str
) -> Callable[[np.ndarray], float]:
    def difference(labels: np.ndarray) -> float:
        c, t = labels == control, labels == treatment
        sx_c, sx_t = x[c].sum(), x[t].sum()
        if sx_c == 0 or sx_t == 0:
            return math.nan
        return float(y[t].sum() / sx_t - y[c].sum() / sx_c)

    def welch_t(labels: np.ndarray) -> float:
        c, t = labels == control, labels == treatment
        d = compare(RatioStats.from_units(y[c], x[c]), RatioStats.from_units(y[t], x[t]))
        return d.statistic

    return difference if kind == "difference" else welch_t


def _welch_t_batch(
    y: np.ndarray, x: np.ndarray, draws: np.ndarray, control: object, treatment: object, scalar
) -> np.ndarray:
    """The Welch t statistic of `analysis.ratio.compare` for every row of label ``draws``: per arm the sufficient
    statistics of `RatioStats.from_units` (units with audits), the delta-method variance and ``difference / se``."""
    keep = x > 0
    y2, x2, xy = y * y, x * x, x * y

    def arm(label: object) -> tuple[np.ndarray, ...]:
        m = ((draws == label) & keep).astype(float)
        n = m.sum(axis=1)
        sy, sx = m @ y, m @ x
        with np.errstate(divide="ignore", invalid="ignore"):
            r = sy / sx
            scale = m @ y2 + r * r * (m @ x2)
            ss = m @ y2 - 2.0 * r * (m @ xy) + r * r * (m @ x2)
            ss = np.where(ss <= _RELATIVE_ZERO * scale, 0.0, ss)
            var = n * ss / ((n - 1) * sx**2)
        return n, sx, r, var

    n_c, sx_c, r_c, v_c = arm(control)
    n_t, sx_t, r_t, v_t = arm(treatment)
    var = v_c + v_t
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (r_t - r_c) / np.sqrt(var)
    odd = (n_c < 2) | (n_t < 2) | (sx_c == 0) | (sx_t == 0) | ~(var > 0) | ~np.isfinite(out)
    for k in np.flatnonzero(odd):
        out[k] = scalar(draws[k])
    return out


def _choice_iv(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _units_iv(y, x, arms, control, treatment):
    """The per-unit sums and one assignment's labels, checked (`randomization_test`, `welch_t_statistics`)."""
    y_a, x_a = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    labels = np.asarray(arms)
    if y_a.ndim != 1 or x_a.shape != y_a.shape or labels.shape != y_a.shape:
        raise ValueError("y, x and arms must be one-dimensional and of equal length")
    if not (np.all(np.isfinite(y_a)) and np.all(np.isfinite(x_a))) or np.any(x_a < 0):
        raise ValueError("y must be finite and x finite and non-negative")
    if control == treatment:
        raise ValueError(f"control and treatment must differ, got {control!r} twice")
    return y_a, x_a, labels


def _randomization_iv(y, x, arms, reassign, control, treatment, n_resamples):
    y_a, x_a, labels = _units_iv(y, x, arms, control, treatment)
    if not callable(reassign):
        raise ValueError("reassign must be callable as reassign(rng) -> labels")
    if not (isinstance(n_resamples, int) and n_resamples >= 1):
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples}")
    return y_a, x_a, labels
