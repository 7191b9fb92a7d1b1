"""QA auditors as a source of bias: allocation balance, leniency, and an auditor x arm interaction (blinding).

Every outcome is a grade given by an auditor, and auditors differ in leniency. Three questions, all answered with the
moderator (or team) as the unit, because audits are clustered within moderators and auditors are often tied to sites:

* **Were the arms audited by the same auditors?** The arm x auditor table of audit counts is compared across arms by
  Pearson's chi-square statistic, with auditors too small to matter pooled. Its null distribution is not the textbook
  chi-square (a moderator's audits share auditors, so counts are over-dispersed): it comes from re-randomizing the
  arm labels of units within their strata, and the p-value from a chi-square matched to the permutation mean and
  variance (Satterthwaite), so even p-values near the 0.001 bar are resolved by a few hundred permutations.
* **How lenient is each auditor?** A two-way fixed-effects model of the grade on (unit x period) and auditor, fitted
  to cell sums by alternating weighted means (the backfitting solution of the normal equations). Unit effects absorb
  the treatment, so leniency is learnt from moderators graded by several auditors, in the pilot and its pre-period.
* **Do auditors grade the arms differently from one another?** Each auditor's own treatment-minus-control difference
  (a per-unit ratio on that auditor's audits, delta-method variance) and Cochran's Q across auditors: differences
  that vary beyond chance mean some auditors treat one arm differently, e.g. because they know who uses the new
  tool. A shift shared by every auditor is indistinguishable from a real effect without blinded double audits.

References
----------
.. [1] Abadie, A., Athey, S., Imbens, G. W., Wooldridge, J. M. (2023). When Should You Adjust Standard Errors for
   Clustering? QJE 138(1), 1-35 (design-based inference with the randomized unit).
.. [2] Satterthwaite, F. E. (1946). An Approximate Distribution of Estimates of Variance Components.
.. [3] Abowd, J. M., Kramarz, F., Margolis, D. N. (1999). High Wage Workers and High Wage Firms. Econometrica 67(2)
   (two-way fixed effects on connected sets, solved by iteration).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis import reasons
from analysis.checks import SRM_THRESHOLD, CheckResult
from analysis.ratio import Difference, RatioStats, compare
from analysis.segments import Heterogeneity, cochran_q

MIN_EXPECTED = 5.0
PERMUTATIONS = 300
MIN_UNITS_PER_ARM = 5


def allocation_statistic(audits: np.ndarray, labels: np.ndarray, n_arms: int) -> float:
    """Pearson's chi-square of the arm x auditor table of audit counts; `audits` is units x auditor columns."""
    table = (labels[None, :] == np.arange(n_arms)[:, None]).astype(float) @ audits
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        cells = np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)
    return float(cells.sum())


def pool_small(audits: np.ndarray, arm_shares: np.ndarray, min_expected: float = MIN_EXPECTED) -> np.ndarray:
    """Auditor columns whose expected count in the smallest arm is below `min_expected` are summed into one."""
    totals = audits.sum(axis=0)
    small = totals * arm_shares.min() < min_expected
    if small.sum() <= 1:
        return audits[:, totals > 0]
    return np.column_stack([audits[:, ~small & (totals > 0)], audits[:, small].sum(axis=1)])


