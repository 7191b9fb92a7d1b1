"""CPU time of a plan's `small_sample` section (`pilots.planning.small_sample`): 8 and 20 teams in one stratum and
`POST /plan`'s 16 units, group-sequential (weekly looks) and always-valid (daily looks), 6 weeks.

Each case runs in a fresh process: the first computation is cold (the roster's launch draws and re-randomizations
not yet cached), then 3 warm repeats. Prints the CPU (and the cold wall) seconds and the promised effect.

    .venv/bin/python bench/bench_plan_small_sample.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pilots.blas_threads import limit_blas_threads
from pilots.planning import small_sample  # imported before timing, as in a running server
from pilots.planning.service import run_plan

CASES = [
    (8, "group_sequential", "team"),
    (20, "group_sequential", "team"),
    (16, "group_sequential", "moderator"),
    (8, "always_valid", "team"),
    (20, "always_valid", "team"),
    (16, "always_valid", "moderator"),
]


def section(units: int, method: str, unit: str) -> dict:
    """The plan's run and its `small_sample` section, as `GET /pilots/{id}/plan` (teams) or `POST /plan` (units)
    compute them."""
    daily = method == "always_valid"
    result = run_plan(
        metric="accuracy",
        units_per_arm=None,
        total_units=units,
        weights=None,
        audits_per_week=12,
        baseline=0.93,
        components=None,
        icc=0.15,
        weeks=6,
        alpha=0.05,
        power=0.8,
        method=method,
        looks_per_week=7 if daily else 1,
        spending="obrien_fleming",
        target_effect=None if unit == "moderator" else 0.02,
    )
    if unit == "moderator":
        return small_sample.parameters_section(
            result, method=method, spending="obrien_fleming", weights=None, percent_points=True
        )
    ids = tuple(f"team-{k:02d}" for k in range(units))
    roster = small_sample.Roster(
        ids, ("all",) * units, (("control", 1), ("treatment", 1)), 12345, "control", "treatment"
    )
    look_days = tuple(range(2, 42)) if daily else tuple(7 * (k + 1) - 1 for k in range(6))
    return small_sample.plan_section(
        result,
        roster,
        unit="team",
        method=method,
        spending="obrien_fleming",
        look_days=look_days,
        percent_points=True,
    )


def one(index: int) -> None:
    limit_blas_threads()  # as `create_app` does: the server computes plans with one BLAS thread
    case = CASES[index]
    times = []
    for _ in range(4):
        cpu, wall = time.process_time(), time.perf_counter()
        found = section(*case)
        times.append((time.process_time() - cpu, time.perf_counter() - wall))
    warm = " ".join(f"{c:.2f}" for c, _ in times[1:])
    print(
        f"{case}: cold {times[0][0]:.2f} s CPU ({times[0][1]:.2f} s wall), warm {warm}; "
        f"effect {found['detectable_effect']}, largest power {found['largest_power']}"
    )


def main() -> None:
    if len(sys.argv) > 1:
        one(int(sys.argv[1]))
        return
    for index in range(len(CASES)):
        subprocess.run([sys.executable, __file__, str(index)], check=True)


if __name__ == "__main__":
    main()
