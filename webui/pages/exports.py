"""Downloads for analysts: each pilot's exports (and a page with every pilot's), with date filters.

The files come from the API's export routes (a signed-in session may GET them); the pages only build links. A link
carries only the filters its route takes (`since` / `until` for QA outcomes, `as_of` for the results table), and a
role sees only the links it may follow: moderator-level tables need the `export` permission; the aggregate tables
(balance at launch, the results table) are readable, and so exportable, by every role.

The filters are typed once for every pilot, but each pilot has its own window: a results date before a pilot's start
is not linked for that pilot (the route would refuse it); the page says why instead. Only users who may download QA
outcomes see the outcome date filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import abort, render_template, request
from flask_login import current_user
from pydantic import TypeAdapter, ValidationError

from pilots.models import Pilot
from pilots.schemas.fields import PlanDate
from webui.database import get_session
from webui.pages import bp, queries

PLAN_DATE = TypeAdapter(PlanDate)


@dataclass(frozen=True)
class Export:
    key: str
    label: str
    description: str
    moderator_level: bool
    filters: tuple[str, ...] = ()
    launched_only: bool = False


EXPORTS = (
    Export("roster", "Roster", "One row per moderator: team, site, language, tenure and extra attributes.", True),
    Export("assignments", "Assignments", "Each moderator's group and stratum.", True, launched_only=True),
    Export("outcomes", "QA outcomes", "Every audit received (filter by audit day).", True, ("since", "until"), True),
    Export(
        "units", "Per-moderator totals", "Audits and sums per moderator, before and during the pilot.", True, (), True
    ),
    Export("balance", "Balance at launch", "Units per stratum and group.", False, launched_only=True),
    Export("results", "Results table", "Per metric and group: estimates, intervals.", False, ("as_of",), True),
)
FILTER_LABELS = {"since": "QA outcomes from", "until": "QA outcomes until", "as_of": "Results as of"}


@dataclass(frozen=True)
class ExportLink:
    label: str
    description: str
    csv: str
    json: str
    filename: str
    applied: tuple[str, ...]
    unavailable: str | None = None  # why there is no link for these filters (then `csv` and `json` are empty)


@dataclass(frozen=True)
class Filters:
    since: date | None = None
    until: date | None = None
    as_of: date | None = None

    def values(self, names: tuple[str, ...]) -> dict[str, str]:
        return {name: getattr(self, name).isoformat() for name in names if getattr(self, name) is not None}

    @property
    def any(self) -> bool:
        return any((self.since, self.until, self.as_of))


def filters_from_request() -> Filters:
    """`since`, `until` and `as_of` from the query string (YYYY-MM-DD, the API's rule); 400 naming a bad one."""
    values = {}
    for name in ("since", "until", "as_of"):
        raw = request.args.get(name) or None
        if raw is None:
            continue
        try:
            values[name] = PLAN_DATE.validate_python(raw)
        except ValidationError:
            abort(400, description=f"{name} must be a date like 2025-03-14, got {raw[:20]!r}.")
    if values.get("since") and values.get("until") and values["since"] > values["until"]:
        abort(400, description="since must not be after until.")
    return Filters(**values)


def visible(pilot: Pilot) -> list[Export]:
    """The exports of `pilot` the signed-in user may download (moderator-level ones need `export`; some only exist
    once the pilot has launched)."""
    allowed = current_user.can("export")
    return [
        export
        for export in EXPORTS
        if (allowed or not export.moderator_level) and not (export.launched_only and pilot.status == "draft")
    ]


def usable_filters(pilots: list[Pilot]) -> set[str]:
    """The date filters some visible export of `pilots` takes: the page offers only these."""
    return {name for pilot in pilots for export in visible(pilot) for name in export.filters}


def links(pilot: Pilot, filters: Filters) -> list[ExportLink]:
    """The exports of `pilot` the signed-in user may download, with the filters each route takes."""
    out = []
    for export in visible(pilot):
        params = filters.values(export.filters)
        if "as_of" in params and filters.as_of < pilot.start_date:
            reason = (
                f"Not available as of {filters.as_of.isoformat()}: this pilot started on "
                f"{pilot.start_date.isoformat()}. Pick a date on or after it, or clear the date."
            )
            out.append(ExportLink(export.label, export.description, "", "", "", (), unavailable=reason))
            continue
        base = f"/api/v1/pilots/{pilot.id}/{export.key}"
        suffix = "".join(f"-{key}-{value}" for key, value in params.items())
        out.append(
            ExportLink(
                label=export.label,
                description=export.description,
                csv=f"{base}?{urlencode({**params, 'format': 'csv'})}",
                json=f"{base}?{urlencode({**params, 'format': 'json'})}",
                filename=f"pilot-{pilot.id}-{export.key}{suffix}",
                applied=tuple(FILTER_LABELS[key] for key in params),
            )
        )
    return out


@bp.get("/pilots/<int:pilot_id>/exports")
def pilot_exports(pilot_id: int):
    pilot = queries.pilot_or_404(pilot_id)
    filters = filters_from_request()
    return render_template(
        "pages/exports.html",
        pilots=[(pilot, links(pilot, filters))],
        filters=filters,
        usable=usable_filters([pilot]),
        single=pilot,
    )


@bp.get("/exports")
def all_exports():
    filters = filters_from_request()
    pilots = list(queries.pilots(get_session()))
    rows = [(pilot, links(pilot, filters)) for pilot in pilots]
    return render_template(
        "pages/exports.html", pilots=rows, filters=filters, usable=usable_filters(pilots), single=None
    )
