"""The results as a table: one row per metric x arm, with stable columns (`RESULT_COLUMNS`).

Floats are rounded to 10 significant digits (`tidy`). The control arm's row carries its summary only; each
treatment arm's row adds its comparison with control: the
design-valid estimate and interval (`difference`, `ci_low`, `ci_high`, `p_value`, `significant`, `boundary`), the
unadjusted fixed-horizon comparison (`raw_*`), the CUPED variance reduction and, for guardrails, non-inferiority.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pilots.exports.table import ExportTable

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


SIGNIFICANT_DIGITS = 10


def tidy(value: Any) -> Any:
    """A float rounded to 10 significant digits, so binary noise (0.30000000000000004, 0.9244712990936556) does not
    reach a spreadsheet; far more precision than any estimate here has. Other values pass through."""
    if isinstance(value, float) and not isinstance(value, bool):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def _tidy_rows(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in _rows(document):
        yield {key: tidy(value) for key, value in row.items()}


def results_table(document: dict[str, Any]) -> ExportTable:
    """The document's metric x arm rows as an export table (floats to 10 significant digits)."""
    return ExportTable(key="results", columns=RESULT_COLUMNS, rows=lambda: _tidy_rows(document))
