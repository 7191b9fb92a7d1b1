"""The verdict as leadership must read it: never final while provisional, and for a concluded pilot how it ended.

A provisional `go` reads "Go (provisional)" with "Promising: wait until <date> to decide", never "roll it out": the
date is the day the pilot reaches its registered minimum runtime. A concluded pilot says whether it ended at its
planned end (only when the data reach the end date), because a boundary was crossed, or because a person stopped it
early (who, when and their note), next to the recorded decision when there is one. A pilot stopped early without a
decision reads "Stopped before a decision", never "Keep running" or "wait until".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pilots.models import Pilot
from webui.pages import wording

PROVISIONAL = {
    "go": ("Go (provisional)", "Promising: wait until {date} to decide."),
    "no_go": ("No-go (provisional)", "Looks worse so far: wait until {date} to decide."),
    "continue": ("Keep running", "Too early to tell: keep the pilot running at least until {date}."),
}
# A pilot a person stopped before its planned end: the analysis of the data as of the stop, never "keep running"
# or "wait until" (nobody will wait: the pilot has ended).
STOPPED = {
    "go": (
        "Go (provisional)",
        "Promising when it was stopped on {stopped}, but before its minimum runtime: too early to act on.",
    ),
    "no_go": ("No-go (provisional)", "Looked worse when it was stopped on {stopped}, before its minimum runtime."),
    "continue": (
        "Stopped before a decision",
        "The pilot was stopped on {stopped}, before its planned end, without enough evidence either way.",
    ),
}
DECISIONS = {
    "roll_out": "Roll it out",
    "do_not_roll_out": "Do not roll it out",
    "stopped": "Stopped for another reason",
}


@dataclass(frozen=True)
class Conclusion:
    """Who concluded the pilot and what they decided (from the pilot's decision record, or its audit trail)."""

    by: str
    at: datetime | None
    decision: str | None = None  # roll_out / do_not_roll_out / stopped
    rationale: str = ""
    recommendation: str | None = None  # the engine's recommendation when it was concluded

    @property
    def decision_label(self) -> str:
        return DECISIONS.get(self.decision or "", "")

    @property
    def recommendation_label(self) -> str:
        return wording.verdict(self.recommendation).label if self.recommendation else ""


@dataclass(frozen=True)
class Headline:
    label: str
    css: str
    summary: str
    provisional: bool
    decide_on: str | None  # the day the minimum runtime is reached, while provisional
    ending: str | None  # how a concluded (or ended) pilot ended


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def minimum_runtime_date(pilot: Pilot, document: dict[str, Any]) -> date | None:
    """The last day of data the minimum runtime needs (data through this day means the runtime is reached)."""
    days = document.get("min_days") or (pilot.design or {}).get("min_days")
    if not days or pilot.start_date is None:
        return None
    return pilot.start_date + timedelta(days=int(days) - 1)


def crossing(document: dict[str, Any]) -> tuple[str, str] | None:
    """(metric label, look date) of the first primary comparison that crossed a boundary, if any."""
    for metric in document.get("metrics") or []:
        if metric.get("role") != "primary":
            continue
        for comparison in metric.get("comparisons") or []:
            if comparison.get("crossing") in ("up", "down", "futility"):
                look = (comparison.get("look") or {}).get("date") or document.get("data_through") or ""
                return str(metric.get("label") or metric.get("name")), str(look)
    return None


def planned_end_reached(pilot: Pilot, document: dict[str, Any]) -> bool:
    """Only when the data reach the planned end date (a pilot concluded earlier did not reach it)."""
    through = _day(document.get("data_through"))
    return through is not None and pilot.end_date is not None and through >= pilot.end_date


def ending(pilot: Pilot, document: dict[str, Any], conclusion: Conclusion | None) -> str | None:
    """How the pilot ended, or None while it runs and its planned end is not reached."""
    as_of = _day(document.get("as_of"))
    concluded = pilot.status == "concluded" and (
        as_of is None or pilot.concluded_at is None or as_of >= pilot.concluded_at.date()
    )
    reached = planned_end_reached(pilot, document)
    if not concluded:
        if reached:
            return (
                f"The planned end date ({pilot.end_date.isoformat()}) is reached: this is the final analysis. "
                "The pilot is waiting for its decision to be recorded."
            )
        return None
    who = ""
    if conclusion is not None:
        when = f" on {conclusion.at.strftime('%Y-%m-%d')}" if conclusion.at else ""
        who = f"{conclusion.by}{when}"
    crossed = crossing(document)
    if reached:
        text = f"Ended at its planned end date ({pilot.end_date.isoformat()})."
        if who:
            text += f" Concluded by {who}."
    elif crossed is not None and document.get("decision", {}).get("recommendation") in ("go", "no_go"):
        metric, look = crossed
        text = f"Ended early because {metric} crossed its decision boundary at the review of {look}."
        if who:
            text += f" Concluded by {who}."
    else:
        planned = f" before its planned end ({pilot.end_date.isoformat()})" if pilot.end_date else ""
        text = f"Stopped early by {who or 'a person'}{planned}."
    if conclusion is not None and conclusion.rationale:
        text += f" Their note: “{conclusion.rationale}”"
    return text


def headline(pilot: Pilot, document: dict[str, Any], conclusion: Conclusion | None = None) -> Headline:
    """The verdict banner's label, class and one-line summary, plus the ending of a concluded pilot."""
    decision = document.get("decision") or {}
    recommendation = decision.get("recommendation")
    verdict = wording.verdict(recommendation)
    provisional = bool(decision.get("provisional")) and recommendation in PROVISIONAL
    decide_on = minimum_runtime_date(pilot, document)
    label, summary = verdict.label, verdict.summary
    stopped = document.get("stopped_early_on")
    shown_decide_on = None  # a pilot stopped early is not waiting for its minimum runtime
    if stopped and recommendation in STOPPED and (provisional or recommendation == "continue"):
        label, template = STOPPED[recommendation]
        summary = template.format(stopped=stopped)
    elif provisional:
        label, template = PROVISIONAL[recommendation]
        shown_decide_on = decide_on.isoformat() if decide_on else None
        summary = template.format(date=shown_decide_on or "the minimum runtime is reached")
    return Headline(
        label=label,
        css=verdict.css + (" provisional" if provisional else ""),
        summary=summary,
        provisional=provisional,
        decide_on=shown_decide_on,
        ending=ending(pilot, document, conclusion),
    )


def list_label(recommendation: str | None, provisional: bool, stopped: bool = False) -> tuple[str, str]:
    """(label, css) for the badge on the pilots list: "Go (provisional)" while provisional, "Stopped before a
    decision" for a pilot stopped early without one."""
    verdict = wording.verdict(recommendation)
    if stopped and recommendation == "continue":
        return STOPPED["continue"][0], verdict.css
    if provisional and recommendation in PROVISIONAL:
        return PROVISIONAL[recommendation][0], verdict.css + " provisional"
    return verdict.label, verdict.css
