"""A hand-made results document in the shape of `pilots.results.results_document`, for unit tests of the presenter,
the wording and the figures where exact numbers matter (real engine documents are tested in test_pages_real.py)."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

START = date(2025, 3, 3)
DAYS = 21


def _history(final: float, final_half_width: float, days: int = DAYS, p_final: float = 0.004) -> list[dict[str, Any]]:
    """A converging path: the estimate settles towards `final`, the interval narrows like 1/sqrt(t)."""
    points = []
    for day in range(1, days + 1):
        fraction = day / days
        estimate = final * (0.55 + 0.45 * fraction) + (0.002 if day % 3 == 0 else -0.001) * (1 - fraction)
        half = final_half_width / fraction**0.5
        points.append(
            {
                "date": (START + timedelta(days=day - 1)).isoformat(),
                "difference": round(estimate, 5),
                "ci": [round(estimate - half, 5), round(estimate + half, 5)],
                "p_value": round(min(1.0, p_final / fraction**2), 4),
            }
        )
    return points


def _comparison(arm: str, difference: float, half: float, control_mean: float, p_value: float, significant: bool):
    return {
        "arm": arm,
        "difference": difference,
        "ci": [difference - half, difference + half],
        "relative": difference / control_mean,
        "relative_ci": [(difference - half) / control_mean, (difference + half) / control_mean],
        "p_value": p_value,
        "significant": significant,
        "adjusted": True,
        "raw": {"difference": difference * 0.8, "ci": [difference * 0.8 - half * 1.2, difference * 0.8 + half * 1.2]},
        "boundary": 2.41,
        "history": _history(difference, half, p_final=p_value),
    }


SAMPLE: dict[str, Any] = {
    "pilot_id": 1,
    "data_through": (START + timedelta(days=DAYS - 1)).isoformat(),
    "as_of": None,
    "decision": {
        "recommendation": "go",
        "reasons": [
            "Accuracy rose by 1.4 points in the treatment group, past the pre-registered efficacy boundary.",
            "Neither guardrail (critical error rate, handle time) got worse by more than its margin.",
        ],
        "provisional": False,
    },
    "srm": {"p_value": 0.62, "ok": True, "counts": {"control": 101, "treatment": 99}},
    "checks": [
        {"name": "sample_ratio", "ok": True, "message": "Group sizes match the planned 50/50 split.", "p_value": 0.62},
        {"name": "audit_rate", "ok": True, "message": "QA audited both groups at the same rate.", "p_value": 0.41},
        {"name": "attrition", "ok": True, "message": "2 moderators in each group had no audits last week."},
        {"name": "covariate_balance", "ok": True, "message": "Tenure and pre-period accuracy are balanced."},
    ],
    "metrics": [
        {
            "name": "accuracy",
            "label": "Accuracy",
            "role": "primary",
            "direction": "higher",
            "arms": [
                {"arm": "control", "units": 101, "audits": 12_480, "mean": 0.912},
                {"arm": "treatment", "units": 99, "audits": 12_302, "mean": 0.926},
            ],
            "comparisons": [_comparison("treatment", 0.014, 0.008, 0.912, 0.0021, True)],
            "by_week": [
                {"week": 1, "difference": 0.006, "ci": [-0.006, 0.018]},
                {"week": 2, "difference": 0.015, "ci": [0.004, 0.026]},
                {"week": 3, "difference": 0.019, "ci": [0.008, 0.030]},
            ],
            "segments": [
                {"segment": "site", "level": "Manila", "difference": 0.017, "ci": [0.004, 0.030], "units": 80},
                {"segment": "site", "level": "Dublin", "difference": 0.011, "ci": [-0.004, 0.026], "units": 64},
                {"segment": "site", "level": "Austin", "difference": 0.013, "ci": [-0.005, 0.031], "units": 56},
            ],
        },
        {
            "name": "critical_error_rate",
            "label": "Critical error rate",
            "role": "guardrail",
            "direction": "lower",
            "margin": 0.005,
            "arms": [
                {"arm": "control", "units": 101, "audits": 12_480, "mean": 0.021},
                {"arm": "treatment", "units": 99, "audits": 12_302, "mean": 0.020},
            ],
            "comparisons": [_comparison("treatment", -0.001, 0.003, 0.021, 0.48, False)],
            "by_week": [
                {"week": 1, "difference": 0.001, "ci": [-0.004, 0.006]},
                {"week": 2, "difference": -0.001, "ci": [-0.005, 0.003]},
                {"week": 3, "difference": -0.002, "ci": [-0.006, 0.002]},
            ],
        },
        {
            "name": "handle_time",
            "label": "Handle time",
            "role": "guardrail",
            "direction": "lower",
            "arms": [
                {"arm": "control", "units": 101, "audits": 12_480, "mean": 41.3},
                {"arm": "treatment", "units": 99, "audits": 12_302, "mean": 42.1},
            ],
            "comparisons": [_comparison("treatment", 0.8, 1.1, 41.3, 0.17, False)],
        },
    ],
}


def sample_document(pilot_id: int = 1, as_of: date | None = None, **decision: Any) -> dict[str, Any]:
    """A deep copy of SAMPLE for `pilot_id`, cut at `as_of` when given, with `decision` fields overridden."""
    document = copy.deepcopy(SAMPLE)
    document["pilot_id"] = pilot_id
    document["decision"].update(decision)
    if as_of is not None:
        cut = as_of.isoformat()
        document["as_of"] = cut
        document["data_through"] = min(cut, document["data_through"])
        for metric in document["metrics"]:
            for comparison in metric["comparisons"]:
                comparison["history"] = [p for p in comparison["history"] if p["date"] <= cut]
    return document
