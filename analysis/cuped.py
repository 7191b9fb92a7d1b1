"""Regression adjustment (CUPED) of a ratio metric with pre-period audits as the covariate.

Between-moderator differences in skill are the largest source of noise in a pilot, and they are
visible before launch. Subtracting the part of each moderator's result that the pre-period predicts
shrinks the variance by about ``rho^2`` (the unit-level correlation of pre and post) without bias,
because the pre-period cannot be affected by the treatment.

Method (delta-method form for ratio metrics). Per arm ``a`` and unit ``i`` with ``x_i > 0``:

* linearized outcome ``l_i = (y_i - R_a x_i) / mean_a(x)``, so ``R_a - R_a* ~= mean_a(l)``;
* linearized covariate ``m_i = (pre_y_i - R_pre pre_x_i) / mean(pre_x)`` with ``R_pre`` and
  ``mean(pre_x)`` pooled over both arms (randomization makes the covariate's expectation equal);
* ``theta`` pooled across arms: the within-arm least-squares slope of ``l`` on ``m`` (the covariate
  coefficient of an OLS of ``l`` on arm indicators and ``m``, i.e. ANCOVA);
* ``R_adj_a = R_a - theta mean_a(m)``; the variance of the adjusted difference is the HC2 sandwich of the arm
  coefficient of that regression, ``sum_i w_i^2 e_i^2 / (1 - h_ii)`` with residuals
  ``e_i = (l_i - mean_a(l)) - theta (m_i - mean_a(m))``, leverages ``h_ii = 1 / K_a + (m_i - mean_a(m))^2 / S_mm``
  and weights ``w_i = +-1 / K_a - (mean_t(m) - mean_c(m)) (m_i - mean_a(m)) / S_mm`` (``S_mm`` the pooled
  within-arm sum of squares of ``m``). The second part of ``w_i`` is the fitted coefficient's own uncertainty and
  the leverage correction undoes the in-sample fit, which with few units otherwise makes the adjusted standard
  error far too small (3 vs 3 moderators, one arm all correct: 0.0008 instead of about 0.01). Without the covariate
  HC2 is exactly the Welch (delta-method) variance. Summed per arm, the two parts give Welch-Satterthwaite degrees
  of freedom, scaled by ``(K - 3) / (K - 2)`` for the fitted slope (`analysis.ratio.lost_df_scale`).

Units without pre-period audits (``pre_x == 0``) get ``m_i = 0``: they keep their unadjusted value.
We chose this over a missing-indicator term because with a fixed roster few moderators lack history,
and it keeps ``theta`` a single interpretable number; it stays unbiased because the missingness is
fixed before randomization.

References: MacKinnon, J. G., White, H. (1985). Some heteroskedasticity-consistent covariance matrix estimators with
improved finite sample properties. J. Econometrics 29 (HC2); Lin, W. (2013). Agnostic notes on regression
adjustments to experimental data. Annals of Applied Statistics 7(1) (robust variances for regression adjustment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from analysis import reasons
from analysis.ratio import Difference, RatioStats, _alpha_iv, compare, difference_from_estimates


@dataclass(frozen=True, eq=False)
class UnitArrays:
    """Per-unit arrays for one arm: pilot-period outcome sum ``y`` and audits ``x``, and the same
    for the pre-period (``pre_x == 0`` means the unit has no pre-period data)."""

    y: np.ndarray
    x: np.ndarray
    pre_y: np.ndarray
    pre_x: np.ndarray

    @classmethod
    def of(cls, y: ArrayLike, x: ArrayLike, pre_y: ArrayLike, pre_x: ArrayLike) -> UnitArrays:
        """Validate and convert to float arrays of equal length."""
        arrays = [np.asarray(a, dtype=float) for a in (y, x, pre_y, pre_x)]
        for name, arr in zip(("y", "x", "pre_y", "pre_x"), arrays, strict=True):
            if arr.ndim != 1 or arr.shape != arrays[0].shape:
                raise ValueError(f"{name} must be one-dimensional with the same length as y")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
        if np.any(arrays[1] < 0) or np.any(arrays[3] < 0):
            raise ValueError("x and pre_x must be non-negative (audit counts)")
        return cls(*arrays)


@dataclass(frozen=True)
class AdjustedDifference:
    """Raw and CUPED-adjusted comparisons of one metric.

    ``variance_reduction = 1 - Var_adj / Var_raw`` of the difference (0 when skipped). ``reason`` is
    a code from :mod:`analysis.reasons` when the adjustment was skipped (then ``adjusted is raw``).
    """

    raw: Difference
    adjusted: Difference
    theta: float
    variance_reduction: float
    reason: str | None

    @property
    def message(self) -> str:
        """Plain-language explanation of ``reason``."""
        return reasons.describe(self.reason)


def cuped_compare(
    control: UnitArrays | tuple, treatment: UnitArrays | tuple, alpha: float = 0.05
) -> AdjustedDifference:
    """Compare two arms with and without regression adjustment on the pre-period metric.

    Parameters
    ----------
    control, treatment : UnitArrays
        Per-unit arrays of each arm (a 4-tuple ``(y, x, pre_y, pre_x)`` is accepted too).
    alpha : float
        Two-sided level of the intervals.

    Returns
    -------
    AdjustedDifference

    References
    ----------
    .. [1] Deng, A., Xu, Y., Kohavi, R., Walker, T. (2013). Improving the Sensitivity of Online
       Controlled Experiments by Utilizing Pre-Experiment Data. WSDM 2013.
    .. [2] Deng, A., Knoblich, U., Lu, J. (2018). Applying the Delta Method in Metric Analytics.
       KDD 2018 (linearization of ratio metrics).
    """
    _alpha_iv(alpha)
    arms = [_arm(a) for a in (control, treatment)]
    arms = [_drop_unaudited(a) for a in arms]
    raw = compare(*(RatioStats.from_units(a.y, a.x) for a in arms), alpha=alpha)
    if raw.reason in (reasons.EMPTY_ARM, reasons.NO_AUDITS, reasons.SINGLE_UNIT):
        return AdjustedDifference(raw, raw, 0.0, 0.0, raw.reason)
    pre_x_all = np.concatenate([a.pre_x for a in arms])
    if not np.any(pre_x_all > 0):
        return AdjustedDifference(raw, raw, 0.0, 0.0, reasons.NO_PRE_PERIOD)

    ls = [linearized_outcome(a.y, a.x) for a in arms]
    ms = linearized_covariate([a.pre_y for a in arms], [a.pre_x for a in arms])
    theta = pooled_theta(ls, ms)
    if math.isnan(theta):
        return AdjustedDifference(raw, raw, 0.0, 0.0, reasons.CONSTANT_COVARIATE)

    means = [a.y.sum() / a.x.sum() - theta * m_a.mean() for a, m_a in zip(arms, ms, strict=True)]
    variances = hc2_arm_variances(ls, ms, theta)
    adjusted = difference_from_estimates(
        means[0], variances[0], len(ls[0]), means[1], variances[1], len(ls[1]), alpha, fitted=1
    )
    raw_var = raw.se**2
    reduction = 1.0 - adjusted.se**2 / raw_var if raw_var > 0 else 0.0
    return AdjustedDifference(raw, adjusted, theta, reduction, None)


def linearized_outcome(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``l_i = (y_i - R x_i) / mean(x)``: the unit's first-order contribution to ``R``."""
    r = y.sum() / x.sum()
    return (y - r * x) / x.mean()


