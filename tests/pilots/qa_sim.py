"""Whole simulated pilots for the QA analyses, in memory: the simulator's roster and QA process, audits as arrays,
then the same functions the results document runs (`pilots.results.qa_auditors`, `pilots.results.qa_effects`).

Shared by the CI-sized tests (`tests/pilots/test_qa_operating.py`) and `bench/validate_qa.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy import stats

from analysis.planning_variance import alternative_variance_ratio, mde_under_alternative
from analysis.ratio import RatioStats, compare
from pilots.catalog import METRICS
from pilots.results import qa_auditors, qa_effects
from pilots.results.qa_data import NONE_LABEL, QaCells
from pilots.simulation import SimulationSettings, simulate_roster
from pilots.simulation import qa as qa_model
from pilots.simulation.qa import QaScenario

ACCURACY = METRICS["accuracy"]


@dataclass(frozen=True)
class QaSpec:
    """One simulated pilot design: roster size, weeks of pre-period and pilot, true effects and the QA process."""

    moderators: int = 200
    pre_weeks: int = 2
    weeks: int = 4
    effect_points: float = 0.0
    scenario: QaScenario = field(default_factory=QaScenario)
    auditors_per_site: int = 4


@dataclass(frozen=True)
class QaPilotResult:
    balance_p: float
    blinding_p: float
    raw: float
    raw_ci: tuple[float, float]
    adjusted: float
    adjusted_ci: tuple[float, float]
    policy_p: dict[str, float]
    policy_q: dict[str, float]
    policy_difference: dict[str, float]
    policy_se: dict[str, float]
    policy_control: dict[str, float] = field(default_factory=dict)
    oracle_adjusted: float = math.nan


def simulate(spec: QaSpec, seed: int) -> QaPilotResult:
    """One pilot: stratified (by site) 1:1 assignment, audits, grades, then the QA analyses."""
    rng = np.random.default_rng(seed)
    settings, roster = _roster(spec.moderators, spec.auditors_per_site)
    n = len(roster)
    arm = np.zeros(n, dtype=np.int64)
    for site in np.unique(roster.site_index):
        members = rng.permutation(np.flatnonzero(roster.site_index == site))
        arm[members[: members.size // 2]] = 1
    weeks = spec.pre_weeks + spec.weeks
    counts = rng.poisson(roster.audits_per_week * weeks)
    unit = np.repeat(np.arange(n), counts)
    pre = rng.random(unit.size) < spec.pre_weeks / weeks
    treated = (arm[unit] == 1) & ~pre
    policies = settings.policies
    policy = rng.choice(
        len(policies), size=unit.size, p=np.array(settings.policy_weights) / sum(settings.policy_weights)
    )
    pool = qa_model.auditor_pool(len(settings.sites), spec.auditors_per_site, spec.scenario, rng)
    auditor = qa_model.allocate(roster.site_index[unit], treated, pool, spec.auditors_per_site, spec.scenario, rng)
    accuracy = roster.accuracy[unit] + treated * (
        spec.effect_points / 100 + qa_model.policy_shift(policy, policies, spec.scenario)
    )
    grade = qa_model.grade(accuracy, rng.random(unit.size), auditor, treated, pool, spec.scenario, rng)
    auditor_labels = (NONE_LABEL, *(f"qa-{j:02d}" for j in range(pool.leniency.size)))
    cells = QaCells.from_audits(
        n,
        unit,
        pre,
        grade.astype(float),
        {"policy": policy + 1, "queue": np.zeros(unit.size, dtype=np.int64), "auditor": auditor + 1},
        {"policy": (NONE_LABEL, *policies), "queue": (NONE_LABEL,), "auditor": auditor_labels},
    )
    result = _analyse(cells, np.array(["control", "treatment"])[arm], roster.site_index, seed)
    return replace(result, oracle_adjusted=_oracle(cells, arm, np.concatenate([[0.0], pool.leniency])))


@lru_cache(maxsize=4)
def _roster(moderators: int, auditors_per_site: int):
    """A fixed roster per design (as in the sequential validation): pilots differ in assignment and audits."""
    settings = SimulationSettings(n_moderators=moderators, auditors_per_site=auditors_per_site)
    return settings, simulate_roster(settings, np.random.default_rng(20261207))


def _analyse(cells: QaCells, arms: np.ndarray, sites: np.ndarray, seed: int) -> QaPilotResult:
    strata = tuple(str(s) for s in sites)
    balance, blinding = qa_auditors.checks(cells, arms, strata, "control", ("treatment",), seed)
    fitted = qa_auditors.leniency(cells, "correct")
    x = cells.level_sums("auditor", "audits").sum(axis=1)
    y = cells.level_sums("auditor", "correct").sum(axis=1)
    c, t = arms == "control", arms == "treatment"
    raw = compare(RatioStats.from_units(y[c], x[c]), RatioStats.from_units(y[t], x[t]))
    adjusted = qa_auditors.adjusted(
        cells, ACCURACY, fitted, arms, "control", "treatment", 0.05, (raw.difference, [raw.ci.low, raw.ci.high])
    )
    rows, _, found = qa_effects.cell_effects(cells, "policy", ACCURACY, arms, "control", ("treatment",), 0.05)
    qa_effects.add_q_values(rows)
    return QaPilotResult(
        balance_p=balance.p_value,
        blinding_p=blinding.p_value,
        raw=raw.difference,
        raw_ci=(raw.ci.low, raw.ci.high),
        adjusted=adjusted["difference"],
        adjusted_ci=tuple(adjusted["ci"]),
        policy_p={r["value"]: _nan(r["p_value"]) for r in rows},
        policy_q={r["value"]: _nan(r["q_value"]) for r in rows},
        policy_difference={r["value"]: _nan(r["difference"]) for r in rows},
        policy_se={value: d.se for (value, _), d in found.items()},
        policy_control={value: d.control_mean for (value, _), d in found.items()},
    )


def _oracle(cells: QaCells, arm: np.ndarray, leniency: np.ndarray) -> float:
    """The difference adjusted with the simulator's true leniency (what the fitted adjustment aims at)."""
    y = cells.level_sums("auditor", "correct")
    x = cells.level_sums("auditor", "audits")
    adjusted, audits = y.sum(axis=1) - x @ leniency, x.sum(axis=1)
    c, t = arm == 0, arm == 1
    return compare(
        RatioStats.from_units(adjusted[c], audits[c]), RatioStats.from_units(adjusted[t], audits[t])
    ).difference


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def harm_null_variance(cell_se: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """``(z_{1-alpha/2} + z_{power}) * se`` with the standard error under no effect: what the validation promised
    before, too small a harm for `power`, because a harmed cell's lower accuracy has a larger Bernoulli variance."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * cell_se)


def harm_for_power(cell_se: float, baseline: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """The harm a fixed-horizon two-sided test at `alpha` detects with `power`, by the plan's formula
    (`analysis.planning`): the root of ``d = (z_{1-alpha/2} + z_{power}) se sqrt(r(d))`` where ``r`` is the ratio
    of the difference's variance with the treatment arm at ``baseline - d`` to the one under no effect
    (`analysis.planning_variance.alternative_variance_ratio`, equal arms), `cell_se` the standard error under no
    effect and `baseline` the control accuracy in the cell."""

    def ratio_at(effect: float) -> float:
        return alternative_variance_ratio(baseline, effect, "down", 1, 1)

    max_ratio = ratio_at(abs(0.5 - baseline)) if baseline > 0.5 else 1.0
    return float(mde_under_alternative(harm_null_variance(cell_se, power, alpha), ratio_at, max_ratio))
