"""The repeated data-quality checks alone on many simulated pilots: how often each flags a pilot over all its looks.

Draws pilots as the stress matrix does (`pilots.simulation.stress`) and runs `pilots.results.checks.repeated` (the
sample ratio, coverage, audit-rate and attrition checks `GET /results` runs, at the same per-look bars) at every
planned look, without the rest of the results document, so thousands of pilots take minutes. Prints the share of
pilots each check flagged at some look, with its Monte Carlo standard error. The `absences` scenario (every
moderator away in each week with probability 0.15, both arms) puts the attrition test near the common silent rate
where it comes closest to its level; `attrition` gives its power.

    .venv/bin/python bench/validate_attrition.py [--scenario absences] [--size 40] [--unit moderator]
        [--design group_sequential] [--pilots 5000] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from pilots.results import checks, looks
from pilots.schemas import plan_of
from pilots.simulation.stress import SCENARIOS, Cell, _draw, _panel, pilot_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="absences", choices=list(SCENARIOS))
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--unit", default="moderator", choices=["moderator", "team"])
    parser.add_argument("--design", default="group_sequential", choices=["always_valid", "group_sequential"])
    parser.add_argument("--pilots", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cell = Cell(args.unit, args.size, args.design, SCENARIOS[args.scenario])
    plan = plan_of(pilot_for(cell))
    look_days = looks.planned_look_days(
        args.design, plan.design.looks, looks.total_days(plan.start_date, plan.end_date)
    )
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    flagged: dict[str, int] = {}
    anywhere = 0
    for _ in range(args.pilots):
        drawn = _draw(cell, rng)
        delayed = cell.scenario.delay_max_days > 0
        full = None if delayed else _panel(drawn, None)
        failed: set[str] = set()
        for day in look_days:
            panel = _panel(drawn, day) if delayed else full.through(day)
            failed |= {c.name for c in checks.repeated(panel, plan.weights, day, plan.unit, look_days) if not c.ok}
        anywhere += bool(failed)
        for name in failed:
            flagged[name] = flagged.get(name, 0) + 1
    n = args.pilots
    print(
        f"{args.size} {args.unit}s, {args.design}, {args.scenario}, {n} pilots, seed {args.seed}, per-look bars "
        f"{checks.look_thresholds(look_days)}, {time.perf_counter() - start:.0f} s"
    )
    for name in ("srm", "audit_coverage", "audit_rate", "attrition"):
        p = flagged.get(name, 0) / n
        print(f"  {name}: {p:.4f} ({math.sqrt(max(p * (1 - p), 1e-12) / n):.4f})")
    p = anywhere / n
    print(f"  any repeated check: {p:.4f} ({math.sqrt(max(p * (1 - p), 1e-12) / n):.4f})")


if __name__ == "__main__":
    main()
