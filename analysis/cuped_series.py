"""CUPED-adjusted differences at many looks at once, from cumulative per-unit sums.

:func:`analysis.cuped.cuped_compare` compares two arms at one look. A sequential test needs the same
comparison at every look (cumulative data from day 0 through the look), and calling it in a loop
costs a validation, a handful of small array passes and two scipy calls per look. This module
computes the identical quantities for all looks in one pass over ``units x looks`` arrays: the same
formulas (linearized outcome, pooled ``theta``, delta-method variances, Welch df) and the same
degenerate-case reason codes and fallbacks, with the look as an extra array axis.

At each look a unit counts only if it has audits by then (``x > 0``), exactly as
:func:`analysis.cuped.cuped_compare` drops unaudited units; the pooled pre-period ratio and scale of
the covariate are therefore recomputed per look over the units audited by that look.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis import reasons
from analysis.ratio import _RELATIVE_ZERO, _alpha_iv

_SKIPPING = (reasons.EMPTY_ARM, reasons.NO_AUDITS, reasons.SINGLE_UNIT)
LOOK_BLOCK = 8  # looks per `cuped_series` call when a caller splits many looks of many units (`look_blocks`)


@dataclass(frozen=True, eq=False)
class SeriesArrays:
    """Cumulative per-unit sums of one arm at each look: ``y[i, j]`` and ``x[i, j]`` are unit ``i``'s
    outcome sum and audits from the start through look ``j``; ``pre_y`` and ``pre_x`` are the
    pre-period sums (``pre_x == 0`` means the unit has no pre-period data)."""

    y: np.ndarray
    x: np.ndarray
    pre_y: np.ndarray
    pre_x: np.ndarray

    @classmethod
    def of(cls, y: ArrayLike, x: ArrayLike, pre_y: ArrayLike, pre_x: ArrayLike) -> SeriesArrays:
        """Validate and convert: ``y`` and ``x`` of shape ``(K, L)``, ``pre_y`` and ``pre_x`` of shape
        ``(K,)``, all finite, audits non-negative."""
        y_arr, x_arr = (np.asarray(a, dtype=float) for a in (y, x))
        pre_y_arr, pre_x_arr = (np.asarray(a, dtype=float) for a in (pre_y, pre_x))
        if y_arr.ndim != 2 or x_arr.shape != y_arr.shape:
            raise ValueError(f"y and x must be two-dimensional of the same shape, got {y_arr.shape} and {x_arr.shape}")
        for name, arr in (("pre_y", pre_y_arr), ("pre_x", pre_x_arr)):
            if arr.shape != y_arr.shape[:1]:
                raise ValueError(f"{name} must have shape ({y_arr.shape[0]},), got {arr.shape}")
        for name, arr in (("y", y_arr), ("x", x_arr), ("pre_y", pre_y_arr), ("pre_x", pre_x_arr)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
        if np.any(x_arr < 0) or np.any(pre_x_arr < 0):
            raise ValueError("x and pre_x must be non-negative (audit counts)")
        return cls(y_arr, x_arr, pre_y_arr, pre_x_arr)

    @classmethod
    def from_daily(cls, y: ArrayLike, x: ArrayLike, pre_y: ArrayLike, pre_x: ArrayLike, looks: ArrayLike):
        """From daily per-unit sums ``y[i, d]``, ``x[i, d]``: cumulate over days and keep the look days
        (each look includes its own day)."""
        looks_arr = np.asarray(looks, dtype=int)
        return cls.of(
            np.cumsum(np.asarray(y, dtype=float), axis=1)[:, looks_arr],
            np.cumsum(np.asarray(x, dtype=float), axis=1)[:, looks_arr],
            pre_y,
            pre_x,
        )


@dataclass(frozen=True, eq=False)
class CupedSeries:
    """Treatment minus control at each look, one array element per look.

    The arrays hold the fields of ``cuped_compare(...).adjusted`` (a :class:`analysis.ratio.Difference`)
    and of the :class:`analysis.cuped.AdjustedDifference` around it: ``reason`` is the adjusted
    difference's reason code (``None`` when regular) and ``cuped_reason`` the reason the adjustment
    was skipped (``None`` when applied; then the adjusted fields are the raw comparison's).
    """

    control_mean: np.ndarray
    treatment_mean: np.ndarray
    difference: np.ndarray
    se: np.ndarray
    df: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    theta: np.ndarray
    variance_reduction: np.ndarray
    reason: tuple[str | None, ...]
    cuped_reason: tuple[str | None, ...]

    @classmethod
    def concatenate(cls, parts: Sequence[CupedSeries]) -> CupedSeries:
        """The series of consecutive blocks of looks as one (each look's numbers depend on its own sums only)."""
        joined = {}
        for f in fields(cls):
            values = [getattr(part, f.name) for part in parts]
            joined[f.name] = sum(values, ()) if isinstance(values[0], tuple) else np.concatenate(values)
        return cls(**joined)

    def usable(self) -> np.ndarray:
        """Looks that can enter a sequential test: regular (or zero control mean), finite positive se
        and df, finite difference."""
        ok_reason = np.array([r in (None, reasons.ZERO_CONTROL_MEAN) for r in self.reason], dtype=bool)
        with np.errstate(invalid="ignore"):
            return ok_reason & np.isfinite(self.se) & (self.se > 0) & (self.df > 0) & np.isfinite(self.difference)


def look_blocks(n_looks: int, size: int = LOOK_BLOCK) -> list[slice]:
    """Consecutive blocks of at most `size` looks covering ``range(n_looks)``, a last block of one look joined to the
    one before it: `cuped_series` on each block, concatenated, gives the same numbers as on all looks at once, with
    ``units x size`` temporaries instead of ``units x looks`` (a year of daily looks of 50,000 moderators would hold
    dozens of 150 MB arrays). Same numbers because every look's figures are sums over units, which numpy adds in
    unit order for any block of two or more looks; a block of one look is summed pairwise, which can change last
    bits, so it only occurs when there is one look in all (as it does when called on that look alone)."""
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}")
    starts = list(range(0, n_looks, size))
    if not starts:
        return []
    if len(starts) > 1 and n_looks - starts[-1] == 1:
        starts.pop()
    return [slice(start, end) for start, end in zip(starts, [*starts[1:], n_looks], strict=True)]


def cuped_series(control: SeriesArrays, treatment: SeriesArrays, alpha: float = 0.05) -> CupedSeries:
    """CUPED-adjusted comparison of two arms at every look, equal to calling
    :func:`analysis.cuped.cuped_compare` on each look's cumulative sums.

    Parameters
    ----------
    control, treatment : SeriesArrays
        Cumulative per-unit sums of each arm at each of ``L`` looks (same ``L`` for both arms).
    alpha : float
        Two-sided level of the intervals.

    Returns
    -------
    CupedSeries

    References
    ----------
    .. [1] Deng, A., Xu, Y., Kohavi, R., Walker, T. (2013). Improving the Sensitivity of Online
       Controlled Experiments by Utilizing Pre-Experiment Data. WSDM 2013.
    .. [2] Deng, A., Knoblich, U., Lu, J. (2018). Applying the Delta Method in Metric Analytics.
       KDD 2018 (linearization of ratio metrics).
    """
    _series_iv(control, treatment, alpha)
    arms = [_ArmLooks(a) for a in (control, treatment)]
    c, t = arms
    n_looks = c.n.shape[0]

    # Raw comparison (analysis.ratio.compare on RatioStats.from_units at each look).
    raw_reason = np.full(n_looks, None, dtype=object)
    raw_reason[(c.n < 2) | (t.n < 2)] = reasons.SINGLE_UNIT
    raw_reason[(c.sum_x == 0) | (t.sum_x == 0)] = reasons.NO_AUDITS
    raw_reason[(c.n == 0) | (t.n == 0)] = reasons.EMPTY_ARM
    skipped = raw_reason != None  # noqa: E711 (elementwise on an object array)
    raw = _from_estimates(c.ratio, c.raw_variance(), c.n, t.ratio, t.raw_variance(), t.n, alpha, ~skipped)
    raw["reason"][skipped] = raw_reason[skipped]
    raw_se = raw["se"]

    # Covariate, pooled over the units of both arms audited by each look.
    has_pre = [a.mask & (a.pre_x > 0)[:, None] for a in arms]
    pre_units = sum(h.sum(axis=0) for h in has_pre)
    cuped_reason = raw_reason.copy()
    cuped_reason[~skipped & (pre_units == 0)] = reasons.NO_PRE_PERIOD
    pre_y_sum = sum(np.where(h, a.pre_y[:, None], 0.0).sum(axis=0) for a, h in zip(arms, has_pre, strict=True))
    pre_x_sum = sum(np.where(h, a.pre_x[:, None], 0.0).sum(axis=0) for a, h in zip(arms, has_pre, strict=True))
    audited = c.n + t.n
    with np.errstate(invalid="ignore", divide="ignore"):
        r_pre = pre_y_sum / pre_x_sum
        scale = pre_x_sum / audited  # mean of pre_x over audited units, including those without pre data
        ms = [
            np.where(h, (a.pre_y[:, None] - r_pre * a.pre_x[:, None]) / scale, 0.0)
            for a, h in zip(arms, has_pre, strict=True)
        ]
        ls = [a.linearized_outcome() for a in arms]

        # Pooled within-arm slope of l on m.
        m_means = [_masked_mean(m, a) for m, a in zip(ms, arms, strict=True)]
        l_means = [_masked_mean(lin, a) for lin, a in zip(ls, arms, strict=True)]
        m_centered = [np.where(a.mask, m - mm, 0.0) for m, mm, a in zip(ms, m_means, arms, strict=True)]
        num = sum(
            (np.where(a.mask, lin - lm, 0.0) * mc).sum(axis=0)
            for lin, lm, mc, a in zip(ls, l_means, m_centered, arms, strict=True)
        )
        den = sum((mc * mc).sum(axis=0) for mc in m_centered)
        m_scale = sum((m * m).sum(axis=0) for m in ms)
        constant = (den <= _RELATIVE_ZERO * m_scale) | (den == 0)
    cuped_reason[(cuped_reason == None) & constant] = reasons.CONSTANT_COVARIATE  # noqa: E711
    applied = cuped_reason == None  # noqa: E711
    theta = np.where(applied, num / np.where(applied, den, 1.0), 0.0)

    means, variances = [], []
    with np.errstate(invalid="ignore", divide="ignore"):
        # HC2 variance of the arm coefficient (see analysis.cuped): weights, leverages and residuals per unit.
        s_mm = np.where(applied, den, 1.0)
        gap = m_means[1] - m_means[0]
        for sign, a, lin, mm, lm, mc in zip((-1.0, 1.0), arms, ls, m_means, l_means, m_centered, strict=True):
            means.append(a.ratio - theta * mm)
            resid = np.where(a.mask, (lin - lm) - theta * mc, 0.0)
            weight = sign / a.n - gap * mc / s_mm
            room = 1.0 - (1.0 / a.n + mc * mc / s_mm)
            ok = a.mask & (room > 1e-12)
            variances.append(np.where(ok, weight**2 * resid**2 / np.where(ok, room, 1.0), 0.0).sum(axis=0))
    adjusted = _from_estimates(means[0], variances[0], c.n, means[1], variances[1], t.n, alpha, applied, fitted=1)

    fields = {key: np.where(applied, adjusted[key], raw[key]) for key in raw if key != "reason"}
    reason = np.where(applied, adjusted["reason"], raw["reason"])
    raw_var = raw_se**2
    with np.errstate(invalid="ignore", divide="ignore"):
        reduction = np.where(applied & (raw_var > 0), 1.0 - adjusted["se"] ** 2 / raw_var, 0.0)
    return CupedSeries(
        **fields,
        theta=theta,
        variance_reduction=reduction,
        reason=tuple(reason.tolist()),
        cuped_reason=tuple(cuped_reason.tolist()),
    )


class _ArmLooks:
    """One arm's audited units and sums at each look (``mask[i, j]``: unit ``i`` has audits by look ``j``)."""

    def __init__(self, arm: SeriesArrays) -> None:
        self.mask = arm.x > 0
        self.y = np.where(self.mask, arm.y, 0.0)
        self.x = np.where(self.mask, arm.x, 0.0)
        self.pre_y, self.pre_x = arm.pre_y, arm.pre_x
        self.n = self.mask.sum(axis=0)
        self.sum_y = self.y.sum(axis=0)
        self.sum_x = self.x.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.ratio = np.where(self.sum_x != 0, self.sum_y / self.sum_x, np.nan)

    def raw_variance(self) -> np.ndarray:
        """``RatioStats.variance`` at each look (residual sum of squares from the sums, snapped to 0)."""
        sum_y2 = (self.y * self.y).sum(axis=0)
        sum_x2 = (self.x * self.x).sum(axis=0)
        sum_xy = (self.x * self.y).sum(axis=0)
        r = self.ratio
        scale = sum_y2 + r * r * sum_x2
        ss = sum_y2 - 2.0 * r * sum_xy + r * r * sum_x2
        ss = np.where(ss <= _RELATIVE_ZERO * scale, 0.0, ss)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n >= 2, self.n * ss / ((self.n - 1) * self.sum_x**2), np.nan)

    def linearized_outcome(self) -> np.ndarray:
        """``l_i = (y_i - R x_i) / mean(x)`` per look (0 for units not yet audited)."""
        mean_x = self.sum_x / self.n
        return np.where(self.mask, (self.y - self.ratio * self.x) / mean_x, 0.0)


