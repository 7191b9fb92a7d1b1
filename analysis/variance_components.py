"""Between- and within-moderator variance: the two-level model behind planning and information curves.

Audits are nested in moderators: moderator i has a true rate (or mean) ``mu_i`` that varies across moderators with
variance ``sigma_b^2``, and its audits vary around ``mu_i`` with variance ``sigma_w^2``. More audits shrink only the
within part, which is why information approaches a ceiling on a fixed cohort (METHODS.md sections 4 and 7).

Estimation is the ANOVA (method-of-moments) estimator for the unbalanced one-way random-effects model, computed from
per-unit sufficient statistics, so it runs on the same per-unit sums the rest of `analysis` uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.reasons import TOO_FEW_UNITS

NO_WITHIN_REPLICATION = "no_within_replication"

__all__ = [
    "VarianceComponents",
    "VarianceComponentsEstimate",
    "estimate_variance_components",
]


@dataclass(frozen=True)
class VarianceComponents:
    """The two-level variance model: ``between`` = sigma_b^2, ``within`` = sigma_w^2 (per audit)."""

    between: float
    within: float

    def __post_init__(self) -> None:
        if not (self.between >= 0.0 and self.within >= 0.0):
            raise ValueError(f"variances must be >= 0, got between={self.between}, within={self.within}")

    @property
    def icc(self) -> float:
        """Intraclass correlation sigma_b^2 / (sigma_b^2 + sigma_w^2) (0 when both are zero)."""
        total = self.between + self.within
        return self.between / total if total > 0 else 0.0

    def design_effect(self, audits_per_unit: float) -> float:
        """Variance inflation over independent audits, ``1 + (m - 1) ICC`` for m audits per unit."""
        return 1.0 + (audits_per_unit - 1.0) * self.icc

    def unit_mean_variance(self, audits_per_unit: float) -> float:
        """Variance of one unit's observed mean over m audits: ``sigma_b^2 + sigma_w^2 / m``."""
        if audits_per_unit <= 0:
            raise ValueError(f"audits_per_unit must be > 0, got {audits_per_unit}")
        return self.between + self.within / audits_per_unit

    @classmethod
    def from_icc(cls, icc: float, total_variance: float) -> VarianceComponents:
        """Split a total per-audit variance by an ICC (e.g. ``p (1 - p)`` for a proportion)."""
        if not 0.0 <= icc <= 1.0:
            raise ValueError(f"icc must be in [0, 1], got {icc}")
        if total_variance < 0:
            raise ValueError(f"total_variance must be >= 0, got {total_variance}")
        return cls(between=icc * total_variance, within=(1.0 - icc) * total_variance)

    @classmethod
    def for_proportion(cls, rate: float, between_sd: float) -> VarianceComponents:
        """Binary outcome with mean ``rate`` and between-unit sd of the true rates ``between_sd``.

        The within-unit variance is the average Bernoulli variance ``E[p_i (1 - p_i)] = rate (1 - rate) - sd^2``.
        """
        if not 0.0 < rate < 1.0:
            raise ValueError(f"rate must be in (0, 1), got {rate}")
        within = rate * (1.0 - rate) - between_sd**2
        if within < 0:
            raise ValueError(f"between_sd {between_sd} is impossible for a rate of {rate}")
        return cls(between=between_sd**2, within=within)


@dataclass(frozen=True)
class VarianceComponentsEstimate:
    """ANOVA estimate of the two-level model.

    ``components.between`` is truncated at zero; ``between_unbounded`` keeps the raw moment estimate (negative when
    the between-unit mean square falls below the within one, i.e. no detectable heterogeneity). ``reason`` is
    ``None`` or a code explaining a degenerate input (``"too_few_units"``, ``"no_within_replication"``).
    """

    components: VarianceComponents
    between_unbounded: float
    mean: float
    n_units: int
    n_audits: int
    n0: float
    ms_between: float
    ms_within: float
    reason: str | None = None

    @property
    def icc(self) -> float:
        return self.components.icc

    def design_effect(self, audits_per_unit: float) -> float:
        return self.components.design_effect(audits_per_unit)