def auditor_balance(
    audits: ArrayLike,
    arms: Sequence[str],
    strata: Sequence[str],
    seed: int = 0,
    permutations: int = PERMUTATIONS,
    threshold: float = SRM_THRESHOLD,
) -> CheckResult:
    """Whether each arm's audits are spread over the auditors alike (see module docstring).

    Parameters
    ----------
    audits : array_like, shape (units, auditors)
        Audits of each unit by each auditor in the analysis window.
    arms, strata : sequences of str
        Each unit's arm and randomization stratum (labels are permuted within strata).
    seed : int
        Seed of the permutations (results are reproducible).
    permutations : int
        Re-randomizations used to fit the null distribution's mean and variance.
    threshold : float
        The check fails when ``p < threshold`` (the sample-ratio bar, 0.001).
    """
    table = np.asarray(audits, dtype=float)
    arm_labels = np.asarray(arms, dtype=str)
    if table.ndim != 2 or table.shape[0] != arm_labels.size or len(strata) != arm_labels.size:
        raise ValueError("audits must be units x auditors, with one arm and one stratum per unit")
    active = table.sum(axis=1) > 0
    table, arm_labels = table[active], arm_labels[active]
    stratum_labels = np.asarray(strata, dtype=str)[active]
    names, labels = np.unique(arm_labels, return_inverse=True)
    if names.size < 2 or np.bincount(labels).min() < 2:
        return CheckResult("auditor_balance", True, math.nan, math.nan, _NOT_YET, reasons.TOO_FEW_UNITS)
    shares = np.bincount(labels, weights=table.sum(axis=1)) / table.sum()
    pooled = pool_small(table, shares)
    if pooled.shape[1] < 2:
        message = "Only one auditor (or auditors too small to compare) graded this pilot, so allocation cannot differ."
        return CheckResult("auditor_balance", True, math.nan, math.nan, message, reasons.TOO_FEW_AUDITORS)
    observed = allocation_statistic(pooled, labels, names.size)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(stratum_labels == s) for s in np.unique(stratum_labels)]
    null = np.empty(permutations)
    for b in range(permutations):
        shuffled = labels.copy()
        for members in groups:
            shuffled[members] = labels[rng.permutation(members)]
        null[b] = allocation_statistic(pooled, shuffled, names.size)
    p = scaled_chi2_sf(observed, float(null.mean()), float(null.var(ddof=1)))
    ok = not p < threshold
    if ok:
        groups = pooled.shape[1]
        message = f"QA auditors were assigned alike across arms ({reasons.p_text(p)}, {groups} auditor groups)."
    else:
        message = (
            "QA auditors were NOT assigned alike: one arm's audits went to different auditors than the other's "
            f"({reasons.p_text(p)}). Auditors differ in leniency, so the difference between arms may be an artefact "
            "of who graded them; fix the QA routing before trusting the result."
        )
    return CheckResult("auditor_balance", ok, observed, p, message)


def scaled_chi2_sf(statistic: float, mean: float, variance: float) -> float:
    """Upper tail of ``c * chi2(nu)`` with the given mean and variance (``c = var / (2 mean)``,
    ``nu = 2 mean^2 / var``), Satterthwaite's moment match; 1.0 when the null has no spread."""
    if not (variance > 0 and mean > 0):
        return 1.0 if statistic <= mean else 0.0
    scale = variance / (2 * mean)
    nu = 2 * mean * mean / variance
    return float(stats.chi2.sf(statistic / scale, nu))


@dataclass(frozen=True)
class Leniency:
    """Each auditor's leniency: how much higher their grades are than an average auditor's on the same moderators
    (``effect``, centred to an audit-weighted mean of zero), its standard error and the auditor's audits."""

    effect: np.ndarray
    se: np.ndarray
    audits: np.ndarray
    residual_variance: float


def fit_leniency(
    groups: ArrayLike,
    auditors: ArrayLike,
    n: ArrayLike,
    y: ArrayLike,
    n_auditors: int,
    iterations: int = 200,
    tolerance: float = 1e-10,
) -> Leniency:
    """Two-way fixed effects ``grade = group + auditor + noise`` fitted to cell sums (module docstring).

    Parameters
    ----------
    groups, auditors : array_like of int
        Each cell's group (a unit in a period) and auditor index.
    n, y : array_like
        Each cell's audits and summed grade.
    n_auditors : int
        Number of auditors (indexes 0 .. n_auditors-1).

    Returns
    -------
    Leniency
        Standard errors ``sqrt(s^2 / n_j)`` from the pooled residual variance of single grades (a lower bound when a
        moderator's grades are correlated beyond the model).
    """
    g = np.asarray(groups, dtype=np.int64)
    a = np.asarray(auditors, dtype=np.int64)
    w = np.asarray(n, dtype=float)
    s = np.asarray(y, dtype=float)
    if not (g.shape == a.shape == w.shape == s.shape) or g.ndim != 1:
        raise ValueError("groups, auditors, n and y must be one-dimensional and of equal length")
    n_groups = int(g.max()) + 1 if g.size else 0
    group_n = np.bincount(g, weights=w, minlength=n_groups)
    auditor_n = np.bincount(a, weights=w, minlength=n_auditors)
    lenient = np.zeros(n_auditors)
    safe_group_n = np.where(group_n > 0, group_n, 1.0)
    safe_auditor_n = np.where(auditor_n > 0, auditor_n, 1.0)
    level = np.zeros(n_groups)
    for _ in range(iterations):
        level = np.bincount(g, weights=s - w * lenient[a], minlength=n_groups) / safe_group_n
        updated = np.bincount(a, weights=s - w * level[g], minlength=n_auditors) / safe_auditor_n
        updated -= np.average(updated, weights=auditor_n) if auditor_n.sum() > 0 else 0.0
        change = float(np.max(np.abs(updated - lenient))) if n_auditors else 0.0
        lenient = updated
        if change < tolerance:
            break
    fitted = level[g] + lenient[a]
    # Grades are 0/1 or sums of squares are not at hand: the residual sum of squares of single grades for 0/1
    # grades is sum(y) - 2 sum(fitted y) + sum(n fitted^2) per cell, since y^2 = y.
    residual = float(np.sum(s - 2 * fitted * s + w * fitted * fitted))
    dof = max(1.0, float(w.sum()) - n_groups - n_auditors + 1)
    s2 = max(residual, 0.0) / dof
    se = np.where(auditor_n > 0, np.sqrt(s2 / safe_auditor_n), np.nan)
    return Leniency(lenient, se, auditor_n, s2)


