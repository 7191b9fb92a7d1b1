"""Plain-language notes beside each result: the pre-pilot adjustment, the guardrail's status, the robustness check
for team pilots, and where a group-sequential pilot stands in its planned reviews.

Each function reads one part of the results document and returns a sentence, or nothing when the part is absent,
so a document from an older or newer engine never breaks the page.
"""

from __future__ import annotations

from typing import Any

from webui.figures.scale import scale_for
from webui.pages.wording import compact, number, p_value, sentence_decimals


def adjustment(metric: dict[str, Any], comparison: dict[str, Any]) -> str | None:
    """ "Adjusted for pre-pilot accuracy (variance reduced by 25%)." or why no adjustment was made."""
    cuped = comparison.get("cuped") or {}
    reduction = cuped.get("variance_reduction")
    what = f"pre-pilot {str(metric.get('label') or metric.get('name', 'values')).lower()}"
    if comparison.get("adjusted") and reduction is not None:
        if reduction >= 0.005:
            return f"Adjusted for {what} (variance reduced by {reduction * 100:.0f}%), which narrows the interval."
        return f"Adjusted for {what} (this barely narrowed the interval)."
    if cuped.get("message"):
        return f"Not adjusted for {what}: {cuped['message']}"
    return None


def raw_difference(metric: dict[str, Any], comparison: dict[str, Any]) -> str | None:
    """When the headline estimate is adjusted, the raw difference between the group averages beside it, so the
    averages in the table (raw) and the adjusted estimate never look like they contradict each other."""
    raw = (comparison.get("raw") or {}).get("difference")
    if not comparison.get("adjusted") or raw is None:
        return None
    scale = scale_for(metric)
    shown = scale.show(raw)
    decimals = sentence_decimals(metric, comparison)  # the precision of the estimate's sentence above it
    unit = f" {scale.change_unit}" if scale.change_unit else ""
    return (
        f"The estimate above is adjusted for the pre-pilot period; the raw difference between the group averages "
        f"(the table below) is {number(shown, decimals, signed=True)}{unit}. The adjustment removes differences "
        "the groups already had before the pilot started."
    )


def guardrail(metric: dict[str, Any], comparison: dict[str, Any], control: str = "control") -> tuple[str, str] | None:
    """The guardrail's status as (css class, sentence): within the margin, breached, or not yet shown."""
    result = comparison.get("non_inferiority")
    if not result:
        return None
    scale = scale_for(metric)
    allowed = ""
    if result.get("margin") is not None:
        allowed = f" of {compact(scale.show(abs(result['margin'])))} {scale.change_unit}".rstrip()
    worse = "lower" if metric.get("direction", "higher") == "higher" else "higher"
    if result.get("harmful"):
        return (
            "fail",
            f"Guardrail breached: the {comparison.get('arm')} group is clearly worse ({worse}) than {control}.",
        )
    if result.get("non_inferior"):
        return "pass", f"Guardrail met: any worsening is smaller than the allowed margin{allowed}."
    return "pending", (
        f"Guardrail not yet shown to be met: a worsening bigger than the allowed margin{allowed} is not ruled out yet."
    )


def robustness(comparison: dict[str, Any], alpha: float = 0.05) -> str | None:
    """The randomization test, phrased as a secondary robustness check: whether its sequential reading has crossed
    (what the verdict needs), with the fixed-horizon p-value at the latest data beside it."""
    test = comparison.get("randomization")
    if not test:
        return None
    runs = test.get("n_resamples")
    rerun = f"re-running the random assignment {runs:,} times" if runs else "re-running the random assignment"
    if test.get("p_value") is None:
        return f"Robustness check ({rerun}) not available: {test.get('reason') or 'too little data'}."
    reviews = test.get("reviews") or []
    count = f"{len(reviews)} review{'s' if len(reviews) != 1 else ''}"
    read = f"read at {count} so far, its error rate spent over them" if reviews else "no review yet"
    fixed = f"at the latest data alone it gives {p_value(test['p_value'])}"
    up, down = test.get("crossed_up"), test.get("crossed_down")
    if test.get("null_difference"):  # a guardrail's test of harm beyond its margin (one-sided)
        crossed = up or down
        verdict = f"showed harm beyond the margin on {crossed}" if crossed else "has not shown harm beyond the margin"
        return f"Robustness check: a randomization test of harm beyond the margin ({rerun}; {read}) {verdict}; {fixed}."
    if up or down:
        verdict = f"crossed {'upwards' if up else 'downwards'} on {up or down}, which supports a real difference"
    else:
        verdict = "has not crossed, so on its own it does not confirm a real difference"
    return f"Robustness check: a randomization test ({rerun}; {read}) {verdict}; {fixed}."


def reviews(document: dict[str, Any]) -> str | None:
    """Where the pilot stands in its schedule: "Review 3 of 6 done; next planned review: 2026-11-27." for
    group-sequential designs, the daily-look rule for always-valid ones."""
    design = document.get("design") or {}
    runtime = document.get("runtime_days")
    days = f"{runtime} days of data so far." if runtime else ""
    if design.get("method") == "group_sequential":
        dates = design.get("look_dates") or []
        taken = min(int(design.get("looks_taken") or 0), len(dates)) if dates else 0
        upcoming = design.get("next_look")
        if not dates:
            return days or None
        if taken == 0 and document.get("stopped_early_on"):
            text = (
                f"The pilot was stopped before its first planned review ({dates[0]}), so there is no design-valid "
                "interval."
            )
        elif taken == 0:
            text = (
                f"The first of {len(dates)} planned reviews is on {dates[0]}; "
                "until then there is no design-valid interval."
            )
        else:
            text = f"Review {taken} of {len(dates)} done (on {dates[taken - 1]})."
            ended = document.get("end_reached") or document.get("stopped_early_on")
            decided = (document.get("decision") or {}).get("decided_on")
            if upcoming and taken < len(dates) and not ended:
                if decided:
                    text += " Later reviews are descriptive follow-up: the decision is made."
                else:
                    text += f" Next planned review: {upcoming} (review {taken + 1} of {len(dates)})."
        return f"{text} {days}".strip()
    if design.get("method") == "always_valid":
        return f"Results may be checked any day without raising false alarms. {days}".strip()
    return days or None
