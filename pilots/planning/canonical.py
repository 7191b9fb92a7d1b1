"""The canonical plan of a pilot and its hash: what launch locks.

The plan is every registered field (name, kind, hypothesis, owner, layer, unit, arms, strata, seed, metrics, design,
dates), and from launch on the information plan frozen then (`pilots.results.frozen`: variance models and the
planned information schedule). Its canonical form is JSON with sorted keys, no whitespace and ISO dates; `plan_hash`
is the SHA-256 of that text. The hash is stored at launch; `verify_plan` recomputes it, so any later change to a
locked plan is detectable.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from pilots.errors import Conflict
from pilots.models import Pilot

PLAN_FIELDS: tuple[str, ...] = (
    "name",
    "kind",
    "hypothesis",
    "owner",
    "layer",
    "unit",
    "arms",
    "strata",
    "seed",
    "metrics",
    "design",
    "start_date",
    "end_date",
    "pre_period_start",
)


def canonical_plan(pilot: Pilot) -> dict[str, Any]:
    """The plan fields of `pilot` as plain JSON values (dates as YYYY-MM-DD), with the information plan frozen at
    launch (`information_plan`) once there is one: pilots launched before it existed hash as they always did."""
    plan = {name: _plain(getattr(pilot, name)) for name in PLAN_FIELDS}
    if pilot.information_plan is not None:
        plan["information_plan"] = pilot.information_plan
    return plan


def canonical_json(plan: dict[str, Any]) -> str:
    """Sorted keys, compact separators, ASCII only: the same plan always gives the same text."""
    return json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def plan_hash(pilot: Pilot) -> str:
    """SHA-256 (hex) of the canonical plan."""
    return hashlib.sha256(canonical_json(canonical_plan(pilot)).encode("ascii")).hexdigest()


def plan_matches(pilot: Pilot) -> bool:
    """Whether a launched pilot's stored plan still hashes to its stored `plan_hash` (False before launch)."""
    return pilot.plan_hash is not None and plan_hash(pilot) == pilot.plan_hash


def verify_plan(pilot: Pilot) -> None:
    """Raise Conflict when a launched pilot's stored plan no longer matches the hash taken at launch."""
    if pilot.plan_hash is None:
        raise Conflict(f"Pilot {pilot.id} has not been launched, so its plan is not locked yet.")
    actual = plan_hash(pilot)
    if actual != pilot.plan_hash:
        raise Conflict(
            f"The stored plan of pilot {pilot.id} no longer matches the hash locked at launch.",
            {"plan_hash": pilot.plan_hash, "actual": actual},
        )


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value
