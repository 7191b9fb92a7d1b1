"""Operating characteristics of PilotLab's QA analyses on simulated whole pilots (`make validate`, after the
sequential table).

Each pilot: the simulator's fixed roster (200 moderators unless a row says otherwise) at four sites with four auditors
each, a 1:1 assignment stratified by site, two weeks of pre-period and four weeks of pilot audits, grades from the QA
process of `pilots.simulation.qa`, then the same functions the results document runs (`tests/pilots/qa_sim.py`).
Pilot k of a scenario uses seed ``base + k`` (bases in the table). Rates carry their Monte-Carlo standard error
``sqrt(p (1 - p) / n)``, means ``sd / sqrt(n)``.

* auditor check (`auditor_balance`, bar p < 0.001) on a balanced allocation (false alarms) and on skewed ones
  (a treatment audit is steered to the lenient half of its site's auditors with probability 0.6, else routed
  uniformly: 80% of treatment audits reach the lenient half against 50% of control audits; or steered with
  probability 0.1: 55%), leniency sd 3 points, no true effect;
* blinding check (bar p < 0.001) when half the auditors add 8 points to treatment grades;
* the bias of the raw and the auditor-adjusted estimate under the skewed allocation at 40, 120, 200 and 400
  moderators, and the adjusted estimate against the one adjusted with the simulator's true leniency (the oracle);
  interval coverage of the true zero;
* policy cells under no effect: the share of pilots with any policy at q < 0.05 (with no effect anywhere every
  discovery is false, so this is the false discovery rate, equal to the family-wise rate);
* a harm in one policy (violent_extremism, 8% of audits) sized for 80% power by the plan's formula on that cell's
  standard error under no effect and its control accuracy, with the variance at the harmed accuracy
  (`analysis.planning_variance`, as `POST /plan` plans a proportion), and for comparison the harm sized with the
  variance under no effect only (the promise used before, which over-states power).

    nice -n 10 .venv/bin/python bench/validate_qa.py [--pilots 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pilots.simulation.qa import QaScenario
from tests.pilots.qa_sim import QaSpec, harm_for_power, harm_null_variance, simulate

HARMED = "violent_extremism"
LENIENT = QaScenario(leniency_sd_points=3.0)
SKEWED = replace(LENIENT, allocation="skewed", skew=0.6)


def rate(flags: list[bool]) -> str:
    p = float(np.mean(flags))
    return f"{p:.3f} | {math.sqrt(p * (1 - p) / len(flags)):.3f}"


def mean_points(values: list[float]) -> str:
    a = 100 * np.asarray(values, dtype=float)
    return f"{a.mean():+.3f} pts | {a.std(ddof=1) / math.sqrt(a.size):.3f}"


def run(spec: QaSpec, pilots: int, seed: int):
    return [simulate(spec, seed + k) for k in range(pilots)]


def covers(ci: tuple[float, float], value: float = 0.0) -> bool:
    return ci[0] <= value <= ci[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=1000)
    n = parser.parse_args().pilots
    started = time.perf_counter()
    balanced = run(QaSpec(scenario=LENIENT), n, 1_000_000)
    skewed = run(QaSpec(scenario=SKEWED), n, 2_000_000)
    mild = run(QaSpec(scenario=replace(SKEWED, skew=0.1)), n, 2_500_000)
    unblinded = run(QaSpec(scenario=QaScenario(unblinded_points=8.0, unblinded_share=0.5)), n, 3_000_000)
    sizes = {m: run(QaSpec(moderators=m, scenario=SKEWED), n, 6_000_000 + 10_000 * m) for m in (40, 120, 400)}
    sizes[200] = skewed
    se = float(np.nanmean([r.policy_se.get(HARMED, math.nan) for r in balanced]))
    baseline = float(np.nanmean([r.policy_control.get(HARMED, math.nan) for r in balanced]))
    harm, harm_old = harm_for_power(se, baseline), harm_null_variance(se)
    harmed = run(QaSpec(scenario=QaScenario(policy_effects_points=((HARMED, -100 * harm),))), n, 4_000_000)
    harmed_old = run(QaSpec(scenario=QaScenario(policy_effects_points=((HARMED, -100 * harm_old),))), n, 4_500_000)
    elapsed = time.perf_counter() - started

    def found(results) -> list[bool]:
        return [r.policy_p[HARMED] < 0.05 and r.policy_difference[HARMED] < 0 for r in results]

    print(f"QA validation: {n} simulated pilots per scenario, {elapsed:.0f} s\n")
    print("| scenario (seeds from) | rate | MC s.e. |")
    print("|---|---:|---:|")
    rows = [
        ("auditor check alarms, balanced allocation: false alarms, bar p < 0.001 (1,000,000)", balanced, "balance"),
        ("auditor check alarms, skewed allocation (80% vs 50% lenient): power (2,000,000)", skewed, "balance"),
        ("auditor check alarms, mildly skewed (55% vs 50% lenient): power (2,500,000)", mild, "balance"),
        ("blinding check alarms, blinded grading: false alarms (1,000,000)", balanced, "blinding"),
        ("blinding check alarms, half the auditors +8 pts on treatment: power (3,000,000)", unblinded, "blinding"),
    ]
    for label, results, check in rows:
        print(f"| {label} | {rate([getattr(r, check + '_p') < 0.001 for r in results])} |")
    print(f"| raw 95% interval covers the true zero, skewed | {rate([covers(r.raw_ci) for r in skewed])} |")
    for m in (40, 120, 200, 400):
        label = f"auditor-adjusted 95% interval covers zero, skewed, {m} moderators"
        print(f"| {label} | {rate([covers(r.adjusted_ci) for r in sizes[m]])} |")
    print(f"| adjusted 95% interval covers zero, balanced | {rate([covers(r.adjusted_ci) for r in balanced])} |")
    fdr = [any(q < 0.05 for q in r.policy_q.values() if math.isfinite(q)) for r in balanced]
    print(f"| any policy cell at q < 0.05, no effect: false discovery rate (1,000,000) | {rate(fdr)} |")
    cells = [p < 0.05 for r in balanced for p in r.policy_p.values() if math.isfinite(p)]
    print(f"| a policy cell at p < 0.05, no effect: per-cell false positives | {rate(cells)} |")
    label = f"policy harm {100 * harm:.2f} pts found at p < 0.05, plan's formula promises 0.80 (4,000,000)"
    print(f"| {label} | {rate(found(harmed))} |")
    q_found = [r.policy_q[HARMED] < 0.05 and r.policy_difference[HARMED] < 0 for r in harmed]
    print(f"| the same harm found at q < 0.05 (after Benjamini-Hochberg over the policies) | {rate(q_found)} |")
    label = f"policy harm {100 * harm_old:.2f} pts (sized with the no-effect variance only) at p < 0.05 (4,500,000)"
    print(f"| {label} | {rate(found(harmed_old))} |")
    print(f"\nHarm sizing: cell standard error under no effect {100 * se:.3f} pts, control accuracy {baseline:.4f}.\n")
    print("| skewed allocation, no effect (seeds from) | raw difference | MC s.e. | auditor-adjusted | MC s.e. |")
    print("|---|---:|---:|---:|---:|")
    for m in (40, 120, 200, 400):
        seeds = 2_000_000 if m == 200 else 6_000_000 + 10_000 * m
        results = sizes[m]
        raw, adjusted = mean_points([r.raw for r in results]), mean_points([r.adjusted for r in results])
        print(f"| {m} moderators ({seeds:,}) | {raw} | {adjusted} |")
    raw, adjusted = mean_points([r.raw for r in balanced]), mean_points([r.adjusted for r in balanced])
    print(f"| balanced allocation, 200 moderators (1,000,000) | {raw} | {adjusted} |")
    print("\n| skewed allocation, no effect | adjusted minus oracle-adjusted (true leniency) | MC s.e. |")
    print("|---|---:|---:|")
    for m in (40, 120, 200, 400):
        print(f"| {m} moderators | {mean_points([r.adjusted - r.oracle_adjusted for r in sizes[m]])} |")


if __name__ == "__main__":
    main()
