"""Builders for roster tests: pilots and roster entries written straight to the tables."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from pilots.models import Pilot, RosterEntry

SITES = ("Manila", "Dublin", "Austin")


def make_pilot(session: Session, **overrides: Any) -> Pilot:
    """A pilot row with a two-arm 1:1 plan stratified by site and tenure (override any column)."""
    values: dict[str, Any] = {
        "name": "Pilot",
        "kind": "ab",
        "owner": "pm-user",
        "arms": [{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        "strata": ["site", "tenure_months"],
        "seed": 20240611,
        "metrics": [],
        "design": {},
        "start_date": date(2024, 6, 1),
        "end_date": date(2024, 7, 1),
        "unit": "moderator",
        "status": "draft",
    }
    values.update(overrides)
    pilot = Pilot(**values)
    session.add(pilot)
    session.flush()
    return pilot


def moderators(count: int, prefix: str = "m", teams: int = 6) -> list[dict[str, Any]]:
    """Deterministic roster rows spread over sites, teams and tenure bands."""
    return [
        {
            "moderator_id": f"{prefix}{i:04d}",
            "team": f"team-{i % teams}",
            "site": SITES[i % len(SITES)],
            "language": ("en", "es", "tl")[(i // 3) % 3],
            "tenure_months": float((i * 7) % 40),
            "baseline_accuracy": 0.78 + (i % 20) / 100,
        }
        for i in range(count)
    ]


def add_roster(session: Session, pilot: Pilot, rows: list[dict[str, Any]], late_joiner: bool = False) -> list:
    """Insert rows as roster entries (extra keys become attributes)."""
    core = ("moderator_id", "team", "site", "language", "tenure_months")
    entries = [
        RosterEntry(
            pilot_id=pilot.id,
            late_joiner=late_joiner,
            attributes={k: v for k, v in row.items() if k not in core},
            **{k: row[k] for k in core if k in row},
        )
        for row in rows
    ]
    session.add_all(entries)
    session.flush()
    return entries
