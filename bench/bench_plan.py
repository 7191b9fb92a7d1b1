"""Time of the slowest plan requests (`POST /api/v1/plan`'s computation, `pilots.planning.service.run_plan`).

The worst cases are many looks over many weeks: always-valid daily looks for a year at ICC 0 (information grows
linearly, so no look is merged away early) and group-sequential designs with daily or weekly looks for a year. Each is
timed cold (every cache emptied, as the first request after a restart) and warm (the same request again), in wall
and CPU seconds. The same-run baseline recomputes the cold case with the dense transition kernel the integration used
before (every grid-to-grid density evaluated at every stage), patched in here only.

    .venv/bin/python bench/bench_plan.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import _recursive_integration as integration
from analysis import always_valid
from tests.pilots.planning.plan_support import worst_case_plan

CASES = [
    ("always_valid, daily looks, 52 weeks, ICC 0", "always_valid", 7, 0.0),
    ("always_valid, daily looks, 52 weeks, ICC 0.1", "always_valid", 7, 0.1),
    ("group_sequential, daily looks, 52 weeks, ICC 0", "group_sequential", 7, 0.0),
    ("group_sequential, weekly looks, 52 weeks, ICC 0", "group_sequential", 1, 0.0),
]


def _clear() -> None:
    integration._KERNELS.clear()
    always_valid._CALIBRATIONS.clear()


def _timed(run) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _dense(new, old, base, t, t_prev, mass):
    """The transition as it was: the full kernel at every stage."""
    z = (new.points[:, None] * np.sqrt(t) - base[None, :]) / np.sqrt(t - t_prev)
    return np.exp(-0.5 * z * z) @ mass


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared with other work)\n")
    print("| plan request | cold wall (s) | cold CPU (s) | warm wall (s) | dense-kernel baseline CPU (s) | speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, method, per_week, icc in CASES:
        _clear()
        wall, cpu, fast = _timed(lambda m=method, w=per_week, i=icc: worst_case_plan(m, w, i))
        warm, _, _ = _timed(lambda m=method, w=per_week, i=icc: worst_case_plan(m, w, i))
        _clear()
        original = integration._transition, integration._symmetric_transition
        integration._transition = integration._symmetric_transition = _dense
        try:
            _, base_cpu, slow = _timed(lambda m=method, w=per_week, i=icc: worst_case_plan(m, w, i))
        finally:
            integration._transition, integration._symmetric_transition = original
        same = max(abs(a.mde - b.mde) / b.mde for a, b in zip(fast.weeks, slow.weeks, strict=True))
        print(
            f"| {label} | {wall:.2f} | {cpu:.2f} | {warm:.2f} | {base_cpu:.2f} | {base_cpu / cpu:.1f}x "
            f"(MDE rel. diff {same:.0e}) |"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
