"""The simulator: realistic moderation operations for the demo, the tests, the benchmarks and `make validate`.

- `settings`: `SimulationSettings`, site specs and roster generation.
- `model`: the per-moderator-day model (accuracy, audit volume, handle times, effects that ramp up or fade).
- `generate`: audit rows (streamed, flat memory) and aggregated per-moderator-day counts.
"""

from pilots.simulation.generate import (
    AUDIT_FIELDS,
    UnitDays,
    simple_assignment,
    simulate_audits,
    simulate_unit_days,
    write_audits_csv,
)
from pilots.simulation.settings import (
    DEFAULT_SITES,
    SimulatedRoster,
    SimulationSettings,
    SiteSpec,
    calibrate_logit_normal,
    simulate_roster,
)

__all__ = [
    "AUDIT_FIELDS",
    "DEFAULT_SITES",
    "SimulatedRoster",
    "SimulationSettings",
    "SiteSpec",
    "UnitDays",
    "calibrate_logit_normal",
    "simple_assignment",
    "simulate_audits",
    "simulate_roster",
    "simulate_unit_days",
    "write_audits_csv",
]
