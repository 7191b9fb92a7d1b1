"""Data-quality checks that must pass before any verdict (METHODS.md section 3).

Each check returns a :class:`CheckResult` with ``ok``, the test statistic, a p-value (nan where the
check is descriptive by design) and a plain-language ``message``. A failed check makes the verdict
``invalid`` whatever the effect estimates say, so thresholds are chosen to flag real problems, not
noise, at a check that is re-run at every look.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from analysis import reasons
from analysis.unconditional import boschloo

SRM_THRESHOLD = 0.001
# Audit rates and attrition come from tens of moderators, so tests have little power and a
# genuine QA-sampling or dropout problem shows up as a moderate p-value; 0.001 (the SRM bar for
# web-scale traffic) would miss it. The checks are re-run at each look, so 0.05 would raise many
# false alarms over a pilot; 0.01 balances the two.
AUDIT_RATE_THRESHOLD = 0.01
ATTRITION_THRESHOLD = 0.01
SMD_THRESHOLD = 0.1
# Boschloo's test weighs every table of the two arms: (n1 + 1) x (n2 + 1) Fisher p-values and their probabilities
# over a 2,000-point grid of the common rate. That is milliseconds at tens of units and 0.15 s at 200 per arm, but
# seconds and gigabytes at thousands (a 50,000-moderator pilot's results took 95 s). Its gain over Fisher's
# conditional test comes from the coarse conditional distribution of small arms and fades as arms grow, so beyond
# this many units in an arm Fisher's exact test (linear in the arm sizes) is used; both hold their level.
BOSCHLOO_MAX_UNITS = 200


@dataclass(frozen=True)
class BalanceRow:
    """Standardized mean difference of one attribute (or one level of a categorical attribute)
    between one treatment arm and the control."""

    attribute: str
    level: str | None
    arm: str
    smd: float


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one data-quality check."""

    name: str
    ok: bool
    statistic: float
    p_value: float
    message: str
    reason: str | None = None
    rows: tuple[BalanceRow, ...] = ()


def sample_ratio_mismatch(
    counts: Mapping[str, int], weights: Mapping[str, int], threshold: float = SRM_THRESHOLD
) -> CheckResult:
    """Chi-square goodness of fit of units per arm against the planned integer weights.

    Flags (``ok=False``) when ``p < threshold`` (0.001 by default, as Fabijan et al. recommend).

    References
    ----------
    .. [1] Fabijan, A., Gupchup, J., Gupta, S., Omhover, J., Qin, W., Vermeer, L., Dmitriev, P.
       (2019). Diagnosing Sample Ratio Mismatch in Online Controlled Experiments: A Taxonomy and
       Rules of Thumb for Practitioners. KDD 2019.
    """
    _threshold_iv(threshold)
    if set(counts) != set(weights) or len(weights) < 2:
        raise ValueError("counts and weights must name the same arms (at least two)")
    arms = sorted(weights)
    obs = np.array([counts[a] for a in arms], dtype=float)
    w = np.array([weights[a] for a in arms], dtype=float)
    if np.any(obs < 0) or np.any(w <= 0):
        raise ValueError("counts must be non-negative and weights positive")
    total = obs.sum()
    if total == 0:
        return CheckResult(
            "srm",
            True,
            math.nan,
            math.nan,
            reasons.describe(reasons.TOO_FEW_UNITS),
            reasons.TOO_FEW_UNITS,
        )
    expected = total * w / w.sum()
    # Pearson's statistic and its upper tail, as scipy.stats.chisquare computes them (without its per-call
    # overhead: the check runs at every look of every simulated pilot).
    chi2 = float(np.sum((obs - expected) ** 2 / expected))
    p = float(special.chdtrc(len(obs) - 1, chi2))
    shares = ", ".join(f"{a} {int(o)} (planned {e:.1f})" for a, o, e in zip(arms, obs, expected, strict=True))
    if p < threshold:
        msg = (
            f"Sample ratio mismatch: the arms hold {shares} moderators, which is very unlikely "
            f"under the planned split ({reasons.p_text(p)}). The assignment or the roster sync is broken; "
            "results cannot be trusted until it is explained."
        )
    else:
        msg = f"Arm sizes match the planned split: {shares} ({reasons.p_text(p)})."
    return CheckResult("srm", bool(p >= threshold), float(chi2), float(p), msg)