@dataclass(frozen=True)
class Interaction:
    """Per-auditor treatment-minus-control differences and Cochran's Q across the auditors that graded both arms
    with at least `MIN_UNITS_PER_ARM` units each."""

    auditors: tuple[int, ...]
    differences: tuple[Difference, ...]
    heterogeneity: Heterogeneity


def arm_interaction(
    y: ArrayLike, x: ArrayLike, control: ArrayLike, treatment: ArrayLike, alpha: float = 0.05
) -> Interaction:
    """Auditor x arm interaction from units x auditors sums ``y`` (grades) and ``x`` (audits)."""
    y_arr, x_arr = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    c_mask, t_mask = np.asarray(control, dtype=bool), np.asarray(treatment, dtype=bool)
    if y_arr.shape != x_arr.shape or y_arr.ndim != 2 or c_mask.size != y_arr.shape[0] or t_mask.size != c_mask.size:
        raise ValueError("y and x must be units x auditors, with one control and treatment flag per unit")
    kept, diffs = [], []
    for j in range(y_arr.shape[1]):
        has = x_arr[:, j] > 0
        if (has & c_mask).sum() < MIN_UNITS_PER_ARM or (has & t_mask).sum() < MIN_UNITS_PER_ARM:
            continue
        d = compare(
            RatioStats.from_units(y_arr[c_mask, j], x_arr[c_mask, j]),
            RatioStats.from_units(y_arr[t_mask, j], x_arr[t_mask, j]),
            alpha,
        )
        if d.reason is None and d.se > 0:
            kept.append(j)
            diffs.append(d)
    het = cochran_q([d.difference for d in diffs], [d.variance for d in diffs], levels=[str(j) for j in kept])
    return Interaction(tuple(kept), tuple(diffs), het)


def blinding_check(interaction: Interaction, threshold: float = SRM_THRESHOLD) -> CheckResult:
    """The blinding check from an auditor x arm interaction: flagged when Q's p-value is below `threshold`."""
    het = interaction.heterogeneity
    if het.reason is not None:
        message = (
            "Fewer than two auditors graded enough moderators of both arms, so whether auditors grade the arms "
            "differently cannot be checked."
        )
        return CheckResult("auditor_blinding", True, math.nan, math.nan, message, reasons.TOO_FEW_AUDITORS)
    if het.p_value < threshold:
        message = (
            f"Auditors may know who uses the new tool: {len(interaction.auditors)} auditors grade the arms "
            f"differently from one another, far beyond chance (Cochran's Q = {het.q:.1f} on {het.df} df, "
            f"p = {het.p_value:.2g}). Blind the QA queue to the arm, or confirm the effect with blinded double audits."
        )
        return CheckResult("auditor_blinding", False, het.q, het.p_value, message)
    message = (
        f"No sign that auditors grade the arms differently from one another ({len(interaction.auditors)} auditors "
        f"compared, p = {het.p_value:.3g}). A shift shared by every auditor cannot be told from a real effect "
        "without blinded double audits."
    )
    return CheckResult("auditor_blinding", True, het.q, het.p_value, message)


def adjusted_sums(y: ArrayLike, x: ArrayLike, leniency: ArrayLike) -> np.ndarray:
    """Per-unit grade sums with each auditor's leniency removed: ``y_i - sum_j x_ij lenient_j``.

    ``y`` and ``x`` are units x auditors (pilot period); the result pairs with the units' audit counts
    ``x.sum(axis=1)`` as a ratio metric, so the variance stays by unit.
    """
    y_arr, x_arr = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    effect = np.nan_to_num(np.asarray(leniency, dtype=float))
    return y_arr.sum(axis=1) - x_arr @ effect


_NOT_YET = "Too few units with audits to compare auditor allocation yet."
