"""A pilot's roster: `upload` reads and validates uploaded rows (no database), `service` stores them, adds late
joiners and exports the roster and its assignments."""

from pilots.roster.service import (
    ASSIGNMENT_COLUMNS,
    LateJoinResult,
    add_late_joiners,
    assignment_table,
    attribute_names,
    replace_roster,
    roster_table,
    teams_of,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "LateJoinResult",
    "add_late_joiners",
    "assignment_table",
    "attribute_names",
    "replace_roster",
    "roster_table",
    "teams_of",
]
