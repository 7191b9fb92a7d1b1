"""Ratio metrics with the moderator as the unit: sufficient statistics, delta-method variance,
two-arm comparison.

Moderators (or teams) are randomized and audits are clustered within them, so every metric is a
ratio ``R = sum(y) / sum(x)`` over units (``y_i`` the summed outcome, ``x_i`` the number of audits
of unit ``i``) and its variance comes from the delta method on unit-level sums, not from a per-audit
binomial formula (which ignores the between-moderator variation and under-covers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis import reasons

# Residual sums of squares below this fraction of the raw second moments are rounding noise, not
# variance.
_RELATIVE_ZERO = 1e-12


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided interval ``[low, high]``."""

    low: float
    high: float

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the closed interval."""
        return self.low <= value <= self.high

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low


_NAN_CI = ConfidenceInterval(math.nan, math.nan)


@dataclass(frozen=True)
class RatioStats:
    """Sufficient statistics of a ratio metric over K units (moderators or teams): per unit y_i =
    sum of the outcome, x_i = number of audits. Pools by addition (gbstats RatioStatistic).

    The six sums can be computed in SQL with ``GROUP BY unit`` and then summed per arm; pooling two
    disjoint sets of units is ``a + b``.

    References
    ----------
    .. [1] Deng, A., Knoblich, U., Lu, J. (2018). Applying the Delta Method in Metric Analytics:
       A Practical Guide with Novel Ideas. KDD 2018.
    """

    n: int
    sum_y: float
    sum_x: float
    sum_y2: float
    sum_x2: float
    sum_xy: float

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError(f"n must be >= 0, got {self.n}")

    def __add__(self, other: RatioStats) -> RatioStats:
        if not isinstance(other, RatioStats):
            return NotImplemented
        return RatioStats(
            n=self.n + other.n,
            sum_y=self.sum_y + other.sum_y,
            sum_x=self.sum_x + other.sum_x,
            sum_y2=self.sum_y2 + other.sum_y2,
            sum_x2=self.sum_x2 + other.sum_x2,
            sum_xy=self.sum_xy + other.sum_xy,
        )

    @classmethod
    def empty(cls) -> RatioStats:
        """Statistics of no units (the identity for ``+``)."""
        return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_units(cls, y: ArrayLike, x: ArrayLike) -> RatioStats:
        """Build from per-unit outcome sums ``y`` and audit counts ``x``; units with ``x == 0`` are
        excluded.

        Parameters
        ----------
        y : array_like, shape (K,)
            Per-unit sum of the outcome (e.g. number of correct audits).
        x : array_like, shape (K,)
            Per-unit number of audits (non-negative).
        """
        y_arr, x_arr = _units_iv(y, x)
        keep = x_arr > 0
        y_arr, x_arr = y_arr[keep], x_arr[keep]
        return cls(
            n=int(keep.sum()),
            sum_y=float(y_arr.sum()),
            sum_x=float(x_arr.sum()),
            sum_y2=float(y_arr @ y_arr),
            sum_x2=float(x_arr @ x_arr),
            sum_xy=float(x_arr @ y_arr),
        )

    @property
    def mean(self) -> float:
        """The ratio ``R = sum_y / sum_x`` (nan when ``sum_x == 0``)."""
        return self.sum_y / self.sum_x if self.sum_x != 0 else math.nan

    def residual_ss(self) -> float:
        """``sum_i (y_i - R x_i)^2`` from the sums, clipped at 0, snapped to 0 below rounding."""
        r = self.mean
        if math.isnan(r):
            return math.nan
        scale = self.sum_y2 + r * r * self.sum_x2
        ss = self.sum_y2 - 2.0 * r * self.sum_xy + r * r * self.sum_x2
        return 0.0 if ss <= _RELATIVE_ZERO * scale else ss

    def variance(self) -> float:
        """Delta-method variance of ``R``.

        ``Var(R) = sum_i (y_i - R x_i)^2 / (K (K-1) mean(x)^2)``, written with the sums as
        ``K (sum_y2 - 2 R sum_xy + R^2 sum_x2) / ((K-1) sum_x^2)``. This equals the textbook form
        ``(s_y^2 - 2 R s_xy + R^2 s_x^2) / (K xbar^2)`` with (K-1)-denominator sample moments,
        because ``ybar - R xbar = 0``. Nan when ``K < 2`` or ``sum_x == 0``.

        References
        ----------
        .. [1] Deng, Knoblich, Lu (2018), KDD, section 3 (ratio of means).
        """
        if self.n < 2 or self.sum_x == 0:
            return math.nan
        return self.n * self.residual_ss() / ((self.n - 1) * self.sum_x**2)

    def se(self) -> float:
        """Standard error of ``R`` (square root of :meth:`variance`)."""
        return math.sqrt(self.variance())


@dataclass(frozen=True)
class Difference:
    """Treatment minus control on the metric's own scale, and the relative lift.

    ``relative_ci`` uses the **log form**:
    ``exp(log(R_t/R_c) +- q * sqrt(V_t/R_t^2 + V_c/R_c^2)) - 1`` with ``q`` the t quantile at
    ``df``; it stays above -100% and is asymmetric as a ratio should be. When either mean is not
    positive (log undefined) it falls back to the **ratio form** ``relative +- q * relative_se``.
    ``relative_ci_form`` records which was used. ``relative_se`` is always the delta method on the
    ratio: ``Var(R_t/R_c) = V_t/R_c^2 + R_t^2 V_c/R_c^4``.

    When ``reason`` is not None (a code from :mod:`analysis.reasons`) the comparison is degenerate;
    fields that are meaningful are still filled (e.g. zero variance with equal means: difference 0,
    se 0, p 1.0), the rest are nan.
    """

    control_mean: float
    treatment_mean: float
    difference: float
    se: float
    df: float
    ci: ConfidenceInterval
    relative: float
    relative_se: float
    relative_ci: ConfidenceInterval
    p_value: float
    reason: str | None
    alpha: float = 0.05
    relative_ci_form: str = "log"

    @property
    def statistic(self) -> float:
        """The t statistic ``difference / se`` (nan when se is 0 or nan)."""
        if not self.se or math.isnan(self.se):
            return math.nan
        return self.difference / self.se

    @property
    def variance(self) -> float:
        """``se ** 2``, the variance of the difference."""
        return self.se**2

    @property
    def message(self) -> str:
        """Plain-language explanation of ``reason`` (empty when the comparison is regular)."""
        return reasons.describe(self.reason)


def lost_df_scale(units: int, fitted: int) -> float:
    """``(K - 2 - fitted) / (K - 2)``: the share of a two-arm comparison's degrees of freedom left after ``fitted``
    more coefficients (at least a tenth of them, so a pilot of four units keeps a usable, very wide t)."""
    if fitted == 0:
        return 1.0
    return max(0.1, (units - 2 - fitted) / (units - 2)) if units > 2 else 1.0


def welch_df(v_c: float, k_c: int, v_t: float, k_t: int) -> float:
    """Welch-Satterthwaite degrees of freedom for ``V_c + V_t`` estimated from ``K_c`` and ``K_t``
    units.

    ``df = (V_c + V_t)^2 / (V_c^2/(K_c-1) + V_t^2/(K_t-1))``; inf when both variances are 0 (no
    uncertainty to propagate) and nan when a variance is undefined.

    References
    ----------
    .. [1] Satterthwaite, F. E. (1946). An Approximate Distribution of Estimates of Variance
       Components. Biometrics Bulletin 2(6), 110-114.
    .. [2] Welch, B. L. (1947). The generalization of "Student's" problem when several
       different population variances are involved. Biometrika 34, 28-35.
    """
    if k_c < 2 or k_t < 2 or math.isnan(v_c) or math.isnan(v_t):
        return math.nan
    denom = v_c**2 / (k_c - 1) + v_t**2 / (k_t - 1)
    if denom == 0:
        return math.inf
    return (v_c + v_t) ** 2 / denom


def compare(control: RatioStats, treatment: RatioStats, alpha: float = 0.05) -> Difference:
    """Compare two arms of a ratio metric: difference, relative lift, Welch t interval and p-value.

    Parameters
    ----------
    control, treatment : RatioStats
        Sufficient statistics of each arm.
    alpha : float
        Two-sided level; the intervals have coverage ``1 - alpha``.

    Returns
    -------
    Difference
        Never raises on degenerate data; see ``Difference.reason``.

    References
    ----------
    .. [1] Deng, Knoblich, Lu (2018). Applying the Delta Method in Metric Analytics. KDD.
    .. [2] Satterthwaite (1946); Welch (1947) for the degrees of freedom.
    """
    _compare_iv(control, treatment, alpha)
    r_c, r_t = control.mean, treatment.mean
    if control.n == 0 or treatment.n == 0:
        return _degenerate(r_c, r_t, alpha, reasons.EMPTY_ARM)
    if control.sum_x == 0 or treatment.sum_x == 0:
        return _degenerate(r_c, r_t, alpha, reasons.NO_AUDITS)
    if control.n < 2 or treatment.n < 2:
        return _degenerate(r_c, r_t, alpha, reasons.SINGLE_UNIT)

    return difference_from_estimates(r_c, control.variance(), control.n, r_t, treatment.variance(), treatment.n, alpha)


def difference_from_estimates(
    control_mean: float,
    control_var: float,
    control_n: int,
    treatment_mean: float,
    treatment_var: float,
    treatment_n: int,
    alpha: float = 0.05,
    *,
    fitted: int = 0,
) -> Difference:
    """Build a :class:`Difference` from two independent arm estimates and their variances.

    The shared back end of :func:`compare`, used also for regression-adjusted (CUPED) and
    per-segment estimates: Welch-Satterthwaite df from the variances and unit counts, t interval and
    two-sided p-value, relative lift by the delta method (log-form interval).

    Parameters
    ----------
    control_mean, treatment_mean : float
        Arm estimates.
    control_var, treatment_var : float
        Their variances (non-negative).
    control_n, treatment_n : int
        Units behind each estimate (for the degrees of freedom); both must be >= 2.
    alpha : float
        Two-sided level.
    fitted : int
        Coefficients estimated beyond the two arm means (1 for a pre-period covariate): the Welch df are scaled by
        ``(K - 2 - fitted) / (K - 2)``, so with equal arms and spreads they reach ``K - 2 - fitted``, the residual
        df of the regression.
    """
    _alpha_iv(alpha)
    for name, value in (("control_var", control_var), ("treatment_var", treatment_var)):
        if not value >= 0:
            raise ValueError(f"{name} must be a non-negative number, got {value}")
    if control_n < 2 or treatment_n < 2:
        raise ValueError(f"control_n and treatment_n must be >= 2, got {control_n}, {treatment_n}")
    r_c, r_t, v_c, v_t = control_mean, treatment_mean, control_var, treatment_var
    diff = r_t - r_c
    var = v_c + v_t
    df = welch_df(v_c, control_n, v_t, treatment_n) * lost_df_scale(control_n + treatment_n, fitted)
    if var == 0:
        return _zero_variance(r_c, r_t, alpha)

    se = math.sqrt(var)
    q = float(stats.t.ppf(1 - alpha / 2, df))
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    ci = ConfidenceInterval(diff - q * se, diff + q * se)
    if r_c == 0:
        return Difference(
            r_c,
            r_t,
            diff,
            se,
            df,
            ci,
            math.nan,
            math.nan,
            _NAN_CI,
            p,
            reasons.ZERO_CONTROL_MEAN,
            alpha,
        )
    relative, rel_se, rel_ci, form = _relative(r_c, v_c, r_t, v_t, q)
    return Difference(r_c, r_t, diff, se, df, ci, relative, rel_se, rel_ci, p, None, alpha, form)


def _relative(r_c: float, v_c: float, r_t: float, v_t: float, q: float) -> tuple[float, float, ConfidenceInterval, str]:
    relative = r_t / r_c - 1
    rel_se = math.sqrt(v_t / r_c**2 + r_t**2 * v_c / r_c**4)
    if r_c > 0 and r_t > 0:
        log_se = math.sqrt(v_t / r_t**2 + v_c / r_c**2)
        log_ratio = math.log(r_t / r_c)
        ci = ConfidenceInterval(_expm1_or_inf(log_ratio - q * log_se), _expm1_or_inf(log_ratio + q * log_se))
        return relative, rel_se, ci, "log"
    return (
        relative,
        rel_se,
        ConfidenceInterval(relative - q * rel_se, relative + q * rel_se),
        "ratio",
    )


def _expm1_or_inf(x: float) -> float:
    """``exp(x) - 1``, infinite instead of an OverflowError: with a handful of units and their degrees of freedom the
    t quantile can be so large that the upper end of a log-form interval exceeds a double (an 8-team pilot with
    delayed outcomes did, and `GET /results` answered 500)."""
    return math.expm1(x) if x < 700.0 else math.inf


def _zero_variance(r_c: float, r_t: float, alpha: float) -> Difference:
    """Every unit has the same rate within each arm: no sampling noise is estimable.

    Equal means give the meaningful answer "no difference" (p = 1). Unequal means with zero spread
    follow ``scipy.stats.ttest_ind`` (t infinite, p = 0), but the reason code still marks the result
    as degenerate so no verdict should rest on it alone.
    """
    diff = r_t - r_c
    relative = r_t / r_c - 1 if r_c != 0 else math.nan
    point = ConfidenceInterval(diff, diff)
    rel_point = ConfidenceInterval(relative, relative) if r_c != 0 else _NAN_CI
    p = 1.0 if diff == 0 else 0.0
    rel_se = 0.0 if r_c != 0 else math.nan
    return Difference(
        r_c,
        r_t,
        diff,
        0.0,
        math.inf,
        point,
        relative,
        rel_se,
        rel_point,
        p,
        reasons.ZERO_VARIANCE,
        alpha,
    )


def _degenerate(r_c: float, r_t: float, alpha: float, reason: str) -> Difference:
    diff = r_t - r_c
    relative = r_t / r_c - 1 if r_c and not math.isnan(r_c) else math.nan
    return Difference(
        r_c,
        r_t,
        diff,
        math.nan,
        math.nan,
        _NAN_CI,
        relative,
        math.nan,
        _NAN_CI,
        math.nan,
        reason,
        alpha,
    )


def _compare_iv(control: RatioStats, treatment: RatioStats, alpha: float) -> None:
    if not isinstance(control, RatioStats):
        raise ValueError(f"control must be RatioStats, got {type(control).__name__}")
    if not isinstance(treatment, RatioStats):
        raise ValueError(f"treatment must be RatioStats, got {type(treatment).__name__}")
    _alpha_iv(alpha)


def _alpha_iv(alpha: float) -> None:
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _units_iv(y: ArrayLike, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float)
    x_arr = np.asarray(x, dtype=float)
    if y_arr.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y_arr.shape}")
    if x_arr.shape != y_arr.shape:
        raise ValueError(f"x must have the same shape as y, got {x_arr.shape} and {y_arr.shape}")
    if not (np.all(np.isfinite(y_arr)) and np.all(np.isfinite(x_arr))):
        raise ValueError("y and x must be finite")
    if np.any(x_arr < 0):
        raise ValueError("x must be non-negative (audit counts)")
    return y_arr, x_arr
