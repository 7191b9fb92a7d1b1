"""A confidence interval that may be read every day: the normal-mixture confidence sequence at one reading.

A fixed-horizon interval holds its level only if it is read once. Read at every look of a running pilot, the chance
that it excludes the truth at some look grows with the number of looks (daily reads of a 95% interval over six weeks
exclude a zero effect in roughly a quarter of pilots). The normal-mixture boundary of `analysis.always_valid` does
not have that problem: by Ville's inequality the probability that ``|d - delta| / sqrt(V) >= c(V)`` at *any* time is
at most ``alpha``, whatever the schedule and however often it is read, and ``c(V)`` depends only on the current
variance. So ``d -+ c(V) sqrt(V)`` is a valid interval at every reading without keeping any history; intersecting
the readings over time (as the primary analysis does) would only narrow it.

The mixture variance ``tau2`` sets where the boundary is tightest; it is tuned (`analysis.always_valid.tune_tau2`)
to ``target_se ** 2``, the variance expected at the pilot's planned end. A reading projects it from its own: a
comparison's variance falls like one over its audits, and audits accrue with the days, so
``V_end ~ V * elapsed / planned`` (`projected_final_se`). That uses the amount and spread of the data, never the
sign or size of the estimate (`tests/analysis/test_confidence_sequence.py` measures the rate of false findings
under daily reads). As in the primary analysis, the z threshold is mapped to Student t with the reading's
Welch-Satterthwaite degrees of freedom.

References
----------
.. [1] Howard, S. R., Ramdas, A., McAuliffe, J. and Sekhon, J. (2021). Time-uniform, nonparametric, nonasymptotic
       confidence sequences. Annals of Statistics 49(2), 1055-1080.
.. [2] Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm. Annals of
       Mathematical Statistics 41(5), 1397-1409.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis.always_valid import mixture_threshold, tune_tau2
from analysis.ratio import ConfidenceInterval


def projected_final_se(se: float, elapsed_days: int, planned_days: int) -> float:
    """The standard error a comparison read after ``elapsed_days`` of ``planned_days`` is expected to reach at the
    planned end, ``se * sqrt(elapsed / planned)`` (``se`` itself once the end is reached)."""
    if planned_days < 1 or elapsed_days < 1:
        raise ValueError(f"elapsed and planned days must be at least 1, got {elapsed_days} and {planned_days}")
    return se * math.sqrt(min(elapsed_days, planned_days) / planned_days)


def mixture_half_width(se: ArrayLike, df: ArrayLike, alpha: float, target_se: ArrayLike) -> np.ndarray | float:
    """Half-width of the two-sided ``1 - alpha`` confidence sequence at a reading with standard error ``se`` and
    Welch ``df`` (infinite: normal), the mixture tuned to ``target_se`` (module docstring); vectorised, a float for
    scalar arguments. nan where ``se`` is not a positive finite number."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    se, df, target = (np.asarray(v, dtype=float) for v in (se, df, target_se))
    if not np.all(np.isfinite(target) & (target > 0)):
        raise ValueError("target_se must be positive and finite")
    usable = np.isfinite(se) & (se > 0)
    v = np.where(usable, se, 1.0) ** 2
    c = mixture_threshold(v, _tau2_ratio(alpha) * target * target, alpha)
    with np.errstate(invalid="ignore"):
        c = np.where(np.isfinite(df) & (df > 0), stats.t.isf(stats.norm.sf(c), np.where(df > 0, df, 1.0)), c)
    half = np.where(usable, c * np.sqrt(v), np.nan)
    return float(half) if half.ndim == 0 else half


def mixture_interval(estimate: float, se: float, df: float, alpha: float, target_se: float) -> ConfidenceInterval:
    """``estimate -+ mixture_half_width(...)``: valid at this reading whatever readings came before or follow."""
    half = float(mixture_half_width(se, df, alpha, target_se))
    return ConfidenceInterval(estimate - half, estimate + half)


@lru_cache(maxsize=32)
def _tau2_ratio(alpha: float) -> float:
    """``tau2 / V`` of the mixture tuned to the variance ``V`` (`analysis.always_valid.tune_tau2` is linear in it)."""
    return tune_tau2(1.0, alpha)


__all__ = ["mixture_half_width", "mixture_interval", "projected_final_se"]
