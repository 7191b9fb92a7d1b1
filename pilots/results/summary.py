"""What a list of pilots shows about each one's results: the recommendation, whether it is provisional, data-through.

The list must stay fast with many pilots: current documents come from the results cache in one query (no
computation); only pilots whose cached document is missing or stale (new outcomes, a conclusion, a new engine) are
computed, through `results_document`, which stores them for the next visitor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from pilots.errors import PilotLabError
from pilots.models import Pilot, ResultsCache
from pilots.results import cache
from pilots.results.document import ENGINE_VERSION
from pilots.results.service import results_document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResultsSummary:
    recommendation: str | None
    provisional: bool
    data_through: str | None
    stopped: bool = False  # concluded before its planned end


def _summary(document: dict[str, Any]) -> ResultsSummary:
    decision = document.get("decision") or {}
    return ResultsSummary(
        decision.get("recommendation"),
        bool(decision.get("provisional")),
        document.get("data_through"),
        bool(document.get("stopped_early_on")),
    )


def latest_summaries(session: Session, pilots: Sequence[Pilot]) -> dict[int, ResultsSummary | None]:
    """Each launched pilot's latest results summary by pilot id (None for drafts and results that fail)."""
    launched = [pilot for pilot in pilots if pilot.status != "draft"]
    out: dict[int, ResultsSummary | None] = {pilot.id: None for pilot in pilots}
    if not launched:
        return out
    rows = session.execute(
        select(ResultsCache.pilot_id, ResultsCache.fingerprint, ResultsCache.document).where(
            ResultsCache.pilot_id.in_([pilot.id for pilot in launched]), ResultsCache.as_of_key == cache.LATEST
        )
    ).all()
    cached = {row.pilot_id: row for row in rows}
    for pilot in launched:
        row = cached.get(pilot.id)
        if row is not None and row.fingerprint == cache.fingerprint(pilot, ENGINE_VERSION):
            out[pilot.id] = _summary(json.loads(row.document))
            continue
        try:
            out[pilot.id] = _summary(results_document(session, pilot.id))
        except PilotLabError:
            out[pilot.id] = None
        except Exception:  # one pilot's broken results must not take the whole list down
            log.exception("Results for pilot %s failed on the list page", pilot.id)
            out[pilot.id] = None
    return out
