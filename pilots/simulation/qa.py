"""The QA process in the simulator: auditor leniency, how audits are routed to auditors, unblinded grading,
policy-specific effects and double audits.

The model, on top of the moderator model of `pilots.simulation.settings` (settings live in their own `QaScenario`,
the `qa` field of `SimulationSettings`, so they combine with any other scenario knob):

* Auditor j has a leniency ``l_j`` on the probability scale, normal with sd ``leniency_sd_points / 100``, centred.
* **Allocation**: each audit goes to an auditor of the moderator's site, uniformly (``balanced``); with ``skewed``,
  a treatment moderator's audit goes with probability ``skew`` to the more lenient half of the site's auditors.
* **Grading**: an audit's item has a difficulty ``U ~ Uniform(0, 1)``; auditor j grades it correct when
  ``U < p + l_j + u_j``, where ``p`` is the moderator's accuracy (with the pilot's effect, plus the policy's own
  extra effect in ``policy_effects_points`` for treatment moderators) and ``u_j = unblinded_points / 100`` for
  treatment moderators' audits if auditor j is among the ``unblinded_share`` of auditors who know the arm (else 0).
  With probability ``grading_error`` an auditor then flips the grade (honest disagreement).
* **Double audits**: a share ``double_audit_share`` of audits is graded again by another auditor of the same site,
  on the same item (same ``U``), as a second audit row with the same ``item_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Allocation = Literal["balanced", "skewed"]


@dataclass(frozen=True)
class QaScenario:
    """QA-process knobs (module docstring). The defaults are a blinded, balanced QA process with identical auditors
    and no double audits, which reproduces the simulator's plain model."""

    leniency_sd_points: float = 0.0
    allocation: Allocation = "balanced"
    skew: float = 0.8
    unblinded_points: float = 0.0
    unblinded_share: float = 0.5
    policy_effects_points: tuple[tuple[str, float], ...] = ()
    double_audit_share: float = 0.0
    grading_error: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.leniency_sd_points < 20, "leniency_sd_points must be in [0, 20)"),
            (self.allocation in ("balanced", "skewed"), "allocation must be 'balanced' or 'skewed'"),
            (0 <= self.skew <= 1, "skew must be in [0, 1]"),
            (abs(self.unblinded_points) < 50, "unblinded_points must be below 50 in size"),
            (0 <= self.unblinded_share <= 1, "unblinded_share must be in [0, 1]"),
            (0 <= self.double_audit_share <= 1, "double_audit_share must be in [0, 1]"),
            (0 <= self.grading_error < 0.5, "grading_error must be in [0, 0.5)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def active(self) -> bool:
        """Whether anything differs from the plain model (the row generator then grades through `grade`)."""
        return self != QaScenario()


@dataclass(frozen=True, eq=False)
class Auditors:
    """The auditor pool: `site[j]`, `leniency[j]` (probability scale) and `unblinded[j]`."""

    site: np.ndarray
    leniency: np.ndarray
    unblinded: np.ndarray


def auditor_pool(n_sites: int, per_site: int, scenario: QaScenario, rng: np.random.Generator) -> Auditors:
    """`per_site` auditors at each site with drawn leniency (centred over the pool) and unblinded flags."""
    n = n_sites * per_site
    leniency = rng.normal(0.0, scenario.leniency_sd_points / 100.0, n)
    leniency -= leniency.mean() if n else 0.0
    unblinded = rng.random(n) < scenario.unblinded_share if scenario.unblinded_points else np.zeros(n, dtype=bool)
    return Auditors(np.repeat(np.arange(n_sites), per_site), leniency, unblinded)


def allocate(
    site: np.ndarray, treated: np.ndarray, pool: Auditors, per_site: int, scenario: QaScenario, rng: np.random.Generator
) -> np.ndarray:
    """The auditor of each audit (index into the pool), from the audit's site and whether its moderator is treated."""
    offset = rng.integers(0, per_site, site.size)
    if scenario.allocation == "skewed" and per_site >= 2:
        # Per site, its auditors sorted by leniency: the lenient half is the second half of that order.
        order = np.argsort(pool.leniency.reshape(-1, per_site), axis=1, kind="stable")
        half = per_site // 2
        lenient = rng.integers(per_site - half, per_site, site.size)
        steer = treated & (rng.random(site.size) < scenario.skew)
        ranked = np.where(steer, lenient, rng.integers(0, per_site, site.size))
        offset = order[site, ranked]
    return site * per_site + offset


def grade(
    accuracy: np.ndarray,
    difficulty: np.ndarray,
    auditor: np.ndarray,
    treated: np.ndarray,
    pool: Auditors,
    scenario: QaScenario,
    rng: np.random.Generator,
) -> np.ndarray:
    """Grades (True = correct) of audits with true accuracy `accuracy` and item difficulty `difficulty`."""
    shift = pool.leniency[auditor] + np.where(treated & pool.unblinded[auditor], scenario.unblinded_points / 100, 0.0)
    correct = difficulty < accuracy + shift
    if scenario.grading_error:
        correct ^= rng.random(correct.size) < scenario.grading_error
    return correct


def policy_shift(policy: np.ndarray, policies: tuple[str, ...], scenario: QaScenario) -> np.ndarray:
    """The extra accuracy effect (probability scale) of each audit's policy, for treatment moderators."""
    extra = dict(scenario.policy_effects_points)
    table = np.array([extra.get(name, 0.0) / 100.0 for name in policies])
    return table[policy]


def second_auditor(auditor: np.ndarray, per_site: int, rng: np.random.Generator) -> np.ndarray:
    """Another auditor of the same site for each audit (uniform among the others)."""
    if per_site < 2:
        raise ValueError("double audits need at least two auditors per site")
    site, own = np.divmod(auditor, per_site)
    other = (own + rng.integers(1, per_site, auditor.size)) % per_site
    return site * per_site + other