def audit_rate_balance(
    rates: Mapping[str, ArrayLike], threshold: float = AUDIT_RATE_THRESHOLD, *, unit: str = "moderator"
) -> CheckResult:
    """Test whether QA audits per unit per week differ by arm (``unit`` names the unit in messages).

    Two arms: Welch's t-test on the per-unit rates (robust to unequal spread; means are what bias
    the pooled ratio). More arms: Kruskal-Wallis (no normality or equal-variance assumption).
    Flags when ``p < threshold`` (0.01 by default, see module notes).

    References
    ----------
    .. [1] Welch (1947), Biometrika 34; Kruskal, W. H., Wallis, W. A. (1952). Use of Ranks in
       One-Criterion Variance Analysis. JASA 47(260), 583-621.
    """
    _threshold_iv(threshold)
    arms = sorted(rates)
    samples = [np.asarray(rates[a], dtype=float) for a in arms]
    if len(samples) < 2:
        raise ValueError("rates must have at least two arms")
    if any(s.ndim != 1 or not np.all(np.isfinite(s)) or np.any(s < 0) for s in samples):
        raise ValueError("rates must be one-dimensional, finite and non-negative")
    if any(len(s) < 2 for s in samples):
        return CheckResult(
            "audit_rate",
            True,
            math.nan,
            math.nan,
            reasons.describe(reasons.TOO_FEW_UNITS),
            reasons.TOO_FEW_UNITS,
        )
    if all(np.ptp(s) == 0 for s in samples) and len({s[0] for s in samples}) == 1:
        stat, p = 0.0, 1.0
    elif len(samples) == 2:
        stat, p = _welch(samples[1], samples[0])
    else:
        res = stats.kruskal(*samples)
        stat, p = float(res.statistic), float(res.pvalue)
    means = ", ".join(f"{a} {s.mean():.2f}" for a, s in zip(arms, samples, strict=True))
    if p < threshold:
        msg = (
            f"Audit rates differ by arm (audits per {unit} per week: {means}; {reasons.p_text(p)}). "
            "If QA samples one arm differently, every quality metric is biased."
        )
    else:
        msg = f"Audit rates are balanced across arms ({means} per {unit} per week; {reasons.p_text(p)})."
    return CheckResult("audit_rate", bool(p >= threshold), stat, p, msg)


def _share_by_arm_test(hits: np.ndarray, totals: np.ndarray) -> tuple[float, float]:
    """Whether the share of units with some property differs by arm: Fisher's exact test on the 2x2 table for two
    arms, the chi-square test of independence for more; (0, 1) when no unit or every unit has it."""
    if hits.sum() == 0 or hits.sum() == totals.sum():
        return 0.0, 1.0
    table = np.column_stack([hits, totals - hits])
    res = stats.fisher_exact(table) if len(hits) == 2 else stats.chi2_contingency(table, correction=False)
    return float(res.statistic), float(res.pvalue)


def audit_coverage(
    assigned: Mapping[str, int],
    audited: Mapping[str, int],
    threshold: float = SRM_THRESHOLD,
    *,
    unit: str = "moderator",
) -> CheckResult:
    """Whether QA audits reach the units of every arm alike: assigned units with at least one audit, by arm.

    The sample-ratio check counts only units with audits, so an arm whose outcomes never arrive (a broken feed, a
    tool that changes what gets audited) can look like a small but plausible split on a pilot of tens of units.
    Comparing audited with assigned units catches it: Fisher's exact test on the 2x2 table for two arms, the
    chi-square test of independence for more; flagged at the sample-ratio bar (``p < 0.001``) because, like a
    sample ratio mismatch, it means the comparison itself is broken.
    """
    _threshold_iv(threshold)
    if set(assigned) != set(audited) or len(assigned) < 2:
        raise ValueError("assigned and audited must name the same arms (at least two)")
    arms = sorted(assigned)
    total = np.array([assigned[a] for a in arms])
    seen = np.array([audited[a] for a in arms])
    if np.any(seen < 0) or np.any(seen > total):
        raise ValueError("audited must be between 0 and assigned for every arm")
    if np.any(total == 0) or seen.sum() == 0:
        return CheckResult(
            "audit_coverage", True, math.nan, math.nan, reasons.describe(reasons.TOO_FEW_UNITS), reasons.TOO_FEW_UNITS
        )
    shares = ", ".join(f"{a} {s} of {n}" for a, s, n in zip(arms, seen, total, strict=True))
    stat, p = _share_by_arm_test(seen, total)
    if p < threshold:
        msg = (
            f"QA audits reach the arms' {unit}s very differently ({shares} have audits; {reasons.p_text(p)}). "
            "Outcomes of an arm are missing or its audits are sampled differently; the arms cannot be compared until "
            "it is explained."
        )
        return CheckResult("audit_coverage", False, stat, p, msg)
    return CheckResult("audit_coverage", True, stat, p, f"QA audits reach every arm alike ({shares} have audits).")


