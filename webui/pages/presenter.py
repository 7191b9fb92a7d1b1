"""Turns a results document into what the results template shows: verdict, checks, sentences and chart JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pilots.models import Pilot
from webui import figures, plain
from webui.figures.scale import decimals_for, metric_label, scale_for
from webui.pages import chart_tables, check_text, explain, headline, qa_health_view, qa_view, wording
from webui.pages.chart_view import ChartView
from webui.pages.chart_view import chart as _chart

# The schedule line and the provisional note already say these; the engine's own reasons would repeat them.
REPEATED_REASONS = ("Next planned review:", "Provisional:", "The decision was reached on", "Stopped early:")


@dataclass
class CheckRow:
    title: str
    ok: bool
    message: str
    p_value: str
    ran: bool = True  # False: the check could not run (the message says why); shown as not run, never as passed

    @property
    def state(self) -> str:
        """The row's css class and state: pass, fail or not-run."""
        if not self.ran:
            return "not-run"
        return "pass" if self.ok else "fail"


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
    charts: list[ChartView] = field(default_factory=list)
    has_segments: bool = False
    notes: list[tuple[str, str]] = field(default_factory=list)  # (css class, sentence)
    adjusted: bool = False
    breakdown: qa_view.Breakdown | None = None
    sensitivity: list[qa_view.Sensitivity] = field(default_factory=list)
    dated: str | None = None  # which day the sentences' numbers are from, when the banner's are from another


@dataclass
class ResultsView:
    verdict: headline.Headline
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
    conclusion: headline.Conclusion | None = None
    decided_on: str | None = None
    decided_note: str | None = None
    follow_up: str | None = None
    qa_health: qa_health_view.QaHealth | None = None
    critical_breaches: list[str] = field(default_factory=list)  # "Accuracy in Violent extremism"


def _checks(document: dict[str, Any], names: dict[str, str]) -> list[CheckRow]:
    checks = list(document.get("checks") or [])
    srm = document.get("srm")
    if srm and not any(c.get("name") in ("sample_ratio", "srm") for c in checks):
        checks.insert(0, {"name": "srm", "ok": srm.get("ok", False), "p_value": srm.get("p_value")})
    rows = []
    for check in checks:
        text = check_text.message(check, document, names)
        shown_p = "" if re.search(r"\bp [=<]", text) else wording.p_value(check.get("p_value"))
        ran = bool(check.get("ran", check.get("reason") is None))
        rows.append(CheckRow(wording.check_title(check), bool(check.get("ok")), text, shown_p, ran))
    return rows


def _provisional_note(document: dict[str, Any], pilot: Pilot, decide_on: str | None) -> str:
    design = pilot.design or {}
    days = document.get("min_days") or design.get("min_days", design.get("min_runtime_days"))
    runtime = f"its minimum runtime of {days} days" if days else "its minimum runtime"
    if document.get("stopped_early_on"):
        return (
            f"Provisional: the pilot was stopped on {document['stopped_early_on']}, before it reached {runtime}. "
            "Early numbers move a lot; do not act on them alone."
        )
    # `decide_on` is a future day: it is when the runtime will be reached, never what the data run through now.
    when = f" (reached once the data run through {decide_on})" if decide_on else ""
    return (
        f"Provisional: the pilot has not yet reached {runtime}{when}. Early numbers move a lot; do not act on them yet."
    )


def _comparison_notes(
    metric: dict[str, Any], comparison: dict[str, Any], alpha: float, control: str
) -> list[tuple[str, str]]:
    notes = []
    status = explain.guardrail(metric, comparison, control)
    if status is not None:
        notes.append(status)
    texts = (
        explain.raw_difference(metric, comparison),
        explain.adjustment(metric, comparison),
        explain.robustness(comparison, alpha),
    )
    notes += [("info", text) for text in texts if text]
    return notes


def _empty_over_time(document: dict[str, Any]) -> str:
    design = document.get("design") or {}
    dates = design.get("look_dates") or []
    if design.get("method") == "group_sequential" and dates and not design.get("looks_taken"):
        return f"No planned review yet: the first is on {dates[0]}."
    return "No looks at the data yet."


