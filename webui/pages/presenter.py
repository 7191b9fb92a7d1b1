"""Turns a results document into what the results template shows: verdict, checks, sentences and chart JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pilots.models import Pilot
from webui import figures
from webui.figures.scale import decimals_for, metric_label, scale_for
from webui.pages import explain, wording

# The schedule line and the provisional note already say these; the engine's own reasons would repeat them.
REPEATED_REASONS = ("Next planned review:", "Provisional:")
CHART_HEIGHTS = {"over_time": 340, "by_week": 300}


@dataclass
class CheckRow:
    title: str
    ok: bool
    message: str
    p_value: str


@dataclass
class ArmRow:
    arm: str
    units: int
    audits: int
    mean: str


@dataclass
class MetricView:
    name: str
    label: str
    role: str
    sentences: list[str]
    arms: list[ArmRow]
    charts: list[tuple[str, str]] = field(default_factory=list)  # (dom id, figure JSON)
    has_segments: bool = False
    notes: list[tuple[str, str]] = field(default_factory=list)  # (css class, sentence)


@dataclass
class ResultsView:
    verdict: wording.Verdict
    reasons: list[str]
    provisional: bool
    provisional_note: str
    data_through: str
    as_of: str | None
    level: str
    checks: list[CheckRow]
    srm_counts: dict[str, int]
    metrics: list[MetricView]
    schedule: str | None = None
    unit_label: str = "Moderators"
    method_notes: list[str] = field(default_factory=list)


def _checks(document: dict[str, Any]) -> list[CheckRow]:
    checks = list(document.get("checks") or [])
    srm = document.get("srm")
    if srm and not any(c.get("name") in ("sample_ratio", "srm") for c in checks):
        counts = ", ".join(f"{arm} {n:,}" for arm, n in (srm.get("counts") or {}).items())
        message = f"Moderators per group: {counts}." if counts else ""
        checks.insert(0, {"name": "srm", "ok": srm.get("ok", False), "message": message, "p_value": srm.get("p_value")})
    return [
        CheckRow(
            wording.check_title(c),
            bool(c.get("ok")),
            c.get("message") or "",
            "" if re.search(r"\bp [=<]", c.get("message") or "") else wording.p_value(c.get("p_value")),
        )
        for c in checks
    ]


def _provisional_note(document: dict[str, Any], pilot: Pilot) -> str:
    design = pilot.design or {}
    days = document.get("min_days") or design.get("min_days", design.get("min_runtime_days"))
    runtime = f"its minimum runtime of {days} days" if days else "its minimum runtime"
    return f"Provisional: the pilot has not yet reached {runtime}. Early numbers move a lot; do not act on them yet."


def _comparison_notes(metric: dict[str, Any], comparison: dict[str, Any], alpha: float) -> list[tuple[str, str]]:
    notes = []
    status = explain.guardrail(metric, comparison)
    if status is not None:
        notes.append(status)
    for text in (explain.adjustment(metric, comparison), explain.robustness(comparison, alpha)):
        if text:
            notes.append(("info", text))
    return notes


def _empty_over_time(document: dict[str, Any]) -> str:
    design = document.get("design") or {}
    dates = design.get("look_dates") or []
    if design.get("method") == "group_sequential" and dates and not design.get("looks_taken"):
        return f"No planned review yet: the first is on {dates[0]}."
    return "No looks at the data yet."


def _metric_view(metric: dict[str, Any], pilot: Pilot, level: str, index: int, document: dict[str, Any]) -> MetricView:
    scale = scale_for(metric)
    margin = wording.resolve_margin(metric, pilot.metrics or [])
    alpha = float((pilot.design or {}).get("alpha", 0.05))
    comparisons = metric.get("comparisons") or []
    sentences = [wording.metric_sentence(metric, comparison, level=level, margin=margin) for comparison in comparisons]
    notes = [note for comparison in comparisons for note in _comparison_notes(metric, comparison, alpha)]
    means = [scale.show(arm["mean"]) for arm in metric.get("arms", []) if arm.get("mean") is not None]
    decimals = decimals_for(means)
    arms = [
        ArmRow(
            arm["arm"],
            arm.get("units", 0),
            arm.get("audits", 0),
            scale.level(arm["mean"], decimals) if arm.get("mean") is not None else "no audits",
        )
        for arm in metric.get("arms", [])
    ]
    empty = _empty_over_time(document)
    units = "teams" if document.get("unit") == "team" else "people"
    charts = [
        (f"chart-{index}-over-time", figures.figure_json(figures.effect_over_time(metric, margin=margin, empty=empty))),
        (f"chart-{index}-by-week", figures.figure_json(figures.effect_by_week(metric, margin=margin))),
        (f"chart-{index}-arms", figures.figure_json(figures.arm_means(metric, units=units))),
    ]
    if any(s.get("difference") is not None for s in metric.get("segments") or []):
        charts.append((f"chart-{index}-segments", figures.figure_json(figures.segment_forest(metric))))
    role = wording.ROLE_LABELS.get(metric.get("role", ""), "Metric")
    return MetricView(
        metric.get("name", ""),
        metric_label(metric),
        role,
        sentences,
        arms,
        charts,
        any(s.get("difference") is not None for s in metric.get("segments") or []),
        notes,
    )


def results_view(document: dict[str, Any], pilot: Pilot) -> ResultsView:
    """Everything the results page shows, from the results document and the pilot's registered plan."""
    decision = document.get("decision") or {}
    level = wording.interval_level(pilot.design)
    order = {"primary": 0, "guardrail": 1, "secondary": 2}
    metrics = sorted(document.get("metrics") or [], key=lambda m: order.get(m.get("role", ""), 3))
    return ResultsView(
        verdict=wording.verdict(decision.get("recommendation")),
        reasons=[str(r) for r in decision.get("reasons") or [] if not str(r).startswith(REPEATED_REASONS)],
        provisional=bool(decision.get("provisional")),
        provisional_note=_provisional_note(document, pilot),
        data_through=document.get("data_through") or "",
        as_of=document.get("as_of"),
        level=level,
        checks=_checks(document),
        srm_counts=dict((document.get("srm") or {}).get("counts") or {}),
        metrics=[_metric_view(metric, pilot, level, index, document) for index, metric in enumerate(metrics)],
        schedule=explain.reviews(document),
        unit_label="Teams" if document.get("unit") == "team" else "Moderators",
        method_notes=[str(note) for note in document.get("notes") or []],
    )
