"""The balance report of a launched pilot: how the randomization split the roster.

- Counts of units (and moderators) per stratum x arm, and overall.
- Standardized mean differences (SMD) of each treatment arm against the reference arm (the plan's first arm), over
  moderators: numeric attributes (`tenure_months` and any extra attribute whose values are all numbers) use
  `(mean_t - mean_c) / sqrt((var_t + var_c) / 2)` with sample variances; categorical attributes (`site`,
  `language`, extra text/boolean attributes) get one SMD per level from the level's proportions,
  `(p_t - p_c) / sqrt((p_t (1 - p_t) + p_c (1 - p_c)) / 2)` (Austin 2009, "Balance diagnostics for comparing the
  distribution of baseline covariates between treatment groups in propensity-score matched samples", Stat Med).
  |SMD| >= 0.1 is flagged, the usual bar. Moderators without a value are left out of that attribute's SMD.
  An SMD is None when it is undefined (fewer than two moderators with a value in an arm, or zero spread in both
  arms with different means).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sqlmodel import Session, select

from pilots.errors import Conflict
from pilots.exports.table import ExportTable
from pilots.models import Assignment, Pilot, RosterEntry

SMD_THRESHOLD = 0.1
CATEGORICAL_CORE = ("site", "language")


@dataclass(frozen=True)
class StratumCounts:
    """Units and moderators per arm in one stratum."""

    stratum: str
    units: dict[str, int]
    moderators: dict[str, int]


@dataclass(frozen=True)
class Smd:
    """One standardized mean difference: `arm` against `reference` for an attribute (and level, if categorical)."""

    attribute: str
    level: str | None
    arm: str
    reference: str
    smd: float | None
    n_arm: int
    n_reference: int

    @property
    def flagged(self) -> bool:
        return self.smd is not None and abs(self.smd) >= SMD_THRESHOLD


@dataclass(frozen=True)
class BalanceReport:
    pilot_id: int
    unit: str
    arms: list[str]
    reference: str
    strata: list[StratumCounts]
    smds: list[Smd]

    def totals(self) -> dict[str, dict[str, int]]:
        """Units and moderators per arm over all strata."""
        return {
            kind: {arm: sum(getattr(s, kind)[arm] for s in self.strata) for arm in self.arms}
            for kind in ("units", "moderators")
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "pilot_id": self.pilot_id,
            "unit": self.unit,
            "arms": self.arms,
            "reference_arm": self.reference,
            "totals": self.totals(),
            "strata": [asdict(s) for s in self.strata],
            "smd_threshold": SMD_THRESHOLD,
            "smd": [{**asdict(s), "flagged": s.flagged} for s in self.smds],
        }


def mean_smd(treated: Sequence[float], control: Sequence[float]) -> float | None:
    """SMD of a numeric attribute with the pooled (average of the two sample variances) standard deviation."""
    if len(treated) < 2 or len(control) < 2:
        return None
    t, c = np.asarray(treated, dtype=float), np.asarray(control, dtype=float)
    difference = float(t.mean() - c.mean())
    spread = math.sqrt((float(t.var(ddof=1)) + float(c.var(ddof=1))) / 2)
    return _ratio(difference, spread)


def proportion_smd(treated: float, control: float) -> float | None:
    """SMD of one level of a categorical attribute from its proportions in the two arms."""
    spread = math.sqrt((treated * (1 - treated) + control * (1 - control)) / 2)
    return _ratio(treated - control, spread)


def _ratio(difference: float, spread: float) -> float | None:
    if spread > 1e-12:
        return difference / spread
    return 0.0 if abs(difference) <= 1e-12 else None


def balance_report(session: Session, pilot: Pilot) -> BalanceReport:
    """The report for a launched pilot (409 for a draft, which has no assignment yet)."""
    if pilot.status == "draft":
        raise Conflict(f"Pilot {pilot.id} is a draft; the balance report is available after launch.")
    arms = [arm["name"] for arm in pilot.arms]
    # Columns, not RosterEntry objects: building an ORM instance per moderator was most of a 50,000-moderator page.
    rows = session.exec(
        select(
            Assignment.arm,
            Assignment.unit_id,
            Assignment.stratum,
            RosterEntry.tenure_months,
            RosterEntry.site,
            RosterEntry.language,
            RosterEntry.attributes,
        )
        .join(
            RosterEntry,
            (RosterEntry.pilot_id == Assignment.pilot_id) & (RosterEntry.moderator_id == Assignment.moderator_id),
        )
        .where(Assignment.pilot_id == pilot.id)
    ).all()
    return BalanceReport(pilot.id, pilot.unit, arms, arms[0], _counts(rows, arms), _smds(rows, arms))


def _counts(rows: Sequence[Any], arms: list[str]) -> list[StratumCounts]:
    units: dict[str, dict[str, set[str]]] = {}
    moderators: dict[str, dict[str, int]] = {}
    for arm, unit_id, stratum, *_attributes in rows:
        units.setdefault(stratum, {a: set() for a in arms}).setdefault(arm, set()).add(unit_id)
        per_arm = moderators.setdefault(stratum, dict.fromkeys(arms, 0))
        per_arm[arm] = per_arm.get(arm, 0) + 1
    return [StratumCounts(key, {a: len(u) for a, u in units[key].items()}, moderators[key]) for key in sorted(units)]


def _smds(rows: Sequence[Any], arms: list[str]) -> list[Smd]:
    values: dict[str, dict[str, list[Any]]] = {}
    for arm, _unit, _stratum, tenure_months, site, language, extra in rows:
        attributes = {"tenure_months": tenure_months, "site": site, "language": language}
        attributes.update(extra or {})
        for name, value in attributes.items():
            if value is not None and value != "":
                values.setdefault(name, {a: [] for a in arms}).setdefault(arm, []).append(value)
    reference = arms[0]
    result: list[Smd] = []
    for name in sorted(values):
        by_arm = values[name]
        every = [v for vs in by_arm.values() for v in vs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in every)
        levels = [None] if numeric else sorted({_level(v) for v in every})
        shares = {} if numeric else {a: _shares(vs) for a, vs in by_arm.items()}
        for arm in arms[1:]:
            treated, control = by_arm.get(arm, []), by_arm.get(reference, [])
            for level in levels:
                if numeric:
                    smd = mean_smd(treated, control)
                elif treated and control:
                    smd = proportion_smd(shares[arm].get(level, 0.0), shares[reference].get(level, 0.0))
                else:
                    smd = None
                result.append(Smd(name, level, arm, reference, smd, len(treated), len(control)))
    return result


def _level(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shares(values: Sequence[Any]) -> dict[str, float]:
    """Each level's share of `values` (one pass, however many levels)."""
    counts = Counter(map(_level, values))
    return {level: count / len(values) for level, count in counts.items()}


BALANCE_COLUMNS = ("stratum", "arm", "units", "moderators")


def balance_table(report: BalanceReport) -> ExportTable:
    """The counts table (stratum x arm) for CSV export."""

    def rows():
        for stratum in report.strata:
            for arm in report.arms:
                yield {"stratum": stratum.stratum, "arm": arm, "units": stratum.units.get(arm, 0),
                       "moderators": stratum.moderators.get(arm, 0)}  # fmt: skip

    return ExportTable("balance", BALANCE_COLUMNS, rows)