def _named(comparison: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return dict(comparison, arm=plain.arm_name(names, comparison.get("arm")))


def _metric_view(
    metric: dict[str, Any], pilot: Pilot, level: str, index: int, document: dict[str, Any], names: dict[str, str]
) -> MetricView:
    scale = scale_for(metric)
    margin = wording.resolve_margin(metric, pilot.metrics or [])
    alpha = float((pilot.design or {}).get("alpha", 0.05))
    control = plain.arm_name(names, "control")
    comparisons = [_named(c, names) for c in metric.get("comparisons") or []]
    valid = (document.get("decision") or {}).get("recommendation") != "invalid"
    sentences = [
        wording.metric_sentence(metric, comparison, level=level, margin=margin, control=control, valid=valid)
        for comparison in comparisons
    ]
    notes = [note for comparison in comparisons for note in _comparison_notes(metric, comparison, alpha, control)]
    means = [scale.show(arm["mean"]) for arm in metric.get("arms", []) if arm.get("mean") is not None]
    decimals = decimals_for(means)
    arms = [
        ArmRow(
            plain.arm_name(names, arm["arm"]),
            arm.get("units", 0),
            arm.get("audits", 0),
            scale.level(arm["mean"], decimals) if arm.get("mean") is not None else "no audits",
        )
        for arm in metric.get("arms", [])
    ]
    adjusted = any(c.get("adjusted") for c in comparisons)
    _, units = plain.unit_words(document.get("unit"))
    over_time = figures.effect_over_time(
        metric,
        margin=margin,
        empty=_empty_over_time(document),
        names=names,
        data_through=document.get("data_through"),
        adjusted=adjusted,
    )
    charts = [
        _chart(f"chart-{index}-over-time", over_time, chart_tables.over_time(metric, names, adjusted)),
        _chart(
            f"chart-{index}-by-week",
            figures.effect_by_week(metric, margin=margin, names=names),
            chart_tables.by_week(metric, names),
        ),
        _chart(
            f"chart-{index}-arms",
            figures.arm_means(metric, units=units, names=names),
            chart_tables.arm_levels(metric, names, document.get("unit")),
        ),
    ]
    has_segments = any(s.get("difference") is not None for s in metric.get("segments") or [])
    if has_segments:
        charts.append(
            _chart(
                f"chart-{index}-segments",
                figures.segment_forest(metric, names=names),
                chart_tables.segments(metric, names),
            )
        )
    role = wording.ROLE_LABELS.get(metric.get("role", ""), "Metric")
    sensitivity = [s for c in metric.get("comparisons") or [] if (s := qa_view.sensitivity(metric, c, names))]
    return MetricView(
        metric.get("name", ""),
        metric_label(metric),
        role,
        sentences,
        arms,
        charts,
        has_segments,
        notes,
        adjusted,
        qa_view.breakdown(metric, index, names, alpha, units),
        sensitivity,
    )


def results_view(document: dict[str, Any], pilot: Pilot, conclusion: headline.Conclusion | None = None) -> ResultsView:
    """Everything the results page (and the report) shows, from the results document and the registered plan."""
    decision = document.get("decision") or {}
    names = plain.arm_names(pilot.arms)
    level = wording.interval_level(pilot.design)
    order = {"primary": 0, "guardrail": 1, "secondary": 2}
    metrics = sorted(document.get("metrics") or [], key=lambda m: order.get(m.get("role", ""), 3))
    banner = headline.headline(pilot, document, conclusion)
    decided_on, through = decision.get("decided_on"), document.get("data_through")
    earlier = bool(decided_on and through and decided_on != through)
    policies = sorted({str(row.get("value")) for m in metrics for row in m.get("by_policy") or []})
    policies += [str(c.get("policy")) for m in metrics for c in m.get("critical_policies") or []]
    return ResultsView(
        verdict=banner,
        reasons=[
            qa_view.with_policy_names(check_text.with_names(str(r), names), policies)
            for r in decision.get("reasons") or []
            if not str(r).startswith(REPEATED_REASONS)
        ],
        provisional=bool(decision.get("provisional")),
        provisional_note=_provisional_note(document, pilot, banner.decide_on),
        data_through=document.get("data_through") or "",
        as_of=document.get("as_of"),
        level=level,
        checks=_checks(document, names),
        srm_counts=dict((document.get("srm") or {}).get("counts") or {}),
        metrics=[
            _dated(_metric_view(metric, pilot, level, index, document, names), through, decided_on if earlier else None)
            for index, metric in enumerate(metrics)
        ],
        schedule=explain.reviews(document),
        unit_label="Teams" if document.get("unit") == "team" else "Moderators",
        method_notes=[str(note) for note in document.get("notes") or []],
        conclusion=conclusion,
        decided_on=decided_on,
        decided_note=_decided_note(decided_on, through) if decided_on else None,
        follow_up=_follow_up(decision),
        qa_health=qa_health_view.qa_health(document, names),
        critical_breaches=_breaches(metrics),
    )


def _decided_note(decided_on: str, through: str | None) -> str:
    """The line under the banner of a decided pilot, saying which day the reasons' figures are from."""
    text = f"Decision reached on {decided_on}; a sequential decision, once made, stands."
    if through and through != decided_on:
        text += (
            f" The reasons below give the figures at the decision on {decided_on}; each metric further down shows "
            f"the latest, data through {through}."
        )
    return text


def _dated(view: MetricView, through: str | None, decided_on: str | None) -> MetricView:
    """Label the metric's sentences with their day when the banner's figures are from the (earlier) decision."""
    if decided_on and through:
        view.dated = f"Latest, data through {through} (the decision on {decided_on} used the figures in the banner)."
    return view


def _breaches(metrics: list[dict[str, Any]]) -> list[str]:
    """Each registered critical policy whose breach makes the verdict a no-go: "Accuracy in Violent extremism"."""
    return [
        f"{metric_label(metric)} in {qa_view.policy_name(c.get('policy'))}"
        for metric in metrics
        for c in metric.get("critical_policies") or []
        if c.get("harmful")
    ]


def _follow_up(decision: dict[str, Any]) -> str | None:
    """One sentence on the looks after a kept decision (None when the latest analysis is the decision)."""
    follow = decision.get("follow_up")
    if not follow:
        return None
    latest = wording.verdict(follow.get("recommendation")).label
    return (
        f"Later looks are descriptive follow-up and do not change the decision; the latest analysis alone would read "
        f"“{latest}”."
    )