def _estimate_iv(y, x, y2, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    y2 = y.copy() if y2 is None else np.asarray(y2, dtype=float)
    if not (y.ndim == x.ndim == y2.ndim == 1 and y.shape == x.shape == y2.shape):
        raise ValueError("y, x and y2 must be one-dimensional arrays of the same length")
    if np.any(x < 0) or not np.all(np.isfinite(np.concatenate([y, x, y2]))):
        raise ValueError("x must be >= 0 and all inputs finite")
    g = np.zeros(y.shape, dtype=np.int64) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    if g.shape != y.shape:
        raise ValueError("groups must have one entry per unit")
    keep = x > 0
    return y[keep], x[keep], y2[keep], g[keep]


def estimate_variance_components(y, x, y2=None, groups=None) -> VarianceComponentsEstimate:
    """Estimate sigma_b^2 and sigma_w^2 from per-unit sums, allowing unequal audits per unit.

    Parameters
    ----------
    y : array_like
        Per-unit sum of the outcome (correct audits, handle seconds, ...).
    x : array_like
        Per-unit number of audits; units with zero audits are ignored.
    y2 : array_like, optional
        Per-unit sum of squared outcomes. Omit for binary outcomes, where it equals ``y``.
    groups : array_like, optional
        A fixed group of each unit (the arm, on pilot data): the between-unit variance is then measured around each
        group's own mean, so a real difference between arms does not count as moderator heterogeneity. With ``G``
        groups ``MSB = sum_i n_i (ybar_i - ybar_g(i))^2 / (K - G)`` and
        ``n0 = (N - sum_g sum_(i in g) n_i^2 / N_g) / (K - G)`` (each group's one-way ANOVA, pooled).

    Returns
    -------
    VarianceComponentsEstimate
        With ``MSW = sum_i (y2_i - y_i^2 / n_i) / (N - K)``, ``MSB = sum_i n_i (ybar_i - ybar)^2 / (K - 1)`` and
        ``n0 = (N - sum_i n_i^2 / N) / (K - 1)``: ``sigma_w^2 = MSW`` and ``sigma_b^2 = (MSB - MSW) / n0``, which is
        unbiased for unbalanced data (Searle et al. 1992, section 3.6).

    References
    ----------
    .. [1] Searle, S. R., Casella, G., McCulloch, C. E. (1992). Variance Components. Wiley, ch. 3 ("The 1-way
       classification"), ANOVA estimation for unbalanced data.
    .. [2] Donner, A., Koval, J. J. (1980). The estimation of intraclass correlation in the analysis of family data.
       Biometrics 36(1), 19-25 (the n0-adjusted ANOVA estimator of the ICC).
    """
    y, x, y2, g = _estimate_iv(y, x, y2, groups)
    k, n = int(x.size), float(x.sum())
    mean = float(y.sum() / n) if n > 0 else float("nan")
    n_groups = int(np.unique(g).size)
    if k - n_groups < 1:
        zero = VarianceComponents(0.0, 0.0)
        return VarianceComponentsEstimate(
            zero, float("nan"), mean, k, int(n), float("nan"), float("nan"), float("nan"), TOO_FEW_UNITS
        )
    ss_within = float(np.sum(y2 - y**2 / x))
    group_x = np.bincount(g, weights=x)
    group_mean = np.bincount(g, weights=y) / group_x
    ss_between = float(np.sum(x * (y / x - group_mean[g]) ** 2))
    ms_between = ss_between / (k - n_groups)
    n0 = (n - float(np.sum(np.bincount(g, weights=x**2) / group_x))) / (k - n_groups)
    if n <= k:
        # One audit per unit: within and between variance cannot be separated.
        total = VarianceComponents(0.0, max(ms_between, 0.0))
        return VarianceComponentsEstimate(
            total, float("nan"), mean, k, int(n), n0, ms_between, float("nan"), NO_WITHIN_REPLICATION
        )
    ms_within = max(ss_within, 0.0) / (n - k)
    between = (ms_between - ms_within) / n0
    return VarianceComponentsEstimate(
        components=VarianceComponents(max(between, 0.0), ms_within),
        between_unbounded=between,
        mean=mean,
        n_units=k,
        n_audits=int(n),
        n0=n0,
        ms_between=ms_between,
        ms_within=ms_within,
    )
