"""The slowest plan requests, shared by their pinning test (`test_pinned.py`) and their bench
(`bench/bench_plan.py`): many looks over a year, 200 moderators, 12 audits a week, accuracy at 0.93."""

from __future__ import annotations

from analysis.planning import PlanResult
from pilots.planning.service import run_plan


def worst_case_plan(method: str, looks_per_week: int, icc: float) -> PlanResult:
    return run_plan(
        metric="accuracy",
        units_per_arm=None,
        total_units=200,
        weights=None,
        audits_per_week=12.0,
        baseline=0.93,
        components=None,
        icc=icc,
        weeks=52,
        alpha=0.05,
        power=0.8,
        method=method,
        looks_per_week=looks_per_week,
        spending="obrien_fleming",
        target_effect=0.01,
    )
