"""Inter-rater agreement of QA auditors on double-audited items: Gwet's AC1 and Krippendorff's alpha, with intervals.

When the same content item is audited by two (or more) auditors, their verdicts on `correct` (or `critical`) say
how noisy the QA yardstick is. Cohen's kappa collapses when one category dominates (most audits are `correct`), the
"kappa paradox"; Gwet's AC1 stays interpretable there, and Krippendorff's alpha handles any number of raters per item
and missing ratings. Both are reported with standard errors by Gwet's linearization over items (items are the
sampling units), t intervals on ``n - 1`` degrees of freedom and the upper bound capped at 1.

Input is the item x category count matrix ``counts[i, k]``: how many auditors put item ``i`` in category ``k``.

References
----------
.. [1] Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high agreement.
   British Journal of Mathematical and Statistical Psychology 61, 29-48.
.. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., chapters 2 and 5 (multiple raters,
   missing ratings, variances); the 4-rater example of the handbook (AC1 0.7754, standard error 0.1430).
.. [3] Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for Communication.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis import reasons
from analysis.ratio import ConfidenceInterval

_NAN_CI = ConfidenceInterval(math.nan, math.nan)


@dataclass(frozen=True)
class Agreement:
    """An agreement coefficient with its standard error and ``1 - alpha`` interval over ``items`` rated twice or
    more. ``observed`` and ``chance`` are the percent agreement and the chance agreement it corrects for."""

    coefficient: float
    se: float
    ci: ConfidenceInterval
    items: int
    observed: float
    chance: float
    reason: str | None = None


def rating_counts(items: ArrayLike, values: ArrayLike, categories: int = 2) -> np.ndarray:
    """The item x category count matrix from ratings in long form.

    Parameters
    ----------
    items : array_like of int
        Item index (0 .. n-1) of each rating.
    values : array_like of int
        Category index (0 .. categories-1) of each rating.
    categories : int
        Number of categories (2 for `correct` and `critical`).
    """
    i = np.asarray(items, dtype=np.int64)
    v = np.asarray(values, dtype=np.int64)
    if i.shape != v.shape or i.ndim != 1:
        raise ValueError("items and values must be one-dimensional and of equal length")
    if v.size and (v.min() < 0 or v.max() >= categories):
        raise ValueError(f"values must be category indexes in 0..{categories - 1}")
    if i.size and i.min() < 0:
        raise ValueError("items must be non-negative indexes")
    n = int(i.max()) + 1 if i.size else 0
    return np.bincount(i * categories + v, minlength=n * categories).reshape(n, categories).astype(float)


def gwet_ac1(counts: ArrayLike, alpha: float = 0.05) -> Agreement:
    """Gwet's AC1 for any number of raters per item (items rated once count in the category shares only).

    ``pa`` averages, over items with ``r_i >= 2`` ratings, the share of agreeing rater pairs
    ``sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))``; the chance agreement is
    ``pe = sum_k pi_k (1 - pi_k) / (q - 1)`` with ``pi_k`` the mean over all items of ``r_ik / r_i``;
    ``AC1 = (pa - pe) / (1 - pe)``. The variance is Gwet's linearization (handbook, section 5):
    per-item terms ``ac1_i = (n / n2) (pa_i - pe [r_i >= 2]) / (1 - pe)`` corrected by
    ``- 2 (1 - AC1) (pe_i - pe) / (1 - pe)`` with ``pe_i = sum_k (r_ik / r_i) (1 - pi_k) / (q - 1)``, and
    ``Var = sum_i (ac1_i* - AC1)^2 / (n (n - 1))``.
    """
    r, a = _counts_iv(counts, alpha)
    n, q = r.shape
    ri = r.sum(axis=1)
    r, ri = r[ri > 0], ri[ri > 0]
    n = r.shape[0]
    multi = ri >= 2
    n2 = int(multi.sum())
    if n2 < 2:
        return _undefined(n2, reasons.TOO_FEW_DOUBLE_AUDITS)
    pairs = np.where(multi, ri * (ri - 1), 1.0)
    pa_i = np.where(multi, (r * (r - 1)).sum(axis=1) / pairs, 0.0)
    pa = float(pa_i[multi].mean())
    shares = r / ri[:, None]
    pi = shares.mean(axis=0)
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    ac1 = (pa - pe) / (1 - pe)
    term = (n / n2) * (pa_i - pe * multi) / (1 - pe)
    pe_i = shares @ (1 - pi) / (q - 1)
    term = term - 2 * (1 - ac1) * (pe_i - pe) / (1 - pe)
    variance = float(((term - ac1) ** 2).sum() / (n * (n - 1)))
    return _result(ac1, variance, n - 1, n2, pa, pe, a)


def krippendorff_alpha(counts: ArrayLike, alpha: float = 0.05) -> Agreement:
    """Krippendorff's alpha for nominal data, any number of raters per item, missing ratings allowed.

    Computed from the coincidence matrix (Krippendorff 2011): items with one rating are not pairable and drop out;
    ``alpha = 1 - D_o / D_e`` with observed disagreement ``D_o = 1 - sum_c o_cc / N`` and expected
    ``D_e = 1 - sum_c N_c (N_c - 1) / (N (N - 1))`` over the ``N`` pairable ratings. The standard error is Gwet's
    linearization for alpha (handbook, section 5.3), over the pairable items. Undefined (reason set) when every
    pairable rating is in one category: there is no variation to agree on.
    """
    r, a = _counts_iv(counts, alpha)
    ri = r.sum(axis=1)
    r, ri = r[ri >= 2], ri[ri >= 2]
    n = r.shape[0]
    if n < 2:
        return _undefined(n, reasons.TOO_FEW_DOUBLE_AUDITS)
    big_n = float(ri.sum())
    coincide = ((r * (r - 1)).sum(axis=1) / (ri - 1)).sum()  # sum_c o_cc
    n_c = r.sum(axis=0)
    expected_disagreement = 1 - float((n_c * (n_c - 1)).sum()) / (big_n * (big_n - 1))
    if expected_disagreement <= 0:
        return _undefined(n, reasons.NO_RATING_VARIATION)
    observed_disagreement = 1 - coincide / big_n
    value = 1 - observed_disagreement / expected_disagreement
    # Gwet's linearization, in his notation: r_bar the mean ratings per item, pa' the uncorrected agreement.
    r_bar = float(ri.mean())
    agree_i = (r * (r - 1)).sum(axis=1) / (r_bar * (ri - 1))
    pa_prime = float(agree_i.mean())
    eps = 1 / big_n
    pa = (1 - eps) * pa_prime + eps
    pi = (r / r_bar).mean(axis=0)
    pe = float((pi * pi).sum())
    alpha_prime = (pa_prime - pe) / (1 - pe)
    pa_i = agree_i - pa * (ri - r_bar) / r_bar
    pe_i = r @ pi / r_bar - pe * (ri - r_bar) / r_bar
    term = (pa_i - pe) / (1 - pe) - 2 * (1 - alpha_prime) * (pe_i - pe) / (1 - pe)
    variance = float(((term - alpha_prime) ** 2).sum() / (n * (n - 1)))
    return _result(value, variance, n - 1, n, 1 - observed_disagreement, 1 - expected_disagreement, a)


def _result(value: float, variance: float, df: int, items: int, observed: float, chance: float, a: float) -> Agreement:
    se = math.sqrt(max(variance, 0.0))
    if se == 0:
        ci = ConfidenceInterval(value, min(1.0, value))
    else:
        half = float(stats.t.ppf(1 - a / 2, df)) * se
        ci = ConfidenceInterval(value - half, min(1.0, value + half))
    return Agreement(float(value), se, ci, items, float(observed), float(chance))


def _undefined(items: int, reason: str) -> Agreement:
    return Agreement(math.nan, math.nan, _NAN_CI, items, math.nan, math.nan, reason)


def _counts_iv(counts: ArrayLike, alpha: float) -> tuple[np.ndarray, float]:
    r = np.asarray(counts, dtype=float)
    if r.ndim != 2 or r.shape[1] < 2:
        raise ValueError(f"counts must be an items x categories matrix with at least 2 categories, got {r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r < 0) or np.any(r != np.round(r)):
        raise ValueError("counts must be non-negative whole numbers")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return r, float(alpha)
