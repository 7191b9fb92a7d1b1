"""Results of a pilot: the sequential analysis document (JSON), or one row per metric x arm (CSV).

Any role may read results (`read`), as JSON or as the CSV table: the table is aggregate (one row per metric x arm, no
moderator-level data), so a viewer may export it like the balance report. `?as_of=YYYY-MM-DD` recomputes with only
the data audited up to that date. Draft pilots answer 409. Documents are cached per data version
(`pilots.results.cache`); `RESULTS_CACHE = False` in the app config turns the cache off (benchmarks).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from pilots.results import results_document
from pilots.results.export import results_table
from pilots.schemas.fields import PlanDate
from webui.api import bp
from webui.api.auth import require
from webui.api.downloads import record_download, requested_as_file
from webui.api.formats import export_response, named_json, wants_csv
from webui.api.inputs import query_args
from webui.api.openapi import responses, spec
from webui.database import get_session

TAGS = ["results"]
PILOT_ID = {"pilot_id": "The pilot's id."}


class ResultsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: PlanDate | None = Field(
        default=None, description="Recompute with only the data audited up to this day (YYYY-MM-DD exactly)."
    )
    format: Literal["json", "csv"] | None = Field(
        default=None, description="csv: one row per metric x arm (aggregate, so any role may export it)."
    )


class ResultsDecision(BaseModel):
    recommendation: Literal["go", "no_go", "continue", "invalid"]
    reasons: list[str]
    provisional: bool = Field(description="Before the pre-registered minimum runtime (or before any data).")


class ResultsSrm(BaseModel):
    p_value: float | None
    ok: bool
    counts: dict[str, int] = Field(description="Units with at least one audit in the analysis window, per arm.")
    assigned: dict[str, int]
    weights: dict[str, int]
    threshold: float
    message: str


class ResultsDocument(BaseModel):
    """The results document. Numbers that are undefined are null with a `reason` code and a `message`; the
    document never holds NaN or infinity. Each metric has `arms`, `comparisons` (design-valid `difference`, `ci`,
    `p_value`, `boundary`, `history`; `raw` and `fixed_horizon` descriptive comparisons; `cuped`;
    `non_inferiority` for guardrails; `randomization` for team or small pilots), `segments`, `heterogeneity`,
    `by_week`.

    As CSV, one row per metric x arm with the columns:
    pilot_id, data_through, as_of, recommendation, metric, label, role, direction, arm, is_control, units,
    audits, mean, difference, ci_low, ci_high, relative, relative_ci_low, relative_ci_high, p_value,
    significant, boundary, alpha, adjusted, variance_reduction, raw_difference, raw_ci_low, raw_ci_high,
    raw_p_value, look_date, information_fraction, margin, non_inferior, reason.
    """

    model_config = ConfigDict(extra="allow")

    pilot_id: int
    status: str
    unit: str
    as_of: date | None
    data_through: date | None
    data_version: int
    runtime_days: int
    end_reached: bool
    stopped_early_on: date | None = Field(
        default=None,
        description="The day a person concluded the pilot before its planned end (the results describe the data as "
        "of that stop, not an end-of-pilot analysis); null otherwise.",
    )
    design: dict[str, Any]
    decision: ResultsDecision
    srm: ResultsSrm
    checks: list[dict[str, Any]]
    multiplicity: dict[str, Any]
    metrics: list[dict[str, Any]]
    notes: list[str]


@bp.get("/pilots/<int:pilot_id>/results")
@spec.validate(
    query=ResultsQuery,
    resp=responses(200, ResultsDocument, 400, 404, 409, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="getResults",
)
@require("read")
def get_results(pilot_id: int):
    """The pilot's sequential results, checks and verdict (CSV: one row per metric x arm; any role)."""
    query = query_args(ResultsQuery)
    csv = wants_csv()
    use_cache = bool(current_app.config.get("RESULTS_CACHE", True))
    document = results_document(get_session(), pilot_id, query.as_of, use_cache=use_cache)
    if csv or requested_as_file():
        record_download("results", pilot_id)
    if csv:
        return export_response(results_table(document), f"pilot-{pilot_id}-results")
    return named_json(document, f"pilot-{pilot_id}-results" + (f"-as-of-{query.as_of}" if query.as_of else ""))
