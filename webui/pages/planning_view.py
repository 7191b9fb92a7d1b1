"""The planning panel of a draft in plain words: what the pilot can and cannot detect, week by week.

Built from the same document as `GET /api/v1/pilots/{id}/plan` (`pilots.planning.service.pilot_plan`), shown in the
metric's own unit (points for rates, seconds for handle time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pilots.catalog import METRICS
from webui.figures import figure_json
from webui.figures.planning import detectable_effect
from webui.figures.scale import scale_for
from webui.pages.wording import compact

METHOD_WORDS = {
    "group_sequential": "reviews the data at its planned reviews",
    "always_valid": "lets you read the verdict any day",
    "fixed": "looks only once, at the end",
}


@dataclass(frozen=True)
class PlanningView:
    metric_label: str
    unit: str
    rows: list[dict[str, str]]
    figure: str
    can: str
    cannot: str
    time: str
    inflation: str
    source: str
    summary: str
    # Team pilots and pilots under 30 units: what the engine's small-sample procedure can really promise
    # (`pilots.planning.small_sample`), which the normal-theory sentences above overstate.
    small_sample: str | None = None


def _amount(value: float | None, factor: float, unit: str) -> str:
    if value is None:
        return "n/a"
    shown = abs(value) * factor
    if shown >= 100:
        text = f"{shown:,.0f}"
    elif shown == 0 or shown >= 0.1:
        text = f"{shown:.1f}"
    else:  # a small change keeps two significant digits instead of reading "0.0"
        text = f"{shown:.2g}"
    return f"{text} {unit}".strip()


def planning_view(document: dict[str, Any], unit: str) -> PlanningView:
    """Sentences, a table and a chart from a plan document of a pilot randomizing `unit`s (moderator or team)."""
    metric = document["metric"]
    definition = METRICS[metric]
    scale = scale_for({"name": metric})
    units_word = "teams" if unit == "team" else "moderators"
    factor, unit = scale.factor, scale.change_unit or definition.unit_of_measure
    weeks = document["weeks"]
    last = weeks[-1]
    per_arm = document["units_per_arm"]
    better = "higher" if definition.higher_is_better else "lower"
    baseline = scale.level(document["baseline"]) if document.get("baseline") is not None else "n/a"
    target = document.get("target_effect")
    total = document.get("units") or sum(per_arm)
    # An odd roster is planned on the smaller split (21 teams as 10 / 10): say so rather than let the counts disagree.
    split = " / ".join(f"{n:,}" for n in per_arm)
    groups = f"{split} per group" if total == sum(per_arm) else f"planned conservatively as {split} per group"
    can = (
        f"By week {last['week']} (the planned end), with {total:,} {units_word} "
        f"({groups}), the pilot can reliably detect a change in "
        f"{definition.label.lower()} of {_amount(last['mde'], factor, unit)} or more (from about {baseline}; "
        f"{better} is better), with {document['power']:.0%} power and a {document['alpha']:.0%} false-go rate."
    )
    cannot = (
        f"It cannot reliably detect smaller changes: a real change of {_amount((last['mde'] or 0) / 2, factor, unit)} "
        "would most likely end as “Keep running” or “No-go”, not as a Go."
    )
    if target is not None:
        week = document.get("detectable_week")
        cannot = (
            f"The change you hope for ({_amount(target, factor, unit)}) becomes detectable in week {week}."
            if week is not None
            else f"The change you hope for ({_amount(target, factor, unit)}) is smaller than the pilot can detect by "
            "its planned end: add moderators (more time helps less), or expect no verdict."
        )
    saturation = document.get("saturation_week")
    time = (
        f"After week {saturation} more time barely helps: each further week shrinks the detectable change by less "
        "than 5%. To detect smaller changes, add moderators rather than weeks."
        if saturation is not None
        else f"Each extra week still helps through week {last['week']}."
    )
    small_sample = (document.get("small_sample") or {}).get("message")
    if small_sample:
        can = f"{can} That is normal theory; with this few {units_word}, read the note below."
    factor_value = document.get("design_inflation_factor") or document.get("inflation_factor")
    method = document["design"]["method"]
    inflation = (
        f"Because the pilot {METHOD_WORDS.get(method, 'is read more than once')}, it needs "
        f"{compact((factor_value - 1) * 100)}% more data than a single look at the end (inflation factor "
        f"{factor_value:.3f}); the numbers above include this."
        if factor_value
        else "The pilot looks once, at the end, so no allowance for repeated looks is needed."
    )
    if document.get("variance_source") == "pre_period":
        source = (
            f"Estimated from the pre-period QA audits of the roster: baseline {baseline}, about "
            f"{compact(document['audits_per_unit_per_week'])} audits per unit a week, ICC "
            f"{document['variance_components']['icc']:.3f}."
        )
    else:
        source = (
            f"Estimated from the values you entered: baseline {baseline}, "
            f"{compact(document['audits_per_unit_per_week'])} audits per unit a week, ICC "
            f"{document['variance_components']['icc']:.3f}."
        )
    rows = [
        {
            "week": str(row["week"]),
            "audits": compact(row["audits_per_unit"]),
            "mde": _amount(row["mde"], factor, unit),
            "relative": f"{row['mde_relative'] * 100:.1f}%" if row.get("mde_relative") is not None else "n/a",
            "power": f"{row['power']:.0%}" if row.get("power") is not None else "",
        }
        for row in weeks
    ]
    figure = detectable_effect(
        [row["week"] for row in weeks],
        [None if row["mde"] is None else abs(row["mde"]) * factor for row in weeks],
        unit,
        saturation_week=saturation,
        target=None if target is None else target * factor,
    )
    return PlanningView(
        metric_label=definition.label,
        unit=unit,
        rows=rows,
        figure=figure_json(figure),
        can=can,
        cannot=cannot,
        time=time,
        inflation=inflation,
        source=source,
        summary=document["summary"],
        small_sample=small_sample,
    )
