"""The decision record as the pages show it: one presenter and two template macros every page reuses.

Templates call `decision_of(pilot)` (a template global) and pass the result to the macros in
`pages/_decision.html`: `decision_badge(d)` for lists, `decision_card(d)` for a pilot's pages. Both render nothing
for a pilot without a decision record, so a template can call them unconditionally.
"""

from __future__ import annotations

from dataclasses import dataclass

from pilots import decisions
from pilots.models import Pilot
from webui.pages.wording import verdict

CSS = {"roll_out": "roll-out", "do_not_roll_out": "no-roll-out", "stopped": "stopped"}


@dataclass(frozen=True)
class DecisionView:
    """A pilot's decision record in plain words."""

    decision: str
    label: str
    css: str
    rationale: str
    by: str
    at: str
    recommendation: str
    agrees: bool

    @property
    def sentence(self) -> str:
        """`Roll out, decided by demo-pm on 2026-12-07 09:14 UTC.`"""
        return f"{self.label}, decided by {self.by} on {self.at}."

    @property
    def recommendation_sentence(self) -> str:
        """What the engine said at that moment, and whether people followed it."""
        if self.decision == "stopped":
            return f"At that moment the results said: {self.recommendation}."
        if self.agrees:
            return f"This follows the results at that moment: {self.recommendation}."
        return f"This differs from the results at that moment: {self.recommendation}."


def decision_view(pilot: Pilot) -> DecisionView | None:
    """The view of `pilot`'s decision record, or None when it has none (running, draft, or concluded before
    decisions were recorded)."""
    if pilot.decision is None:
        return None
    recommendation = "no results yet"
    if pilot.decision_recommendation is not None:
        recommendation = verdict(pilot.decision_recommendation).label
        if pilot.decision_provisional:
            recommendation += " (provisional)"
    at = pilot.decision_at.strftime("%Y-%m-%d %H:%M UTC") if pilot.decision_at else "an unknown time"
    return DecisionView(
        decision=pilot.decision,
        label=decisions.LABELS.get(pilot.decision, pilot.decision),
        css=CSS.get(pilot.decision, "stopped"),
        rationale=pilot.decision_rationale or "",
        by=pilot.decision_by or "someone",
        at=at,
        recommendation=recommendation,
        agrees=not decisions.needs_rationale(pilot.decision, pilot.decision_recommendation),
    )
