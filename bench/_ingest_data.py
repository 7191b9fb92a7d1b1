"""Shared set-up for the ingestion benchmarks: a simulated operation big enough for a million audits, and a running
pilot with its roster assigned, written straight into a migrated database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np

from pilots import accounts
from pilots.db import make_engine, session_factory
from pilots.models import Assignment, Pilot, RosterEntry
from pilots.simulation import SimulationSettings, simple_assignment, simulate_audits, simulate_roster

SEED = 20261125


def settings_for(rows: int, moderators: int | None = None) -> SimulationSettings:
    """Enough moderators and weeks that the simulator yields at least `rows` audits, all in the past (`moderators`
    fixes the roster size instead)."""
    moderators = moderators or max(50, min(8000, rows // 330))
    weeks = max(4, min(36, rows // (moderators * 11) + 2))
    return SimulationSettings(n_moderators=moderators, pre_weeks=4, weeks=weeks)


def audits(settings: SimulationSettings, rows: int) -> Iterator[dict[str, Any]]:
    """The first `rows` simulated audits (ingestion-shaped dicts), streamed."""
    rng = np.random.default_rng(SEED)
    roster = simulate_roster(settings, rng)
    assignment = simple_assignment(roster, settings.arms, rng)
    stream = simulate_audits(roster, assignment, settings, rng)
    return itertools.islice(stream, rows)


def seed_pilot(database_url: str, settings: SimulationSettings) -> tuple[int, str]:
    """A running pilot with the simulated roster assigned, and an admin API token. Returns (pilot_id, token)."""
    rng = np.random.default_rng(SEED)
    roster = simulate_roster(settings, rng)
    assignment = simple_assignment(roster, settings.arms, rng)
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        pilot = Pilot(
            name="bench",
            kind="tool",
            owner="bench",
            arms=[{"name": arm, "weight": 1} for arm in settings.arms],
            seed=SEED,
            metrics=[{"name": "accuracy"}],
            design={"type": "group_sequential"},
            start_date=settings.start_date,
            end_date=settings.start_date + timedelta(weeks=settings.weeks) - timedelta(days=1),
            pre_period_start=settings.start_date - timedelta(weeks=settings.pre_weeks),
            status="running",
        )
        session.add(pilot)
        session.flush()
        for k, row in enumerate(roster):
            moderator = row["moderator_id"]
            session.add(RosterEntry(pilot_id=pilot.id, moderator_id=moderator, team=row.get("team", "")))
            session.add(
                Assignment(
                    pilot_id=pilot.id,
                    moderator_id=moderator,
                    unit_id=moderator,
                    arm=assignment[moderator],
                    stratum="all",
                    sequence=k,
                )
            )
        user = accounts.create_user(session, "bench-admin", "admin")
        token = accounts.issue_token(session, user)
        session.commit()
        pilot_id = pilot.id
    engine.dispose()
    return pilot_id, token
