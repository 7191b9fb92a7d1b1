"""Apply each monitoring design to simulated pilots; shared by the tests and bench/.

Designs compared (two-sided alpha, a "go" is a crossing in the good direction, "any" counts
crossings in either direction, which is the false-go rate under no effect):

- ``fixed``: one Welch t-test at the planned end (the fixed-horizon reference);
- ``naive``: the same t-test repeated every day, stopping at the first p < alpha;
- ``always_valid``: daily mixture SPRT, tau2 tuned to the planned final variance, calibrated
  to the planned daily information schedule, t-corrected with Welch df;
- ``gs_planned`` / ``gs_observed``: weekly Lan-DeMets OBF-type boundaries at planned
  information fractions, or at the fractions chosen by ``information_time``, t-corrected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.always_valid import always_valid, design_mixture
from analysis.group_sequential import FutilityDesign
from analysis.gs_monitor import Look, monitor
from analysis.information import information_time
from tests.analysis.pilot_sim import PilotLooks

FIRST_DAILY_LOOK = 3  # the dashboard shows results from day 3 on


@dataclass(frozen=True)
class DesignOutcome:
    """Per pilot: +1 crossed up (go), -1 crossed down, 0 no crossing; plus CS coverage."""

    decision: np.ndarray
    covered: np.ndarray | None = None


def fixed_horizon(looks: PilotLooks, alpha: float = 0.05) -> DesignOutcome:
    t = looks.estimate[:, -1] / np.sqrt(looks.variance[:, -1])
    crit = stats.t.isf(alpha / 2, looks.df[:, -1])
    return DesignOutcome(np.sign(t) * (np.abs(t) >= crit))


def naive_daily(looks: PilotLooks, alpha: float = 0.05) -> DesignOutcome:
    sl = slice(FIRST_DAILY_LOOK - 1, None)
    t = looks.estimate[:, sl] / np.sqrt(looks.variance[:, sl])
    hit = np.abs(t) >= stats.t.isf(alpha / 2, looks.df[:, sl])
    first = hit.argmax(axis=1)
    sign = np.sign(t[np.arange(t.shape[0]), first])
    return DesignOutcome(np.where(hit.any(axis=1), sign, 0.0))


def always_valid_daily(
    looks: PilotLooks,
    planned_variance: np.ndarray,
    alpha: float = 0.05,
    true_effect: float | None = None,
    small_sample: bool = True,
) -> DesignOutcome:
    sl = slice(FIRST_DAILY_LOOK - 1, None)
    plan = planned_variance[sl]
    design = design_mixture(plan[-1], alpha, plan[-1] / plan)
    decision = np.zeros(looks.estimate.shape[0])
    covered = np.ones(looks.estimate.shape[0], dtype=bool)
    for i in range(looks.estimate.shape[0]):
        df = looks.df[i, sl] if small_sample else None
        res = always_valid(looks.estimate[i, sl], looks.variance[i, sl], design, df, with_p_values=False)
        decision[i] = {"up": 1.0, "down": -1.0, "none": 0.0}[res.direction]
        if true_effect is not None:
            covered[i] = np.all(np.asarray(res.cs_low) <= true_effect) and np.all(
                true_effect <= np.asarray(res.cs_high)
            )
    return DesignOutcome(decision, covered if true_effect is not None else None)


def weekly_days(n_days: int) -> np.ndarray:
    return np.arange(7, n_days + 1, 7) - 1  # zero-based day index of each weekly review


def group_sequential_weekly(
    looks: PilotLooks,
    planned_variance: np.ndarray,
    alpha: float = 0.05,
    fractions: str = "planned",
    small_sample: bool = True,
    true_effect: float | None = None,
    futility: bool = False,
) -> DesignOutcome:
    """Weekly Lan-DeMets OBF reviews; with `futility`, non-binding beta-spending futility bounds (beta 0.2) that the
    simulated pilots obey (a futility stop is decision 0)."""
    idx = weekly_days(looks.estimate.shape[1])
    plan = planned_variance[idx]
    planned_t = plan[-1] / plan
    decision = np.zeros(looks.estimate.shape[0])
    covered = np.ones(looks.estimate.shape[0], dtype=bool)
    for i in range(looks.estimate.shape[0]):
        v = looks.variance[i, idx]
        t = planned_t if fractions == "planned" else np.asarray(information_time(planned_t, v, plan[-1]).fractions)
        df = looks.df[i, idx] if small_sample else np.full(idx.size, np.inf)
        seq = [
            Look(float(e), float(np.sqrt(vv)), float(tt), float(d))
            for e, vv, tt, d in zip(looks.estimate[i, idx], v, t, df, strict=True)
        ]
        res = monitor(seq, alpha, "obf", final=True, futility=FutilityDesign(0.2, "obf") if futility else None)
        decision[i] = {"up": 1.0, "down": -1.0}.get(res.status, 0.0)
        if true_effect is not None:
            covered[i] = res.rci.contains(true_effect)
    return DesignOutcome(decision, covered if true_effect is not None else None)


def rate(outcome: DesignOutcome, what: str = "any") -> tuple[float, float]:
    """Share of pilots with a crossing (``any``) or a go (``up``), with its Monte Carlo SE."""
    hit = outcome.decision != 0 if what == "any" else outcome.decision > 0
    p = float(hit.mean())
    return p, float(np.sqrt(max(p * (1 - p), 1e-12) / hit.size))
