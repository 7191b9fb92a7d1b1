"""Simulated pilots through the real storage for the results tests: roster -> launch in simulation mode at the start
date (real randomization) ->
rollups written with `pilots.rollups.add` (or raw audits through the ingestion service)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import update
from sqlmodel import Session, select

from pilots import ingestion, lifecycle, rollups
from pilots.models import Assignment, Pilot, RosterEntry
from pilots.models._time import utcnow
from pilots.simulation import SimulationSettings, simulate_audits, simulate_roster, simulate_unit_days

START = date(2026, 3, 2)


def settings(**overrides: Any) -> SimulationSettings:
    base = SimulationSettings(n_moderators=120, start_date=START, pre_weeks=3, weeks=6)
    return replace(base, **overrides)


def make_pilot(
    session: Session,
    sim: SimulationSettings,
    *,
    seed: int = 11,
    method: str = "always_valid",
    looks: int = 3,
    metrics: list[dict] | None = None,
    unit: str = "moderator",
    arms: list[dict] | None = None,
    pre_period: bool = True,
    strata: list[str] | None = None,
    min_days: int = 14,
    futility: bool = False,
    launch: bool = True,
) -> tuple[int, Any]:
    """A pilot with the simulated roster, launched in simulation mode at its start date unless `launch` is False;
    returns (pilot id, the simulated roster)."""
    roster = simulate_roster(sim, np.random.default_rng(seed))
    pilot = Pilot(
        name="results test",
        kind="tool",
        owner="pm-user",  # the `pm` of the tokens fixture owns it
        unit=unit,
        arms=arms or [{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        strata=strata if strata is not None else ["site"],
        seed=seed,
        metrics=metrics or [{"name": "accuracy", "role": "primary", "margin": None, "relative": False}],
        design={
            "method": method,
            "alpha": 0.05,
            "power": 0.8,
            "looks": looks,
            "spending": "obrien_fleming",
            "min_days": min_days,
            "futility": futility,
        },
        start_date=sim.start_date,
        end_date=sim.start_date + timedelta(days=7 * sim.weeks - 1),
        pre_period_start=sim.start_date - timedelta(days=7 * sim.pre_weeks) if pre_period else None,
        status="draft",
    )
    session.add(pilot)
    session.flush()
    for row in roster:
        session.add(
            RosterEntry(
                pilot_id=pilot.id,
                moderator_id=row["moderator_id"],
                team=row["team"],
                site=row["site"],
                language=row["language"],
                tenure_months=row["tenure_months"],
            )
        )
    session.commit()
    if launch:
        lifecycle.launch_pilot(session, pilot.id, "tests", launched_at=simulated_launch(sim.start_date))
    return pilot.id, roster


def simulated_launch(start: date) -> datetime | None:
    """A simulated randomization at 00:00 UTC of a past `start` (simulation mode), so the whole simulated history
    from the start date on is pilot data; None (launch now) for a start date still ahead."""
    at = datetime.combine(start, time(0), tzinfo=UTC)
    return at if at <= utcnow() else None


def assignment(session: Session, pilot_id: int) -> dict[str, str]:
    rows = session.exec(select(Assignment.moderator_id, Assignment.arm).where(Assignment.pilot_id == pilot_id))
    return dict(rows.all())


def write_unit_days(
    session: Session,
    pilot_id: int,
    roster,
    sim: SimulationSettings,
    *,
    seed: int = 5,
    until: date | None = None,
    through: date | None = None,
    since: date | None = None,
    keep=None,
    arms: dict[str, str] | None = None,
) -> int:
    """Simulate per-moderator-day sums and add them as rollups (one batch, data_version + 1). `keep(moderator_id,
    arm)` filters which moderators' data are written (to break the sample ratio);
    `through` drops days after it, `since` days before it (the draws are the same as without them); `arms` replaces
    the stored assignment (e.g. before launch)."""
    arms = arms if arms is not None else assignment(session, pilot_id)
    days = simulate_unit_days(roster, arms, sim, np.random.default_rng(seed), until=until)
    sums: dict = {}
    for i, moderator in enumerate(days.moderator_ids):
        if keep is not None and not keep(moderator, arms[moderator]):
            continue
        for j, offset in enumerate(days.day_offsets.tolist()):
            n = int(days.audits[i, j])
            day_date = sim.start_date + timedelta(days=offset)
            if n == 0 or (through is not None and day_date > through) or (since is not None and day_date < since):
                continue
            day = day_date.isoformat()
            sums[(moderator, day)] = [
                n,
                int(days.correct[i, j]),
                n,
                int(days.critical[i, j]),
                n,
                float(days.handle_sum[i, j]),
                float(days.handle_sum2[i, j]),
            ]
    connection = session.connection()
    rollups.add(connection, pilot_id, sums)
    session.execute(update(Pilot).where(Pilot.id == pilot_id).values(data_version=Pilot.data_version + 1))
    session.commit()
    return len(sums)


def ingest_audits(
    factory,
    session: Session,
    pilot_id: int,
    roster,
    sim: SimulationSettings,
    *,
    seed: int = 5,
    until: date | None = None,
) -> int:
    """Simulate raw audits and store them through the ingestion service (outcomes + rollups, exactly once)."""
    arms = assignment(session, pilot_id)
    records = list(simulate_audits(roster, arms, sim, np.random.default_rng(seed), until=until))
    context = ingestion.load(factory, pilot_id)
    total = 0
    for first in range(0, len(records), 20_000):
        batch = ingestion.parse_json_records(records[first : first + 20_000], context.window)
        total += ingestion.store(factory, context, batch, actor="tests", source="tests").accepted
    return total
