"""Operating characteristics of PilotLab's QA analyses on simulated whole pilots (`make validate`, after the
sequential table).

Each pilot: the simulator's fixed roster of 200 moderators at four sites (four auditors each), a 1:1 assignment
stratified by site, two weeks of pre-period and four weeks of pilot audits, grades from the QA process of
`pilots.simulation.qa`, then the same functions the results document runs. Rows:

* auditor check on a balanced allocation (false alarms at the 0.001 bar) and on a skewed one (treatment audits sent to
  the lenient half of a site's auditors with probability 0.6), auditor leniency sd 3 points, no true effect;
* the bias of the raw and the auditor-adjusted estimate (and their 95% interval coverage of the true zero) there;
* the blinding check when half the auditors add 8 points to treatment grades;
* policy cells under no effect: the share of pilots with any policy at q < 0.05 (the family-wise rate, an upper
  bound of the false discovery rate when no effect exists);
* a harm in one policy (violent_extremism, 8% of audits) sized for 80% power by the planning formula on that cell's
  standard error: the share of pilots where the cell shows the harm at p < 0.05 (the plan's promise) and at q < 0.05.

    .venv/bin/python bench/validate_qa.py [--pilots 1000]
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
from tests.pilots.qa_sim import QaSpec, harm_for_power, simulate

HARMED = "violent_extremism"
LENIENT = QaScenario(leniency_sd_points=3.0)


def share(flags: list[bool]) -> tuple[float, float]:
    p = float(np.mean(flags))
    return p, math.sqrt(p * (1 - p) / len(flags))


def run(spec: QaSpec, pilots: int, seed: int):
    return [simulate(spec, seed + k) for k in range(pilots)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=1000)
    args = parser.parse_args()
    n = args.pilots
    started = time.perf_counter()
    balanced = run(QaSpec(scenario=LENIENT), n, 1_000_000)
    skewed = run(QaSpec(scenario=replace(LENIENT, allocation="skewed", skew=0.6)), n, 2_000_000)
    unblinded = run(QaSpec(scenario=QaScenario(unblinded_points=8.0, unblinded_share=0.5)), n, 3_000_000)
    se = float(np.nanmean([r.policy_se.get((HARMED), math.nan) for r in balanced]))
    harm = harm_for_power(se)
    harmed = run(QaSpec(scenario=QaScenario(policy_effects_points=((HARMED, -100 * harm),))), n, 4_000_000)
    elapsed = time.perf_counter() - started

    def row(label: str, flags: list[bool]) -> str:
        p, mc = share(flags)
        return f"| {label} | {p:.3f} | {mc:.3f} |"

    def covers(ci: tuple[float, float]) -> bool:
        return ci[0] <= 0 <= ci[1]

    print(f"QA validation: {n} simulated pilots per scenario, 200 moderators, {elapsed:.0f} s\n")
    print("| scenario | rate | MC s.e. |")
    print("|---|---:|---:|")
    print(
        row(
            "auditor check alarms, balanced allocation (false alarm, bar p < 0.001)",
            [r.balance_p < 0.001 for r in balanced],
        )
    )
    print(row("auditor check alarms, skewed allocation (power)", [r.balance_p < 0.001 for r in skewed]))
    print(row("blinding check alarms, blinded grading (false alarm)", [r.blinding_p < 0.001 for r in balanced]))
    print(
        row("blinding check alarms, half the auditors +8 pts on treatment", [r.blinding_p < 0.001 for r in unblinded])
    )
    print(row("raw 95% interval covers the true zero, skewed allocation", [covers(r.raw_ci) for r in skewed]))
    print(row("auditor-adjusted 95% interval covers zero, skewed allocation", [covers(r.adjusted_ci) for r in skewed]))
    print(
        row("auditor-adjusted 95% interval covers zero, balanced allocation", [covers(r.adjusted_ci) for r in balanced])
    )
    fdr = [any(q < 0.05 for q in r.policy_q.values() if math.isfinite(q)) for r in balanced]
    print(row("any policy cell at q < 0.05, no effect (FDR = FWER under the null)", fdr))
    print(
        row(
            f"policy harm found at p < 0.05 (planned power 0.80, harm {100 * harm:.1f} pts)",
            [r.policy_p[HARMED] < 0.05 and r.policy_difference[HARMED] < 0 for r in harmed],
        )
    )
    print(
        row(
            "policy harm found at q < 0.05 (after Benjamini-Hochberg)",
            [r.policy_q[HARMED] < 0.05 and r.policy_difference[HARMED] < 0 for r in harmed],
        )
    )
    print()
    print("| scenario | mean raw difference | mean auditor-adjusted difference |")
    print("|---|---:|---:|")
    for label, results in (("balanced allocation, no effect", balanced), ("skewed allocation, no effect", skewed)):
        raw = np.mean([r.raw for r in results])
        adjusted = np.mean([r.adjusted for r in results])
        print(f"| {label} | {100 * raw:+.2f} pts | {100 * adjusted:+.2f} pts |")


if __name__ == "__main__":
    main()
