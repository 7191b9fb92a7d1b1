"""Throughput of the simulator: audit dicts per second and aggregated pilots per second.

Run: .venv/bin/python bench/bench_simulate.py
"""

from __future__ import annotations

import time

import numpy as np

from pilots.simulation import (
    SimulationSettings,
    simple_assignment,
    simulate_audits,
    simulate_roster,
    simulate_unit_days,
)


def main() -> None:
    settings = SimulationSettings(n_moderators=5000, pre_weeks=1, weeks=3)
    rng = np.random.default_rng(0)
    roster = simulate_roster(settings, rng)
    assignment = simple_assignment(roster, settings.arms, rng)
    start = time.perf_counter()
    rows = sum(1 for _ in simulate_audits(roster, assignment, settings, rng))
    elapsed = time.perf_counter() - start
    print(f"audit rows: {rows} in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s (target 300,000)")

    small = SimulationSettings(n_moderators=240, pre_weeks=4, weeks=8)
    roster = simulate_roster(small, rng)
    for handle in (False, True):
        start = time.perf_counter()
        for _ in range(200):
            simulate_unit_days(roster, assignment, small, rng, handle_times=handle)
        elapsed = time.perf_counter() - start
        print(f"unit-day pilots (240 x 84 days, handle={handle}): {200 / elapsed:,.0f} per second")


if __name__ == "__main__":
    main()