def _masked_mean(values: np.ndarray, arm: _ArmLooks) -> np.ndarray:
    return np.where(arm.mask, values, 0.0).sum(axis=0) / arm.n


def _from_estimates(
    r_c, v_c, n_c, r_t, v_t, n_t, alpha: float, regular: np.ndarray, fitted: int = 0
) -> dict[str, np.ndarray]:
    """``analysis.ratio.difference_from_estimates`` at each look where ``regular``; elsewhere the
    degenerate result of ``compare`` (nan spread, the arm means and their difference kept)."""
    diff = r_t - r_c
    var = v_c + v_t
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        denom = v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1)
        df = np.where(denom == 0, np.inf, var**2 / denom)
        if fitted:
            units = n_c + n_t
            df = df * np.where(units > 2, np.maximum(0.1, (units - 2 - fitted) / np.maximum(units - 2, 1)), 1.0)
        zero = regular & (var == 0)
        fitted = regular & (var != 0)
        se = np.sqrt(np.where(fitted, var, 1.0))
        df_fit = np.where(fitted, df, 1.0)
        q = stats.t.ppf(1 - alpha / 2, df_fit)
        p = 2 * stats.t.sf(np.abs(diff) / se, df_fit)
    nan = np.full(diff.shape, np.nan)
    out = {
        "control_mean": r_c,
        "treatment_mean": r_t,
        "difference": diff,
        "se": np.where(fitted, se, np.where(zero, 0.0, nan)),
        "df": np.where(fitted, df, np.where(zero, np.inf, nan)),
        "ci_low": np.where(fitted, diff - q * se, np.where(zero, diff, nan)),
        "ci_high": np.where(fitted, diff + q * se, np.where(zero, diff, nan)),
        "p_value": np.where(fitted, p, np.where(zero, np.where(diff == 0, 1.0, 0.0), nan)),
    }
    reason = np.full(diff.shape, None, dtype=object)
    reason[fitted & (r_c == 0)] = reasons.ZERO_CONTROL_MEAN
    reason[zero] = reasons.ZERO_VARIANCE
    out["reason"] = reason
    return out


def _series_iv(control: SeriesArrays, treatment: SeriesArrays, alpha: float) -> None:
    _alpha_iv(alpha)
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, SeriesArrays):
            raise ValueError(f"{name} must be SeriesArrays, got {type(arm).__name__}")
    if control.y.shape[1] != treatment.y.shape[1]:
        raise ValueError(
            f"control and treatment must have the same number of looks, got {control.y.shape[1]} and "
            f"{treatment.y.shape[1]}"
        )
