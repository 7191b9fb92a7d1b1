"""Lan-DeMets alpha (and beta) spending functions.

A spending function gives the cumulative error probability allowed to be spent by information
fraction ``t``; boundaries then follow from it for whatever fractions are actually observed, so
looks may be unequally spaced or skipped. Fractions beyond 1 spend the full amount.

References
----------
.. [1] Lan, K. K. G. and DeMets, D. L. (1983). Discrete sequential boundaries for clinical
       trials. Biometrika 70(3), 659-663.
.. [2] Jennison, C. and Turnbull, B. W. (2000). Group Sequential Methods with Applications to
       Clinical Trials, section 7.2. Chapman & Hall/CRC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy import stats

SpendingName = Literal["obf", "pocock"]
SpendingFunction = Callable[[np.ndarray, float], np.ndarray]


def obrien_fleming(t: np.ndarray, total: float) -> np.ndarray:
    """O'Brien-Fleming-type spending ``2 - 2 Phi(z_{1-total/2} / sqrt(t))`` (one side).

    Parameters
    ----------
    t : array_like
        Information fractions (values above 1 are treated as 1).
    total : float
        Error to spend on this side by ``t = 1`` (e.g. 0.025 per side for a two-sided 0.05).

    Returns
    -------
    numpy.ndarray
        Cumulative error spent at each ``t``.

    References
    ----------
    .. [1] Lan, K. K. G. and DeMets, D. L. (1983). Biometrika 70(3), 659-663.
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    z = stats.norm.isf(total / 2.0)
    with np.errstate(divide="ignore"):
        out = 2.0 * stats.norm.sf(z / np.sqrt(t))
    return np.where(t > 0, out, 0.0)


def pocock(t: np.ndarray, total: float) -> np.ndarray:
    """Pocock-type spending ``total * ln(1 + (e - 1) t)`` (one side).

    References
    ----------
    .. [1] Lan, K. K. G. and DeMets, D. L. (1983). Biometrika 70(3), 659-663.
    """
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    return total * np.log1p((np.e - 1.0) * t)


_SPENDING: dict[str, SpendingFunction] = {"obf": obrien_fleming, "pocock": pocock}


def resolve(spending: SpendingName | SpendingFunction) -> SpendingFunction:
    """Return the spending function for a name, or a user callable ``f(t, total)`` unchanged."""
    if callable(spending):
        return spending
    if spending not in _SPENDING:
        raise ValueError(f"spending must be one of {sorted(_SPENDING)} or a callable, got {spending!r}")
    return _SPENDING[spending]
