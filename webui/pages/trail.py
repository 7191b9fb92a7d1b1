"""The audit trail as sentences ("demo-pm launched the pilot: 60 moderators randomized, plan locked.").

Each event is an action code with a details dict (`pilots.events`); people read one sentence per event, with counts
spelled out and arm codes replaced by their display names. Unknown actions still get a readable line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webui import plain

DECISIONS = {
    "roll_out": "roll it out",
    "do_not_roll_out": "do not roll it out",
    "stopped": "stopped for another reason",
}


@dataclass(frozen=True)
class TrailEntry:
    at: datetime
    actor: str
    sentence: str


def _number(details: Mapping[str, Any], key: str) -> int:
    value = details.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _created(details, names, unit) -> str:
    return "registered the pilot as a draft."


def _updated(details, names, unit) -> str:
    fields = [str(field).replace("_", " ") for field in details.get("fields") or details.get("changed") or []]
    return f"edited the plan ({plain.join(fields)})." if fields else "edited the plan."


def _launched(details, names, unit) -> str:
    singular, _ = plain.unit_words(unit)
    by_arm = details.get("moderators_by_arm") or {}
    groups = ", ".join(f"{plain.arm_name(names, arm)} {n:,}" for arm, n in by_arm.items())
    units = plain.count(_number(details, "units"), singular)
    text = f"launched the pilot: {units} randomized"
    if groups:
        text += f" (moderators per group: {groups})"
    return text + "; the plan is now locked."


def _concluded(details, names, unit) -> str:
    decision = details.get("decision")
    text = "concluded the pilot"
    if decision in DECISIONS:
        text += f" with the decision: {DECISIONS[decision]}"
    note = details.get("rationale") or details.get("note")
    return f"{text}. Note: “{note}”" if note else f"{text}."


def _roster(details, names, unit) -> str:
    moderators = plain.count(_number(details, "moderators"), "moderator")
    previous = _number(details, "previous")
    replaced = f", replacing {plain.count(previous, 'moderator')}" if previous else ""
    return f"uploaded a roster of {moderators}{replaced}."


def _late(details, names, unit) -> str:
    return f"added {plain.count(_number(details, 'added'), 'late joiner')} to the running pilot."


def _outcomes(details, names, unit) -> str:
    accepted = plain.count(_number(details, "accepted"), "QA outcome")
    duplicates = _number(details, "duplicates")
    extra = f" ({plain.count(duplicates, 'duplicate')} already stored, ignored)" if duplicates else ""
    return f"sent {accepted}{extra}."


def _seeded(details, names, unit) -> str:
    return "created the demo data."


SENTENCES: dict[str, Callable[[Mapping[str, Any], Mapping[str, str], str | None], str]] = {
    "pilot.created": _created,
    "pilot.updated": _updated,
    "pilot.launched": _launched,
    "pilot.concluded": _concluded,
    "roster.replaced": _roster,
    "roster.late_joiners_added": _late,
    "outcomes.ingested": _outcomes,
    "demo.seeded": _seeded,
}


def sentence(action: str, details: Mapping[str, Any] | None, names: Mapping[str, str], unit: str | None) -> str:
    """What the actor did, as the rest of a sentence that starts with their name."""
    builder = SENTENCES.get(action)
    if builder is not None:
        return builder(details or {}, names, unit)
    return action.replace(".", ": ").replace("_", " ") + "."


def entries(events: list[Any], names: Mapping[str, str], unit: str | None) -> list[TrailEntry]:
    """The pilot's events, newest first, as sentences."""
    return [
        TrailEntry(event.at, event.actor, f"{event.actor} {sentence(event.action, event.details, names, unit)}")
        for event in reversed(events)
    ]
