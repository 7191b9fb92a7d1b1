"""The retention policy: the raw audits of pilots concluded long ago are deleted; what was learned stays.

Raw outcome rows name moderators, auditors and items one audit at a time; once a pilot is concluded, nothing needs
them except a re-export. Purging deletes them for every pilot concluded more than `days` ago, and keeps the per-unit
daily rollups and the QA rollups (so results, balance, the QA sections and unit exports compute exactly as before),
the results cache, the plan, the assignments, the audit trail and the decision record. Of the graded items
(`qa_grade`) it keeps only those two or more auditors graded: the others never enter the agreement statistics.
The pilot remembers when it was purged: its outcome export then answers 410 Gone instead of an empty table, and
ingestion into it was already refused (it is concluded).

Operators run `pilotlab retention purge` from a scheduler (cron, a Kubernetes CronJob) with the period set in
`PILOTLAB_RETENTION_DAYS` or `--days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, select

from pilots import events
from pilots.db import write_transaction
from pilots.errors import ValidationFailed, problem
from pilots.lookup import get_pilot
from pilots.models import Outcome, Pilot, QaGrade
from pilots.models._time import utcnow


@dataclass(frozen=True)
class Purged:
    """One pilot whose raw audits were (or, in a dry run, would be) deleted."""

    pilot_id: int
    name: str
    concluded_at: datetime
    outcomes: int


def due_pilots(session: Session, days: int, now: datetime | None = None) -> list[Pilot]:
    """Concluded pilots whose conclusion is more than `days` days before `now` and whose audits are still stored."""
    if days < 0:
        raise ValidationFailed("The retention period is invalid.", [problem("days", "must be 0 or more")])
    cutoff = (now or utcnow()) - timedelta(days=days)
    statement = (
        select(Pilot)
        .where(Pilot.status == "concluded", Pilot.concluded_at < cutoff, Pilot.outcomes_purged_at.is_(None))
        .order_by(Pilot.id)
    )
    return list(session.exec(statement))


def purge(
    session: Session, days: int, actor: str, *, dry_run: bool = False, now: datetime | None = None
) -> list[Purged]:
    """Delete the raw audits of every pilot due under a `days`-day retention period, one pilot per transaction,
    each recorded in its audit trail (`outcomes.purged`). A dry run only counts."""
    purged = []
    for pilot in due_pilots(session, days, now):
        if dry_run:
            count = session.exec(select(func.count()).select_from(Outcome).where(Outcome.pilot_id == pilot.id)).one()
            purged.append(Purged(pilot.id, pilot.name, pilot.concluded_at, count))
            continue
        purged.append(_purge_one(session, pilot.id, days, actor))
    return purged


def _purge_one(session: Session, pilot_id: int, days: int, actor: str) -> Purged:
    with write_transaction(session):
        pilot = get_pilot(session, pilot_id, lock=True)
        count = session.exec(delete(Outcome).where(Outcome.pilot_id == pilot.id)).rowcount
        double = (
            select(QaGrade.item_id)
            .where(QaGrade.pilot_id == pilot.id)
            .group_by(QaGrade.item_id)
            .having(func.count() >= 2)
        )
        session.exec(delete(QaGrade).where(QaGrade.pilot_id == pilot.id, QaGrade.item_id.not_in(double)))
        pilot.outcomes_purged_at = utcnow()
        events.record(session, actor, "outcomes.purged", pilot.id, outcomes=count, retention_days=days)
    return Purged(pilot.id, pilot.name, pilot.concluded_at, count)
