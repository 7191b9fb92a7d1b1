"""Per-segment effects (site, language, tenure band) with Cochran's Q heterogeneity test and I^2.

Segment results are descriptive. With several segments, one of them will look "significant" by
chance; the honest question is whether the effects differ more than sampling noise allows, which is
what Cochran's Q answers. Every result carries a warning against picking the best segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from analysis import reasons
from analysis.ratio import Difference, RatioStats, _alpha_iv, compare

CHERRY_PICKING_WARNING = (
    "Segment results are descriptive. With several segments, some will look better or worse by "
    "chance alone; do not pick the best-looking segment to declare success or to roll out. Only a "
    "significant heterogeneity test, ideally on a segment named before the pilot started, "
    "suggests the effect truly differs, and even then it needs confirmation in a new pilot."
)


@dataclass(frozen=True)
class SegmentEffect:
    """The treatment-minus-control comparison within one segment level."""

    level: str
    difference: Difference


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q with ``k - 1`` degrees of freedom and Higgins' ``I^2 = max(0, (Q - df) / Q)``
    over the ``k`` segments with a usable estimate (``levels``)."""

    q: float
    df: int
    p_value: float
    i_squared: float
    pooled: float
    levels: tuple[str, ...]
    reason: str | None = None


@dataclass(frozen=True)
class SegmentAnalysis:
    """Per-level effects of one attribute, the heterogeneity test and the cherry-picking warning."""

    attribute: str
    effects: tuple[SegmentEffect, ...]
    heterogeneity: Heterogeneity
    warning: str = CHERRY_PICKING_WARNING


def segment_effects(
    segments: Mapping[str, tuple[RatioStats, RatioStats]],
    attribute: str = "segment",
    alpha: float = 0.05,
) -> SegmentAnalysis:
    """Compare arms within each segment level and test whether the effects differ.

    Parameters
    ----------
    segments : mapping
        ``level -> (control, treatment)`` sufficient statistics.
    attribute : str
        Name of the segmenting attribute (for display).
    alpha : float
        Two-sided level of the per-segment intervals.

    Returns
    -------
    SegmentAnalysis
        Levels in the mapping's order. Levels whose comparison is degenerate (reason set, or zero
        variance) appear in ``effects`` but are left out of the Q test.
    """
    _alpha_iv(alpha)
    if not isinstance(segments, Mapping) or not segments:
        raise ValueError("segments must be a non-empty mapping of level -> (control, treatment)")
    effects = tuple(SegmentEffect(str(level), compare(c, t, alpha)) for level, (c, t) in segments.items())
    usable = [e for e in effects if e.difference.reason is None and e.difference.se > 0]
    het = cochran_q(
        [e.difference.difference for e in usable],
        [e.difference.se**2 for e in usable],
        levels=[e.level for e in usable],
    )
    return SegmentAnalysis(attribute, effects, het)


def cochran_q(estimates: ArrayLike, variances: ArrayLike, levels: list[str] | None = None) -> Heterogeneity:
    """Cochran's Q test of equal effects across independent estimates, with I^2.

    ``w_i = 1 / v_i``, ``pooled = sum w_i e_i / sum w_i``, ``Q = sum w_i (e_i - pooled)^2`` compared
    with chi-square on ``k - 1`` df. Fewer than two estimates give a result with reason
    ``TOO_FEW_SEGMENTS`` and nan statistics.

    References
    ----------
    .. [1] Cochran, W. G. (1954). The Combination of Estimates from Different Experiments.
       Biometrics 10(1), 101-129.
    .. [2] Higgins, J. P. T., Thompson, S. G. (2002). Quantifying heterogeneity in a meta-analysis.
       Statistics in Medicine 21(11), 1539-1558.
    """
    e = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    if e.shape != v.shape or e.ndim != 1:
        raise ValueError("estimates and variances must be one-dimensional and of equal length")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("estimates must be finite and variances finite and positive")
    names = tuple(levels) if levels is not None else tuple(str(i) for i in range(len(e)))
    if len(names) != len(e):
        raise ValueError("levels must name every estimate")
    if len(e) < 2:
        nan = math.nan
        return Heterogeneity(nan, 0, nan, nan, nan, names, reasons.TOO_FEW_SEGMENTS)
    w = 1.0 / v
    pooled = float(np.sum(w * e) / np.sum(w))
    q = float(np.sum(w * (e - pooled) ** 2))
    df = len(e) - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return Heterogeneity(q, df, float(stats.chi2.sf(q, df)), i2, pooled, names)
