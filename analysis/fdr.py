"""Benjamini-Hochberg q-values: false-discovery-rate control for the descriptive policy and queue cells.

A pilot broken down by ten policies and two queues produces a dozen or more p-values; at alpha 0.05 one of them will
look "significant" by chance in most pilots. The step-up procedure of Benjamini and Hochberg bounds the expected
share of false discoveries among the cells called significant (for independent or positively dependent tests, which
cells of disjoint audits over the same moderators are close to). The q-value of a cell is the smallest FDR level at
which it would be called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def bh_qvalues(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values); nan entries stay nan and do not count as tests.

    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the ``m`` finite p-values sorted ascending, the same numbers as
    ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``.

    Parameters
    ----------
    p_values : sequence of float
        Two-sided p-values in [0, 1], nan for cells without a test.

    Returns
    -------
    list of float
        q-values in the input order.

    References
    ----------
    .. [1] Benjamini, Y., Hochberg, Y. (1995). Controlling the False Discovery Rate: A Practical and Powerful
       Approach to Multiple Testing. JRSS B 57(1), 289-300.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be one-dimensional, got shape {p.shape}")
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("p_values must lie in [0, 1]")
    out = np.full(p.shape, math.nan)
    index = np.flatnonzero(finite)
    m = index.size
    if m == 0:
        return out.tolist()
    order = index[np.argsort(p[index], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    # Running minimum from the largest p-value down: the step-up rule.
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()
