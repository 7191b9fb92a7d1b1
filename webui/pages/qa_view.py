"""The QA-domain parts of a metric on the results page: where the change helps or hurts (by policy and queue, with
the pre-registered critical policies) and the auditor-adjusted estimate as a sensitivity check.

Reads `metrics[].by_policy`, `by_queue`, their `*_heterogeneity` tests, `policy_note`, `critical_policies` and
`comparisons[].auditor_adjusted` of the results document; everything is optional, so documents without QA data (or
from before these fields existed) show nothing rather than break.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pilots.results.qa_auditors import MATERIAL
from webui import plain
from webui.figures import qa as qa_figures
from webui.figures.scale import Scale, decimals_for, metric_label, scale_for
from webui.pages.chart_tables import ChartTable
from webui.pages.chart_view import ChartView, chart
from webui.pages.check_text import with_names
from webui.pages.wording import compact, number, p_value

PLURALS = {"policy": "policies", "queue": "queues"}
FALSE_DISCOVERY = 0.05  # a cell whose q-value is at least this is read as possibly chance
READINGS = {
    "better": "better",
    "worse": "worse",
    "unclear": "could be noise",
    "small": "too little data",
}


@dataclass
class Heterogeneity:
    """A heterogeneity test in plain words, with the technical statement in a second line."""

    text: str
    technical: str


@dataclass
class CriticalRow:
    """One pre-registered critical policy (and arm): its state (`fail`, `pass`, `pending`) and what it means."""

    css: str
    title: str
    detail: str


@dataclass
class Dimension:
    """Effects by one dimension (policy or queue): the forest plot with its table and the heterogeneity tests."""

    name: str
    chart: ChartView
    heterogeneity: list[Heterogeneity]
    small: int  # cells with too little data


@dataclass
class Breakdown:
    """ "Where it helps, where it hurts" for one metric."""

    dimensions: list[Dimension]
    note: str
    critical: list[CriticalRow] = field(default_factory=list)
    harmful: list[str] = field(default_factory=list)  # policies whose breach makes the verdict a no-go


@dataclass
class Sensitivity:
    """The auditor-adjusted estimate of one comparison beside the same comparison as measured."""

    arm: str
    measured: str
    adjusted: str | None
    message: str
    disagrees: bool


def policy_name(code: Any) -> str:
    """ "violent_extremism" -> "Violent extremism"."""
    return plain.humanize(str(code))


def with_policy_names(text: str, codes: list[str]) -> str:
    """The engine's sentence with quoted policy codes (`policy 'violent_extremism'`) and a "Registered:" list in
    plain names."""
    for code in sorted(codes, key=len, reverse=True):
        name = policy_name(code)
        text = re.sub(rf"policy '{re.escape(code)}'", f"the {name} policy", text)
        text = re.sub(rf"(?<![\w-]){re.escape(code)}(?![\w-])", name, text)
    return text


def _policies(metric: Mapping[str, Any]) -> list[str]:
    values = {str(row.get("value")) for row in metric.get("by_policy") or []}
    values |= {str(c.get("policy")) for c in metric.get("critical_policies") or []}
    return sorted(values)


def _interval(scale: Scale, ci: Any, fmt) -> str:
    if not qa_figures.has_interval(ci):
        return "–"
    return f"{fmt(scale.show(ci[0]))} to {fmt(scale.show(ci[1]))}"


def cell_table(
    metric: Mapping[str, Any], dimension: str, names: Mapping[str, str], units: str = "moderators"
) -> ChartTable:
    """The numbers behind the forest plot, in its order, including the cells with too little data."""
    scale = scale_for(dict(metric))
    rows_in = qa_figures.ordered_cells(dict(metric), dimension)
    higher = metric.get("direction", "higher") == "higher"
    several = len({r.get("arm") for r in rows_in}) > 1
    critical = qa_figures.critical_lookup(dict(metric)) if dimension == "policy" else {}
    shown = [scale.show(v) for r in rows_in for v in [r.get("difference"), *(r.get("ci") or [])] if v is not None]
    decimals = max(decimals_for(shown), 1)

    def fmt(value: float | None) -> str:
        return number(value, decimals, signed=True) if value is not None else "–"

    rows = []
    for row in rows_in:
        label = qa_figures.cell_label(row, dict(names), False, (str(row.get("value")), str(row.get("arm"))) in critical)
        state = qa_figures.cell_state(row, higher)
        reading = READINGS[state]
        q = row.get("q_value")
        if state in ("better", "worse") and q is not None and q >= FALSE_DISCOVERY:
            reading += ", but may be chance among this many cells"
        if state == "small":
            reading = f"too little data: {row.get('message') or 'no estimate'}"
        cells = [label]
        if several:
            cells.append(plain.arm_name(names, row.get("arm")))
        cells += [
            f"{row.get('units', 0):,}",
            f"{row.get('audits', 0):,}",
            fmt(scale.show(row.get("difference"))),
            _interval(scale, row.get("ci"), fmt),
            p_value(row.get("q_value")).replace("p ", "q ") or "–",
            reading,
        ]
        rows.append(tuple(cells))
    unit = f" ({scale.change_unit})" if scale.change_unit else ""
    columns = [dimension.capitalize(), *(["Group"] if several else [])]
    columns += [units.capitalize(), "Audits", f"Difference{unit}", "Interval", "False-discovery q", "Reading"]
    caption = f"Effect within each {dimension}, raw, with {PLURALS[dimension]} of too little data listed last"
    words = {len(columns) - 1} | ({1} if several else set())  # the reading (and the group) are words
    return ChartTable(caption, tuple(columns), rows, frozenset(words))


def heterogeneity(
    test: Mapping[str, Any], dimension: str, names: Mapping[str, str], several: bool, alpha: float
) -> Heterogeneity:
    """ "The effect really does differ between policies ..." and "Cochran's Q = 29.3 on 5 degrees of freedom, ..."."""
    plural = PLURALS[dimension]
    who = f" (for {plain.arm_name(names, test.get('arm'))})" if several else ""
    q, df, p = test.get("q"), test.get("df"), test.get("p_value")
    if test.get("reason") or q is None or p is None:
        return Heterogeneity(
            f"Too few {plural} have an estimate to tell whether the effect differs between them{who}.",
            "Cochran's Q heterogeneity test: not computed (fewer than two cells with an interval).",
        )
    if p < alpha:
        text = (
            f"The effect really does differ between {plural}{who}: the spread is larger than chance would explain, "
            f"so look at the {plural} marked better or worse."
        )
    else:
        text = (
            f"The differences between {plural}{who} are within what chance would explain: no {dimension} stands out "
            "for sure."
        )
    share = test.get("i_squared")
    spread = f", I² = {100 * share:.0f}%" if share is not None else ""
    return Heterogeneity(text, f"Cochran's Q = {q:.1f} on {df} degrees of freedom, {p_value(p)}{spread}.")


def _margin_text(metric: Mapping[str, Any], segment: Mapping[str, Any]) -> str:
    margin = segment.get("margin")
    if margin is None:
        return "its margin"
    if segment.get("relative"):
        return f"{compact(100 * float(margin))}% of the control value"
    scale = scale_for(dict(metric))
    shown = compact(scale.show(float(margin)))
    unit = scale.change_unit
    if unit == "points" and shown == "1":
        unit = "point"
    return f"{shown} {unit}".strip()


def critical_rows(metric: Mapping[str, Any], names: Mapping[str, str]) -> list[CriticalRow]:
    """Each registered critical policy and arm: breached (a no-go), within its margin, or not yet decided."""
    codes = _policies(metric)
    several = len({c.get("arm") for c in metric.get("critical_policies") or []}) > 1
    label = metric_label(dict(metric))
    rows = []
    for segment in metric.get("critical_policies") or []:
        name = policy_name(segment.get("policy"))
        who = f" ({plain.arm_name(names, segment.get('arm'))})" if several else ""
        margin = _margin_text(metric, segment)
        detail = with_policy_names(str(segment.get("message") or ""), codes)
        if segment.get("harmful"):
            title = (
                f"{label} got worse in {name}{who} by more than the {margin} agreed before launch. This critical "
                "policy alone makes the verdict a no-go."
            )
            rows.append(CriticalRow("fail", title, detail))
        elif segment.get("non_inferior"):
            rows.append(CriticalRow("pass", f"{name}{who}: within the {margin} agreed before launch.", detail))
        else:
            title = f"{name}{who}: not yet shown to stay within the {margin} agreed before launch."
            rows.append(CriticalRow("pending", title, detail))
    return rows


def breakdown(
    metric: Mapping[str, Any], index: int, names: Mapping[str, str], alpha: float, units: str = "moderators"
) -> Breakdown | None:
    """The metric's "where it helps, where it hurts" section, or None when the document has no policy or queue
    effects for it (no audit carries a policy or a queue, or a document from before these fields)."""
    if not (metric.get("by_policy") or metric.get("by_queue") or metric.get("critical_policies")):
        return None
    codes = _policies(metric)
    dimensions = []
    for dimension in ("policy", "queue"):
        cells = metric.get(f"by_{dimension}") or []
        if not cells:
            continue
        tests = metric.get(f"by_{dimension}_heterogeneity") or []
        several = len(tests) > 1
        figure = qa_figures.cell_forest(dict(metric), dimension, names=dict(names))
        view = chart(f"chart-{index}-by-{dimension}", figure, cell_table(metric, dimension, names, units))
        small = sum(1 for row in cells if qa_figures.cell_state(row, True) == "small")
        dimensions.append(
            Dimension(dimension, view, [heterogeneity(t, dimension, names, several, alpha) for t in tests], small)
        )
    critical = critical_rows(metric, names)
    harmful = [policy_name(c.get("policy")) for c in metric.get("critical_policies") or [] if c.get("harmful")]
    note = with_policy_names(str(metric.get("policy_note") or ""), codes)
    return Breakdown(dimensions, note, critical, harmful)


def sensitivity(
    metric: Mapping[str, Any], comparison: Mapping[str, Any], names: Mapping[str, str]
) -> Sensitivity | None:
    """The auditor-adjusted estimate beside the raw comparison it corrects (None when the document has none)."""
    adjusted = comparison.get("auditor_adjusted")
    if not adjusted:
        return None
    scale = scale_for(dict(metric))
    raw = comparison.get("raw") or {"difference": comparison.get("difference"), "ci": comparison.get("ci")}
    values = [
        scale.show(v)
        for v in [
            raw.get("difference"),
            *(raw.get("ci") or []),
            adjusted.get("difference"),
            *(adjusted.get("ci") or []),
        ]
        if v is not None
    ]
    decimals = max(decimals_for(values), 1)
    unit = f" {scale.change_unit}" if scale.change_unit else ""

    def estimate(part: Mapping[str, Any]) -> str | None:
        if part.get("difference") is None:
            return None
        text = f"{number(scale.show(part['difference']), decimals, signed=True)}{unit}"
        if qa_figures.has_interval(part.get("ci")):
            low, high = (number(scale.show(v), decimals, signed=True) for v in part["ci"])
            text += f" (interval {low} to {high})"
        return text

    disagrees = False
    if adjusted.get("difference") is not None and raw.get("difference") is not None and raw.get("ci"):
        low, high = raw["ci"]
        if low is not None and high is not None:
            half = (high - low) / 2
            disagrees = half > 0 and abs(adjusted["difference"] - raw["difference"]) > MATERIAL * half
    message = plain_numbers(with_names(str(adjusted.get("message") or ""), names))
    return Sensitivity(
        plain.arm_name(names, comparison.get("arm")), estimate(raw) or "n/a", estimate(adjusted), message, disagrees
    )


def plain_numbers(text: str) -> str:
    """The engine's ASCII minus signs before digits as real minus signs, like every number on the page."""
    return re.sub(r"(?<![\w-])-(?=\d)", "\u2212", text)
