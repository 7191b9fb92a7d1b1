"""Information time for a fixed cohort: planned versus observed information fractions.

With a fixed roster, information ``I = 1 / Var(estimate)`` grows as audits accumulate and
approaches a ceiling set by the between-moderator variance; units never arrive. The information
fraction of look ``k`` is ``t_k = I_k / I_max`` with ``I_max`` from the registration-time plan.
The per-look variance is itself estimated from few clusters, so fractions computed from it are
noisy; feeding that noise into the spending function both inflates false alarms and ends pilots
early on noise. The rule (METHODS.md section 4): use the planned fractions, and switch to the
observed ones only when the data depart from the plan materially.

References
----------
.. [1] Lan, K. K. G. and DeMets, D. L. (1983). Biometrika 70(3), 659-663 (information time).
.. [2] Jennison, C. and Turnbull, B. W. (2000), section 7.2.2 (information in place of sample
       size; unpredictable information).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

MIN_STEP = 0.005
"""Smallest increment of information fraction kept between looks; closer looks are merged by
moving the later one forward, which has no material effect on boundaries (less than 1e-3 in z)."""


@dataclass(frozen=True)
class InformationTime:
    """Information fractions to use at the looks so far, and where they came from.

    Attributes
    ----------
    fractions : tuple of float
        Strictly increasing fractions to pass to the boundary computation.
    source : {"planned", "observed"}
    departure : float
        Largest relative departure ``|t_observed / t_planned - 1|`` over the looks.
    message : str
        Plain-language note for the results page.
    """

    fractions: tuple[float, ...]
    source: Literal["planned", "observed"]
    departure: float
    message: str


def fractions_from_variances(variances: ArrayLike, final_variance: float) -> np.ndarray:
    """``I_k / I_max = V_final / V_k`` for variances of the estimate at each look."""
    v = np.asarray(variances, dtype=float)
    if not (final_variance > 0 and np.all(v > 0) and np.all(np.isfinite(v))):
        raise ValueError("variances and final_variance must be positive and finite")
    return final_variance / v


def monotone(fractions: ArrayLike, min_step: float = MIN_STEP) -> np.ndarray:
    """Force strictly increasing fractions (noisy variance estimates can dip)."""
    t = np.asarray(fractions, dtype=float).copy()
    if t.size and not t[0] > 0:
        raise ValueError(f"information fractions must be positive, got {t[0]}")
    for k in range(1, t.size):
        t[k] = max(t[k], t[k - 1] + min_step)
    return t


CALIBRATION_STEP = 0.003
"""Smallest information step between the looks an always-valid calibration integrates over (`calibration_schedule`).
Simulated against 20,000 null paths of 362 daily looks over a year (ICC 0.03, 1.2 audits a day): calibrated on looks
merged at 1/64 (44 looks, the planner's step) the false-crossing rate is 0.0536 (s.e. 0.0016), at 0.01 0.0522, at
0.003 (123 looks) 0.0509 and at 0.001 (206 looks) 0.0504, against 0.05; the old floor of `MIN_STEP` between every
look instead pushed the planned fractions to 2.29 and left the rate near 0.039."""


def calibration_schedule(fractions: ArrayLike, min_step: float = CALIBRATION_STEP) -> np.ndarray:
    """The planned fractions a calibration integrates over: increasing, and without the looks that lie within
    `min_step` of the next kept look (the last look is always kept; a dropped look's crossings are counted at the
    kept look that follows it, whose threshold is within a hair of the dropped one's).

    Unlike `monotone`, which moves close looks apart (so that hundreds of daily looks on an information curve that
    flattens push the fractions far past 1), merging keeps every fraction where the plan put it.
    """
    t = np.maximum.accumulate(np.asarray(fractions, dtype=float))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or not t[0] > 0:
        raise ValueError("information fractions must be finite and positive")
    if not min_step >= 0:
        raise ValueError(f"min_step must be >= 0, got {min_step}")
    keep = [t.size - 1]
    for k in range(t.size - 2, -1, -1):
        if t[keep[-1]] - t[k] >= max(min_step, 1e-12):
            keep.append(k)
    return t[keep[::-1]]


def information_time(
    planned: ArrayLike,
    observed_variances: ArrayLike,
    planned_final_variance: float,
    tolerance: float = 0.25,
) -> InformationTime:
    """Choose planned or observed information fractions for the looks so far.

    Parameters
    ----------
    planned : array_like
        Planned fractions at the looks taken so far (from the registration plan).
    observed_variances : array_like
        Estimated ``Var(estimate)`` at the same looks.
    planned_final_variance : float
        Planned variance at the end (``1 / I_max``).
    tolerance : float
        Relative departure of the observed from the planned fraction, at any look, above which
        the plan is judged wrong and observed fractions are used (0.25 by default: a plan off
        by a quarter changes OBF boundaries by well over 0.1 in z early on).

    Returns
    -------
    InformationTime
    """
    t_plan = np.asarray(planned, dtype=float)
    t_obs = fractions_from_variances(observed_variances, planned_final_variance)
    if t_plan.shape != t_obs.shape or t_plan.ndim != 1 or t_plan.size == 0:
        raise ValueError("planned and observed_variances must be 1-d and of the same length")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be positive, got {tolerance}")
    departure = float(np.max(np.abs(t_obs / t_plan - 1.0)))
    if departure <= tolerance:
        return InformationTime(
            tuple(monotone(t_plan).tolist()),
            "planned",
            departure,
            f"Information is tracking the plan (largest departure {departure:.0%}); "
            "planned information fractions are used.",
        )
    return InformationTime(
        tuple(monotone(t_obs).tolist()),
        "observed",
        departure,
        f"Information departs from the plan by up to {departure:.0%} (more than {tolerance:.0%}); "
        "boundaries use the observed information fractions.",
    )