def attrition(
    units: Mapping[str, int], inactive: Mapping[str, int], threshold: float = ATTRITION_THRESHOLD
) -> CheckResult:
    """Differential attrition: units with no audits in the recent window, by arm.

    Two arms: Boschloo's unconditional exact test (`analysis.unconditional`), valid whatever the share of units
    that go silent in both arms and more powerful than Fisher's conditional test at tens of units per arm (20
    against 20 units, 7 silent in one arm and none in the other: p = 0.0034 against Fisher's 0.0083). With more
    than `BOSCHLOO_MAX_UNITS` units in an arm, where Boschloo's cost (quadratic in the arm sizes) reaches seconds,
    Fisher's exact test.
    Two-sided p-values are twice the smaller one-sided one in both cases. More arms: chi-square test of
    independence. Flags when ``p < threshold``; ``statistic`` is the silent share of the second
    arm minus the first's (two arms) or the chi-square statistic.

    References
    ----------
    .. [1] Boschloo, R. D. (1970). Raised conditional level of significance for the 2x2-table when testing the
       equality of two probabilities. Statistica Neerlandica 24(1), 1-9.
    """
    _threshold_iv(threshold)
    if set(units) != set(inactive) or len(units) < 2:
        raise ValueError("units and inactive must name the same arms (at least two)")
    arms = sorted(units)
    gone = np.array([inactive[a] for a in arms])
    total = np.array([units[a] for a in arms])
    if np.any(gone < 0) or np.any(gone > total):
        raise ValueError("inactive must be between 0 and units for every arm")
    if np.any(total == 0):
        return CheckResult(
            "attrition",
            True,
            math.nan,
            math.nan,
            reasons.describe(reasons.TOO_FEW_UNITS),
            reasons.TOO_FEW_UNITS,
        )
    rates = ", ".join(f"{a} {g}/{n}" for a, g, n in zip(arms, gone, total, strict=True))
    if len(arms) == 2:
        p = _two_arm_p(int(gone[1]), int(total[1]), int(gone[0]), int(total[0]))
        stat = float(gone[1] / total[1] - gone[0] / total[0])
    else:
        stat, p = _share_by_arm_test(gone, total)
    if p < threshold:
        msg = (
            f"Moderators stopped being audited at different rates by arm ({rates} inactive; "
            f"{reasons.p_text(p)}). The remaining moderators are no longer comparable."
        )
    else:
        p_shown = reasons.p_text(p)
        msg = f"Attrition does not differ by arm beyond chance ({rates} inactive; {p_shown}, bar {threshold:.2g})."
    return CheckResult("attrition", bool(p >= threshold), stat, p, msg)


