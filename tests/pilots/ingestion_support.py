"""Helpers for the ingestion tests: a pilot with an assigned roster, written directly as rows, and audit records."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session

from pilots.models import Assignment, Pilot, RosterEntry

PRE_START = date(2026, 1, 5)
START = date(2026, 2, 2)
END = date(2026, 3, 29)
MODERATORS = tuple(f"m{k:02d}" for k in range(1, 9))


def make_pilot(
    session: Session,
    *,
    status: str = "running",
    moderators: tuple[str, ...] = MODERATORS,
    start: date = START,
    end: date = END,
    pre_start: date | None = PRE_START,
    name: str = "ingestion test",
) -> int:
    """A pilot with `moderators` on the roster, alternately assigned to control and treatment; returns its id.

    It is a simulated launch at 00:00 UTC of its start date, so audits from the start date on are pilot data."""
    launched = datetime.combine(start, time(0), tzinfo=UTC)
    pilot = Pilot(
        simulated=True,
        launched_at=launched,
        name=name,
        kind="tool",
        owner="pm-user",  # the `pm` of the tokens fixture owns it
        arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        seed=7,
        metrics=[{"name": "accuracy"}],
        design={"type": "group_sequential"},
        start_date=start,
        end_date=end,
        pre_period_start=pre_start,
        status=status,
    )
    session.add(pilot)
    session.flush()
    for k, moderator in enumerate(moderators):
        session.add(RosterEntry(pilot_id=pilot.id, moderator_id=moderator, team=f"team-{k % 2}"))
        arm = "control" if k % 2 == 0 else "treatment"
        session.add(
            Assignment(
                pilot_id=pilot.id,
                moderator_id=moderator,
                unit_id=moderator,
                arm=arm,
                stratum="all",
                sequence=k,
                assigned_at=launched,
            )
        )
    session.commit()
    return pilot.id


def audit(audit_id: str, moderator_id: str = "m01", audited_at: str = "2026-02-10T09:30:00Z", **fields: Any) -> dict:
    """An audit record with sensible defaults; `fields` override or add (critical, handle_time_s, policy...)."""
    record: dict[str, Any] = {
        "audit_id": audit_id,
        "moderator_id": moderator_id,
        "audited_at": audited_at,
        "correct": True,
        "critical": False,
        "handle_time_s": 42.5,
        "policy": "spam",
        "queue": "en-main",
        "auditor_id": "qa-01",
    }
    record.update(fields)
    return record
