"""The pilots list: every pilot with its id, layer, unit, data-through date, verdict (provisional or not) and the
recorded decision; searchable, sortable and filterable by status and kind, and readable on a phone.

Verdicts come from `pilots.results.summary` (the results cache, computing only what is stale), so the list stays
fast however many pilots there are. Bad query values are a 400 naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, render_template, request

from pilots.models import Pilot
from pilots.results.summary import ResultsSummary, latest_summaries
from webui.database import get_session
from webui.pages import bp, queries
from webui.pages.headline import DECISIONS, list_label

KINDS = ("tool", "training")
SORTS = {
    "start": "Start date",
    "name": "Name",
    "id": "Id",
    "status": "Status",
    "data_through": "Data through",
    "verdict": "Verdict",
}
ORDERS = ("asc", "desc")
VERDICT_ORDER = {"go": 0, "no_go": 1, "continue": 2, "invalid": 3}


@dataclass(frozen=True)
class PilotRow:
    pilot: Pilot
    unit: str
    data_through: str
    verdict: tuple[str, str] | None  # (label, css)
    decision: str

    def sort_key(self, sort: str) -> Any:
        pilot = self.pilot
        keys = {
            "start": (pilot.start_date, pilot.id),
            "name": (pilot.name.lower(), pilot.id),
            "id": (pilot.id,),
            "status": (pilot.status, pilot.id),
            "data_through": (self.data_through or "", pilot.id),
            "verdict": (self.verdict[0] if self.verdict else "~", pilot.id),
        }
        return keys[sort]


def _choice(name: str, allowed: tuple[str, ...] | dict, default: str | None = None) -> str | None:
    value = request.args.get(name) or default
    if value is not None and value not in allowed:
        abort(400, description=f"{name} must be one of {', '.join(allowed)}, got {value[:30]!r}.")
    return value


def _matches(pilot: Pilot, text: str) -> bool:
    if not text:
        return True
    haystack = " ".join(
        str(part or "") for part in (pilot.id, pilot.name, pilot.hypothesis, pilot.layer, pilot.owner, pilot.kind)
    )
    return all(word in haystack.lower() for word in text.lower().split())


def _decision(pilot: Pilot) -> str:
    decision = getattr(pilot, "decision", None)  # the decision record's column (None before one is recorded)
    if isinstance(decision, str) and decision:
        return DECISIONS.get(decision, decision)
    return ""


def _row(pilot: Pilot, summary: ResultsSummary | None) -> PilotRow:
    verdict = list_label(summary.recommendation, summary.provisional, summary.stopped) if summary else None
    return PilotRow(
        pilot=pilot,
        unit="Teams" if pilot.unit == "team" else "Moderators",
        data_through=(summary.data_through or "") if summary else "",
        verdict=verdict,
        decision=_decision(pilot),
    )


@bp.get("/")
def pilot_list():
    status = _choice("status", queries.STATUSES)
    kind = _choice("kind", KINDS)
    sort = _choice("sort", SORTS, "start")
    order = _choice("order", ORDERS, "desc" if sort in ("start", "data_through", "id") else "asc")
    text = (request.args.get("q") or "").strip()[:200]
    session = get_session()
    pilots = [pilot for pilot in queries.pilots(session, status, kind) if _matches(pilot, text)]
    summaries = latest_summaries(session, pilots)
    rows = sorted((_row(pilot, summaries.get(pilot.id)) for pilot in pilots), key=lambda row: row.sort_key(sort))
    if order == "desc":
        rows.reverse()
    return render_template(
        "pages/pilot_list.html",
        rows=rows,
        status=status,
        kind=kind,
        sort=sort,
        order=order,
        q=text,
        statuses=queries.STATUSES,
        kinds=KINDS,
        sorts=SORTS,
        filtered=bool(status or kind or text),
    )