def linearized_covariate(pre_y: list[np.ndarray], pre_x: list[np.ndarray]) -> list[np.ndarray]:
    """Per arm ``m_i = (pre_y_i - R_pre pre_x_i) / mean(pre_x)`` with pooled ``R_pre`` and
    ``mean(pre_x)``; units with ``pre_x == 0`` get 0 (no adjustment)."""
    all_y, all_x = np.concatenate(pre_y), np.concatenate(pre_x)
    has = all_x > 0
    r_pre = all_y[has].sum() / all_x[has].sum()
    scale = all_x.mean()
    return [np.where(px > 0, (py - r_pre * px) / scale, 0.0) for py, px in zip(pre_y, pre_x, strict=True)]


def pooled_theta(ls: list[np.ndarray], ms: list[np.ndarray]) -> float:
    """Within-arm least-squares slope of ``l`` on ``m`` pooled over arms (nan if ``m`` is constant
    within every arm)."""
    num = sum(float(np.dot(l_a - l_a.mean(), m_a - m_a.mean())) for l_a, m_a in zip(ls, ms, strict=True))
    den = sum(float(np.sum((m_a - m_a.mean()) ** 2)) for m_a in ms)
    scale = sum(float(np.sum(m_a**2)) for m_a in ms)
    if den <= 1e-12 * scale or den == 0:
        return math.nan
    return num / den


def hc2_arm_variances(ls: list[np.ndarray], ms: list[np.ndarray], theta: float) -> tuple[float, float]:
    """Each arm's part of the HC2 variance of the adjusted difference (control, treatment; module docstring)."""
    centred = [m_a - m_a.mean() for m_a in ms]
    s_mm = sum(float(np.dot(c, c)) for c in centred)
    gap = ms[1].mean() - ms[0].mean()
    out = []
    for sign, l_a, c in zip((-1.0, 1.0), ls, centred, strict=True):
        k = len(l_a)
        resid = (l_a - l_a.mean()) - theta * c
        weight = sign / k - gap * c / s_mm
        room = 1.0 - (1.0 / k + c * c / s_mm)
        out.append(float(np.sum(np.where(room > 1e-12, weight**2 * resid**2 / np.where(room > 1e-12, room, 1.0), 0.0))))
    return out[0], out[1]


def _arm(arm: UnitArrays | tuple) -> UnitArrays:
    if isinstance(arm, UnitArrays):
        return UnitArrays.of(arm.y, arm.x, arm.pre_y, arm.pre_x)
    if isinstance(arm, tuple) and len(arm) == 4:
        return UnitArrays.of(*arm)
    raise ValueError(f"arms must be UnitArrays or (y, x, pre_y, pre_x), got {type(arm).__name__}")


def _drop_unaudited(arm: UnitArrays) -> UnitArrays:
    """Units with no pilot-period audits carry no outcome (as in RatioStats.from_units)."""
    keep = arm.x > 0
    return UnitArrays(arm.y[keep], arm.x[keep], arm.pre_y[keep], arm.pre_x[keep])
