"""The results as a table: one row per metric x arm, with stable columns (`RESULT_COLUMNS`).

The control arm's row carries its summary only; each treatment arm's row adds its comparison with control: the
design-valid estimate and interval (`difference`, `ci_low`, `ci_high`, `p_value`, `significant`, `boundary`), the
unadjusted fixed-horizon comparison (`raw_*`), the CUPED variance reduction and, for guardrails, non-inferiority.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pilots.exports import ExportTable

RESULT_COLUMNS: tuple[str, ...] = (
    "pilot_id",
    "data_through",
    "as_of",
    "recommendation",
    "metric",
    "label",
    "role",
    "direction",
    "arm",
    "is_control",
    "units",
    "audits",
    "mean",
    "difference",
    "ci_low",
    "ci_high",
    "relative",
    "relative_ci_low",
    "relative_ci_high",
    "p_value",
    "significant",
    "boundary",
    "alpha",
    "adjusted",
    "variance_reduction",
    "raw_difference",
    "raw_ci_low",
    "raw_ci_high",
    "raw_p_value",
    "look_date",
    "information_fraction",
    "margin",
    "non_inferior",
    "reason",
)


def _rows(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    head = {
        "pilot_id": document["pilot_id"],
        "data_through": document["data_through"],
        "as_of": document["as_of"],
        "recommendation": document["decision"]["recommendation"],
    }
    for metric in document["metrics"]:
        comparisons = {c["arm"]: c for c in metric["comparisons"]}
        for index, arm in enumerate(metric["arms"]):
            row = {
                **head,
                "metric": metric["name"],
                "label": metric["label"],
                "role": metric["role"],
                "direction": metric["direction"],
                "arm": arm["arm"],
                "is_control": index == 0,
                "units": arm["units"],
                "audits": arm["audits"],
                "mean": arm["mean"],
            }
            comparison = comparisons.get(arm["arm"])
            if comparison is not None:
                row.update(_comparison(comparison))
            yield row


def _comparison(c: dict[str, Any]) -> dict[str, Any]:
    raw = c.get("raw") or {}
    look = c.get("look") or {}
    guard = c.get("non_inferiority") or {}
    return {
        "difference": c["difference"],
        "ci_low": c["ci"][0],
        "ci_high": c["ci"][1],
        "relative": c["relative"],
        "relative_ci_low": c["relative_ci"][0],
        "relative_ci_high": c["relative_ci"][1],
        "p_value": c["p_value"],
        "significant": c["significant"],
        "boundary": c["boundary"],
        "alpha": c["alpha"],
        "adjusted": c["adjusted"],
        "variance_reduction": c["cuped"]["variance_reduction"],
        "raw_difference": raw.get("difference"),
        "raw_ci_low": (raw.get("ci") or [None, None])[0],
        "raw_ci_high": (raw.get("ci") or [None, None])[1],
        "raw_p_value": raw.get("p_value"),
        "look_date": look.get("date"),
        "information_fraction": look.get("information_fraction"),
        "margin": guard.get("margin"),
        "non_inferior": guard.get("non_inferior"),
        "reason": c.get("reason"),
    }


def results_table(document: dict[str, Any]) -> ExportTable:
    """The document's metric x arm rows as an export table."""
    return ExportTable(key="results", columns=RESULT_COLUMNS, rows=lambda: _rows(document))
