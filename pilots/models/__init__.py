"""The tables. Importing this package registers every table on `SQLModel.metadata` (Alembic reads it)."""

from pilots.models.access import PilotCollaborator
from pilots.models.accounts import ApiToken, AuthFailure, User, UserSession
from pilots.models.events import Event
from pilots.models.outcomes import Outcome, UnitDay, unit_fold, unit_series
from pilots.models.pilot import Pilot
from pilots.models.qa import QaGrade, qa_day, qa_fold, qa_level
from pilots.models.results_cache import ResultsCache
from pilots.models.roster import Assignment, RosterEntry

__all__ = [
    "ApiToken",
    "Assignment",
    "AuthFailure",
    "Event",
    "Outcome",
    "Pilot",
    "PilotCollaborator",
    "QaGrade",
    "ResultsCache",
    "RosterEntry",
    "UnitDay",
    "User",
    "UserSession",
    "qa_day",
    "qa_fold",
    "qa_level",
    "unit_fold",
    "unit_series",
]
