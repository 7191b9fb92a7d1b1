"""A roster at a glance, for people checking an upload: its size, the first rows, and moderators counted by site,
language and tenure band (the bands randomization uses)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from pilots.assignment.strata import BAND_LABELS, band
from pilots.models import RosterEntry
from pilots.roster.service import roster_table

PREVIEW_ROWS = 10
MISSING = "(blank)"


@dataclass(frozen=True)
class RosterSummary:
    """`columns` and `preview` are the export's first rows; each `by_*` is (label, moderators), largest first
    (tenure bands in band order)."""

    total: int
    late_joiners: int
    columns: list[str]
    preview: list[dict[str, Any]]
    by_site: list[tuple[str, int]]
    by_language: list[tuple[str, int]]
    by_tenure: list[tuple[str, int]]


def roster_summary(session: Session, pilot_id: int) -> RosterSummary:
    """The summary of a pilot's current roster (empty when none was uploaded)."""
    table = roster_table(session, pilot_id)
    preview = list(islice(table.rows(), PREVIEW_ROWS))
    counts = {
        name: _counts(session, pilot_id, getattr(RosterEntry, name)) for name in ("site", "language", "tenure_months")
    }
    tenure: dict[str, int] = dict.fromkeys([*BAND_LABELS["tenure_months"], MISSING], 0)
    for value, count in counts["tenure_months"]:
        tenure[MISSING if value is None else band("tenure_months", float(value))] += count
    late = session.exec(
        select(func.count())
        .select_from(RosterEntry)
        .where(RosterEntry.pilot_id == pilot_id, RosterEntry.late_joiner.is_(True))
    ).one()
    return RosterSummary(
        total=sum(tenure.values()),
        late_joiners=late,
        columns=list(table.columns),
        preview=preview,
        by_site=_labelled(counts["site"]),
        by_language=_labelled(counts["language"]),
        by_tenure=[(label, count) for label, count in tenure.items() if count or label != MISSING],
    )


def _counts(session: Session, pilot_id: int, column) -> list[tuple[Any, int]]:
    statement = select(column, func.count()).where(RosterEntry.pilot_id == pilot_id).group_by(column)
    return [(value, count) for value, count in session.exec(statement)]


def _labelled(rows: list[tuple[Any, int]]) -> list[tuple[str, int]]:
    merged: dict[str, int] = {}
    for value, count in rows:
        key = value if value else MISSING
        merged[key] = merged.get(key, 0) + count
    return sorted(merged.items(), key=lambda item: (-item[1], item[0]))
