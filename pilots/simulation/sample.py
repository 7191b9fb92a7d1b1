"""Sample QA outcomes for a pilot's own roster and dates: what the upload page and the README tour offer to try.

A static sample file ages: its audits fall before any new pilot's data window within weeks, and its moderators are
not the pilot's. `sample_window` picks the days a sample can cover for a pilot (its pre-period or pilot period up to
yesterday, at most `SAMPLE_DAYS`), and `sample_audits` simulates realistic audits of the pilot's own moderators over
them with the simulator's default operation and no effect, ids prefixed so that they never collide with real ones.
`pilot_sample` does both for a stored pilot (`pilotlab outcomes sample`, the upload page's sample link), which
`sample_refusal` limits to pilots being tried out: simulated ones, or ones with no QA outcomes yet.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from pilots.models import Pilot, RosterEntry
from pilots.simulation.generate import simulate_audits
from pilots.simulation.settings import SimulationSettings, simulate_roster

SAMPLE_DAYS = 28
"""Days a sample covers at most (the last ones before today): about 1,400 audits for 120 moderators."""


def sample_window(first_allowed: date, last_allowed: date, today: date) -> tuple[date, date] | None:
    """The days a sample may cover: from ``first_allowed`` (the pilot's pre-period or start) through yesterday and
    ``last_allowed`` (its end), at most the last `SAMPLE_DAYS` of them; None when no whole day has passed yet."""
    last = min(last_allowed, today - timedelta(days=1))
    first = max(first_allowed, last - timedelta(days=SAMPLE_DAYS - 1))
    return (first, last) if first <= last else None


def sample_audits(moderator_ids: Sequence[str], first: date, last: date, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Simulated audits of ``moderator_ids`` from ``first`` through ``last`` (inclusive), in time order, as
    `pilots.simulation.AUDIT_FIELDS` rows: each moderator with the latent accuracy, audit rate and handle times of
    the simulator's default operation, no treatment effect. Audit and item ids start with ``sample-`` and the day
    range, so samples of other days never reuse an id with other content."""
    if not moderator_ids:
        raise ValueError("a sample needs at least one moderator")
    if last < first:
        raise ValueError(f"the last day {last} is before the first {first}")
    days = (last - first).days + 1
    settings = SimulationSettings(
        n_moderators=len(moderator_ids), start_date=first, pre_weeks=0, weeks=math.ceil(days / 7)
    )
    rng = np.random.default_rng(seed)
    simulated = simulate_roster(settings, rng)
    rows = tuple({**row, "moderator_id": m} for row, m in zip(simulated.rows, moderator_ids, strict=True))
    prefix = f"sample-{first:%Y%m%d}-{last:%Y%m%d}-"
    for audit in simulate_audits(replace(simulated, rows=rows), {}, settings, rng, until=last):
        item = audit["item_id"]
        yield {**audit, "audit_id": prefix + audit["audit_id"], "item_id": None if item is None else prefix + item}


def sample_refusal(pilot: Pilot) -> str | None:
    """Why ``pilot`` gets no sample (None: it may): a sample is for trying a pilot out, so it is offered only to a
    simulated pilot or one with no QA outcomes or late joiners yet; uploaded into a pilot with real data it would
    mix simulated audits into them for good."""
    if pilot.simulated or pilot.data_version == 0:
        return None
    return (
        f"Pilot {pilot.id} already has QA outcomes: a sample of simulated audits would mix into its real data. "
        "Samples are offered to pilots being tried out (no outcomes yet) and to simulated pilots."
    )


def pilot_sample(session: Session, pilot: Pilot, today: date, seed: int = 0) -> SampleFile | None:
    """A sample for ``pilot``: its roster's moderators over `sample_window` of its pre-period start (or start date)
    through its end; None without a roster or before a whole day of its window has passed."""
    ids = session.scalars(
        select(RosterEntry.moderator_id).where(RosterEntry.pilot_id == pilot.id).order_by(RosterEntry.moderator_id)
    ).all()
    window = sample_window(pilot.pre_period_start or pilot.start_date, pilot.end_date, today)
    if not ids or window is None:
        return None
    return SampleFile(window[0], window[1], sample_audits(ids, window[0], window[1], seed))


@dataclass(frozen=True, eq=False)
class SampleFile:
    """The days a sample covers and its audits (a one-shot iterator)."""

    first: date
    last: date
    audits: Iterator[dict[str, Any]]


__all__ = ["SAMPLE_DAYS", "SampleFile", "pilot_sample", "sample_audits", "sample_refusal", "sample_window"]
