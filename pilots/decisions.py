"""The decision record of a concluded pilot: what people decided, why, who and when, beside the engine's
recommendation at that moment.

The engine recommends (`go`, `no_go`, `continue`, `invalid`); people decide (`roll_out`, `do_not_roll_out`, or
`stopped` for another reason). A decision that differs from the recommendation needs a rationale, and so does
`stopped` (the rationale is the other reason). Pilots concluded before decisions were recorded have none; that stays
valid.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from pilots.errors import PilotLabError, ValidationFailed, problem
from pilots.models import Pilot
from pilots.models._time import utcnow

log = logging.getLogger(__name__)

# The recommendation each decision follows; `stopped` follows none.
FOLLOWS = {"roll_out": "go", "do_not_roll_out": "no_go"}
LABELS = {"roll_out": "Roll out", "do_not_roll_out": "Do not roll out", "stopped": "Stopped for another reason"}
RECOMMENDATION_WORDS = {"go": "Go", "no_go": "No-go", "continue": "Keep running", "invalid": "Invalid (a data problem)"}


def current_recommendation(session: Session, pilot_id: int) -> tuple[str | None, bool | None]:
    """The engine's recommendation for the pilot now and whether it is provisional; (None, None) when the results
    cannot be computed (no audits yet, say)."""
    from pilots.results import results_document  # results import the plan models; keep this module light

    try:
        document = results_document(session, pilot_id)
    except PilotLabError:
        return None, None
    except Exception:  # a failing results engine must not stop people from concluding; the record says "none"
        log.exception("Results of pilot %s failed while recording a decision", pilot_id)
        session.rollback()
        return None, None
    decision = document.get("decision") or {}
    return decision.get("recommendation"), decision.get("provisional")


def needs_rationale(decision: str, recommendation: str | None) -> bool:
    """Whether `decision` differs from `recommendation` (or is `stopped`), so people must say why."""
    return FOLLOWS.get(decision) != recommendation or recommendation is None


def check_rationale(decision: str, rationale: str | None, recommendation: str | None) -> None:
    """422 naming `rationale` when it is missing but needed."""
    if (rationale or "").strip() or not needs_rationale(decision, recommendation):
        return
    if decision == "stopped":
        message = "is required when the pilot is stopped for another reason: say what the reason is"
    else:
        said = (
            f"say {RECOMMENDATION_WORDS.get(recommendation, recommendation)!r}" if recommendation else "are not in yet"
        )
        message = f"is required: {LABELS[decision].lower()!r} differs from the results, which {said}"
    raise ValidationFailed("The decision needs a rationale.", [problem("rationale", message)])


def record(
    pilot: Pilot,
    decision: str,
    rationale: str | None,
    actor: str,
    recommendation: str | None,
    provisional: bool | None,
) -> None:
    """Write the decision record onto the pilot (the caller's unit of work commits it)."""
    pilot.decision = decision
    pilot.decision_rationale = (rationale or "").strip()
    pilot.decision_by = actor
    pilot.decision_at = utcnow()
    pilot.decision_recommendation = recommendation
    pilot.decision_provisional = provisional


def decision_public(pilot: Pilot) -> dict[str, Any] | None:
    """The record as the API returns it, or None when the pilot has none."""
    if pilot.decision is None:
        return None
    return {
        "decision": pilot.decision,
        "rationale": pilot.decision_rationale or "",
        "by": pilot.decision_by,
        "at": pilot.decision_at,
        "recommendation": pilot.decision_recommendation,
        "provisional": pilot.decision_provisional,
    }
