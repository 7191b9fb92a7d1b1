"""Operating characteristics of PilotLab's sequential designs on simulated whole pilots.

Prints a markdown table (for the README): for each roster size and effect, the false-go rate
(no effect: a crossing in either direction) or the power (a go) of each design, next to the
fixed-horizon test's, with Monte Carlo standard errors and run time. Seeded; about 3-4 minutes
on one core with the default 2,000 pilots per cell.

    .venv/bin/python bench/validate_sequential.py [--pilots 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analysis.pilot_sim import PilotSpec, planned_variances, simulate_batched
from tests.analysis.sequential_eval import (
    always_valid_daily,
    fixed_horizon,
    group_sequential_weekly,
    naive_daily,
    rate,
)

CELLS = [
    (100, 0.0, 0, "none"),
    (400, 0.0, 0, "none"),
    (100, 0.02, 14, "+2.0 pts, ramp 2 wk"),
    (400, 0.01, 14, "+1.0 pt, ramp 2 wk"),
]


def run_cell(moderators: int, effect: float, ramp: int, n: int, seed: int) -> list[tuple]:
    spec = PilotSpec(moderators=moderators, days=42, effect=effect, ramp_days=ramp)
    plan = planned_variances(spec, n_pilots=200)
    start = time.perf_counter()
    looks = simulate_batched(spec, n, seed)
    sim_time = time.perf_counter() - start
    what = "any" if effect == 0 else "up"
    fixed, fixed_se = rate(fixed_horizon(looks), what)
    designs = {
        "fixed horizon (t-test at end)": lambda: fixed_horizon(looks),
        "naive daily t-test peeking": lambda: naive_daily(looks),
        "always_valid, daily (mSPRT, calibrated, t)": lambda: always_valid_daily(looks, plan),
        "always_valid, daily, z (no t correction)": lambda: always_valid_daily(looks, plan, small_sample=False),
        "group_sequential OBF, weekly, planned t": lambda: group_sequential_weekly(looks, plan),
        "group_sequential OBF, weekly, observed t": lambda: group_sequential_weekly(looks, plan, fractions="observed"),
        "group_sequential OBF, weekly, z (no t correction)": lambda: group_sequential_weekly(
            looks, plan, small_sample=False
        ),
        "group_sequential OBF + futility, weekly, planned t": lambda: group_sequential_weekly(
            looks, plan, futility=True
        ),
    }
    rows = []
    for name, run in designs.items():
        start = time.perf_counter()
        p, se = rate(run(), what)
        elapsed = time.perf_counter() - start + sim_time
        rows.append((name, p, se, fixed, fixed_se, elapsed))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=2000)
    args = parser.parse_args()
    print(f"{args.pilots} simulated pilots per cell, 6 weeks, two-sided alpha 0.05, seeded.\n")
    print("| design | moderators | effect | false-go / power (MC se) | fixed-horizon power | run time (s) |")
    print("|---|---:|---|---:|---:|---:|")
    total = time.perf_counter()
    for i, (moderators, effect, ramp, label) in enumerate(CELLS):
        for name, p, se, fixed, fixed_se, elapsed in run_cell(moderators, effect, ramp, args.pilots, seed=1000 + i):
            kind = "false-go" if effect == 0 else "power"
            fixed_cell = "-" if effect == 0 else f"{fixed:.3f} ({fixed_se:.3f})"
            print(f"| {name} | {moderators} | {label} | {kind} {p:.3f} ({se:.3f}) | {fixed_cell} | {elapsed:.1f} |")
    print(f"\nTotal run time {time.perf_counter() - total:.0f} s.")


if __name__ == "__main__":
    main()
