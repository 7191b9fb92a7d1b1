"""Monitoring a running group-sequential pilot: crossings, repeated CIs and stagewise p-values.

Each look supplies an estimate of the treatment difference, its standard error, its information
fraction and (for small cohorts) its Welch-Satterthwaite degrees of freedom. Boundaries are
recomputed for the fractions actually seen (:func:`analysis.group_sequential.boundaries`).

Small-sample correction: with ~50 moderators per arm the delta-method variance is estimated
from few clusters, so the statistic ``estimate / se`` is closer to Student t than normal. Each
boundary's nominal one-sided tail probability ``1 - Phi(b_k)`` is kept and converted to the t
quantile with the look's degrees of freedom, ``c_k = F_t^{-1}(Phi(b_k); df_k)``; equivalently
the observed t statistic is mapped to the normal score with the same tail probability before it
is compared with ``b_k``. The repeated confidence interval uses ``c_k`` too.

References
----------
.. [1] Jennison, C. and Turnbull, B. W. (2000). Group Sequential Methods with Applications to
       Clinical Trials, ch. 8 (stagewise-ordering p-values) and ch. 9 (repeated confidence
       intervals). Chapman & Hall/CRC.
.. [2] Jennison, C. and Turnbull, B. W. (1989). Interim analyses: the repeated confidence
       interval approach. JRSS B 51(3), 305-361.
.. [3] Welch, B. L. (1947). The generalization of "Student's" problem when several different
       population variances are involved. Biometrika 34, 28-35.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from analysis import spending as _spending
from analysis._recursive_integration import crossing_probabilities
from analysis.group_sequential import Boundaries, FutilityDesign, boundaries
from analysis.ratio import ConfidenceInterval

Crossing = Literal["up", "down", "futility", "none"]


@dataclass(frozen=True)
class Look:
    """One interim analysis of the primary difference (treatment minus control)."""

    estimate: float
    se: float
    information_fraction: float
    df: float = math.inf


@dataclass(frozen=True)
class GroupSequentialResult:
    """Status of a group-sequential pilot after the looks so far.

    Attributes
    ----------
    boundaries : Boundaries
        z-scale boundaries for the observed information fractions.
    statistics : tuple of float
        ``estimate / se`` at each look (a t statistic when ``df`` is finite).
    critical_values : tuple of float
        Efficacy critical values on the statistic's own scale (t-corrected when ``df`` is finite).
    futility_values : tuple of float or None
        Futility critical values on the statistic's scale (stop for futility at or below).
    crossings : tuple of {"up", "down", "futility", "none"}
        What each look's statistic crossed ("up" = benefit, "down" = harm).
    stopped_at : int or None
        Index of the first look that crossed anything.
    status : {"up", "down", "futility", "none"}
        Crossing at ``stopped_at``, else "none".
    final : bool
        Whether the last look was the final analysis.
    rci : ConfidenceInterval
        Repeated confidence interval at the decision look (``stopped_at``, else the latest look).
    p_value : float or None
        Two-sided stagewise-ordering p-value at the decision look once the pilot stopped at an
        efficacy boundary or reached its final analysis; ``None`` while it continues (a repeated
        p-value would be needed there) or after a futility stop.
    """

    boundaries: Boundaries
    statistics: tuple[float, ...]
    critical_values: tuple[float, ...]
    futility_values: tuple[float, ...] | None
    crossings: tuple[Crossing, ...]
    stopped_at: int | None
    status: Crossing
    final: bool
    rci: ConfidenceInterval
    p_value: float | None


def t_critical(z_bound: float, df: float) -> float:
    """t quantile with the same upper-tail probability as the normal boundary ``z_bound``."""
    if math.isinf(df) or math.isinf(z_bound):
        return float(z_bound)
    if z_bound < 0:
        return -t_critical(-z_bound, df)
    return float(stats.t.isf(stats.norm.sf(z_bound), df))


def z_equivalent(statistic: float, df: float) -> float:
    """Normal score with the same upper-tail probability as the t ``statistic`` on ``df``."""
    if math.isinf(df):
        return float(statistic)
    if statistic < 0:
        return -z_equivalent(-statistic, df)
    return float(stats.norm.isf(stats.t.sf(statistic, df)))


def _looks_iv(looks: Sequence[Look]) -> None:
    if len(looks) == 0:
        raise ValueError("looks must contain at least one look")
    for k, look in enumerate(looks):
        if not (math.isfinite(look.se) and look.se > 0):
            raise ValueError(f"looks[{k}].se must be positive and finite, got {look.se}")
        if not math.isfinite(look.estimate):
            raise ValueError(f"looks[{k}].estimate must be finite, got {look.estimate}")
        if not look.df > 0:
            raise ValueError(f"looks[{k}].df must be positive, got {look.df}")


def stagewise_p_value(bounds: Boundaries, stage: int, z: float) -> float:
    """Two-sided stagewise-ordering p-value for stopping at ``stage`` with normal score ``z``.

    Outcomes that stopped for efficacy earlier are more extreme than any outcome at ``stage``;
    at ``stage`` outcomes are ordered by ``z``. Futility bounds are ignored (non-binding).

    References
    ----------
    .. [1] Jennison and Turnbull (2000), section 8.4; Fairbanks, K. and Madsen, R. (1982).
           P values for tests using a repeated significance test design. Biometrika 69, 69-74.
    """
    t = np.asarray(bounds.information_fractions[: stage + 1])
    upper = np.asarray(bounds.upper[: stage + 1], dtype=float)
    lower = np.asarray(bounds.lower[: stage + 1], dtype=float)
    upper[-1], lower[-1] = z, -np.inf
    p_up = float(crossing_probabilities(t, upper, lower).upper.sum())
    return float(min(1.0, 2.0 * min(p_up, 1.0 - p_up)))


def monitor(
    looks: Sequence[Look],
    alpha: float = 0.05,
    spending: _spending.SpendingName | _spending.SpendingFunction = "obf",
    *,
    final: bool = False,
    futility: FutilityDesign | None = None,
) -> GroupSequentialResult:
    """Evaluate the looks so far against two-sided Lan-DeMets boundaries.

    Parameters
    ----------
    looks : sequence of Look
        In time order with strictly increasing information fractions.
    alpha : float
        Two-sided level (``alpha / 2`` per side).
    spending : {"obf", "pocock"} or callable
        Alpha-spending function fixed at registration.
    final : bool
        The last look is the final analysis (spend all remaining alpha).
    futility : FutilityDesign or None
        Optional non-binding futility bounds.

    Returns
    -------
    GroupSequentialResult

    References
    ----------
    .. [1] Lan and DeMets (1983); Jennison and Turnbull (2000), ch. 7-9 and 19.
    """
    _looks_iv(looks)
    fractions = [look.information_fraction for look in looks]
    bounds = boundaries(fractions, alpha, spending, final=final, futility=futility)
    stats_ = tuple(look.estimate / look.se for look in looks)
    crit = tuple(t_critical(b, look.df) for b, look in zip(bounds.upper, looks, strict=True))
    fut = None
    if bounds.futility is not None:
        fut = tuple(t_critical(a, look.df) for a, look in zip(bounds.futility, looks, strict=True))
    crossings: list[Crossing] = []
    for k, s in enumerate(stats_):
        if s >= crit[k]:
            crossings.append("up")
        elif s <= -crit[k]:
            crossings.append("down")
        elif fut is not None and s <= fut[k]:
            crossings.append("futility")
        else:
            crossings.append("none")
    stopped_at = next((k for k, c in enumerate(crossings) if c != "none"), None)
    status: Crossing = crossings[stopped_at] if stopped_at is not None else "none"
    is_final = final or bounds.information_fractions[-1] >= 1.0
    k = stopped_at if stopped_at is not None else len(looks) - 1
    look = looks[k]
    half = crit[k] * look.se
    rci = ConfidenceInterval(look.estimate - half, look.estimate + half)
    p_value = None
    if status in ("up", "down") or (stopped_at is None and is_final):
        p_value = stagewise_p_value(bounds, k, z_equivalent(stats_[k], look.df))
    return GroupSequentialResult(
        boundaries=bounds,
        statistics=stats_,
        critical_values=crit,
        futility_values=fut,
        crossings=tuple(crossings),
        stopped_at=stopped_at,
        status=status,
        final=is_final,
        rci=rci,
        p_value=p_value,
    )