def _two_arm_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value that the silent shares ``x1 / n1`` and ``x2 / n2`` are equal: Boschloo's test for arms of
    up to `BOSCHLOO_MAX_UNITS` units, Fisher's beyond (twice the smaller one-sided p-value, as Boschloo's)."""
    if max(n1, n2) <= BOSCHLOO_MAX_UNITS:
        return boschloo(x1, n1, x2, n2).p_value
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    greater = stats.fisher_exact(table, alternative="greater").pvalue
    less = stats.fisher_exact(table, alternative="less").pvalue
    return float(min(1.0, 2.0 * min(greater, less)))


def covariate_balance(
    arms: ArrayLike,
    attributes: Mapping[str, ArrayLike],
    control: str,
    threshold: float = SMD_THRESHOLD,
) -> CheckResult:
    """Standardized mean differences of roster attributes between each arm and the control.

    Numeric: ``(mean_t - mean_c) / sqrt((s_t^2 + s_c^2) / 2)``. Categorical (strings, booleans):
    one row per level with proportions, ``(p_t - p_c) / sqrt((p_t(1-p_t) + p_c(1-p_c)) / 2)``. Flags
    when any ``|SMD| >= threshold`` (0.1). Descriptive by design: no p-value (it would mostly
    reflect the sample size, and randomization already makes imbalance a chance event).

    References
    ----------
    .. [1] Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
       covariates between treatment groups in propensity-score matched samples. Statistics in
       Medicine 28(25), 3083-3107.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    labels = np.asarray(arms).astype(str)
    control = str(control)
    if control not in labels:
        raise ValueError(f"control {control!r} is not among the arm labels")
    rows: list[BalanceRow] = []
    in_control = labels == control
    others = [(arm, labels == arm) for arm in sorted(set(labels) - {control})]
    for name, values in attributes.items():
        vals = np.asarray(values)
        if vals.shape != labels.shape:
            raise ValueError(f"attribute {name!r} must have one value per unit")
        if vals.dtype.kind in "fiu":
            rows += [BalanceRow(name, None, arm, smd_numeric(vals[in_control], vals[mask])) for arm, mask in others]
            continue
        # Categorical: each level's share per arm from one pass (np.unique sorts levels as `sorted` does).
        levels, codes = np.unique(vals.astype(str), return_inverse=True)
        control_share = np.bincount(codes[in_control], minlength=levels.size) / in_control.sum()
        for arm, mask in others:
            share = np.bincount(codes[mask], minlength=levels.size) / mask.sum()
            rows += [
                BalanceRow(name, str(level), arm, smd_proportion(float(p_c), float(p_t)))
                for level, p_c, p_t in zip(levels, control_share, share, strict=True)
            ]
    worst = max((abs(r.smd) for r in rows if not math.isnan(r.smd)), default=0.0)
    bad = [r for r in rows if not abs(r.smd) < threshold]
    if bad:
        names = ", ".join(f"{r.attribute}{'=' + r.level if r.level else ''} ({r.arm}: {r.smd:+.2f})" for r in bad)
        msg = f"Arms are imbalanced at launch on {names}; |SMD| should stay below {threshold}."
    else:
        msg = f"Arms are balanced at launch on every attribute (largest |SMD| {worst:.2f})."
    return CheckResult("covariate_balance", not bad, worst, math.nan, msg, rows=tuple(rows))


def smd_numeric(control: ArrayLike, treatment: ArrayLike) -> float:
    """SMD with the average of the two sample variances; 0 when both are constant and equal."""
    c, t = np.asarray(control, dtype=float), np.asarray(treatment, dtype=float)
    diff = t.mean() - c.mean()
    pooled = math.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2) if min(len(c), len(t)) > 1 else math.nan
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return float(diff / pooled)


def smd_proportion(p_c: float, p_t: float) -> float:
    """SMD of a binary indicator from the two proportions."""
    pooled = math.sqrt((p_t * (1 - p_t) + p_c * (1 - p_c)) / 2)
    if pooled == 0:
        return 0.0 if p_t == p_c else math.copysign(math.inf, p_t - p_c)
    return (p_t - p_c) / pooled


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Welch's t statistic of ``mean(a) - mean(b)`` and its two-sided p-value, as ``scipy.stats.ttest_ind(a, b,
    equal_var=False)`` gives them (it is the reference in the tests), computed directly (it runs at every look)."""
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = va + vb
    if not se2 > 0:
        res = stats.ttest_ind(a, b, equal_var=False)
        return float(res.statistic), float(res.pvalue)
    t = (a.mean() - b.mean()) / math.sqrt(se2)
    df = se2**2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    return float(t), float(2.0 * special.stdtr(df, -abs(t)))


def _threshold_iv(threshold: float) -> None:
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
