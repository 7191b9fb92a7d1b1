"""The QA-outcome record: its fields, their limits, and the messages that explain a rejected value.

The hot loops in `pilots.ingestion.parse` check values with inline fast paths; when a row fails any of them, the
functions here re-examine it field by field to say exactly what is wrong. Keeping the messages in one place means the
JSON and CSV paths (API and CLI) describe the same mistake the same way.

Typing rules, decided once and documented in the API description:

* JSON: `audit_id`, `moderator_id`, `audited_at`, `policy`, `queue`, `auditor_id`, `item_id` are strings; `correct` and
  `critical` are JSON booleans (`true`/`false`, not 0/1 or strings); `handle_time_s` is a JSON number (a number
  sent as a string is rejected). Optional fields may be absent or `null`; an empty string counts as absent.
* CSV: every cell is text; booleans are `true`/`false`/`1`/`0` (also `True`/`TRUE`/`False`/`FALSE`); an empty cell
  is absent.
* `audited_at` is ISO 8601 with a time zone (`Z` or an offset); it is stored in UTC and its UTC date is the `day`.

Validated timestamps are carried as canonical UTC text, `YYYY-MM-DD HH:MM:SS.ffffff` (SQLAlchemy's SQLite storage
format), and days as `YYYY-MM-DD`: fixed-width text compares in time order, goes to SQLite as is and to PostgreSQL
through COPY, and saves formatting a datetime per row on the hot path.
* `handle_time_s` is finite, 0 to `MAX_HANDLE_TIME_S`; text fields are identifiers (`pilots.identifiers`: no control,
  zero-width or bidirectional-control characters, stored in Unicode NFC) of 1 to 100 characters once normalized.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from pilots import identifiers

FIELDS: tuple[str, ...] = (
    "audit_id",
    "moderator_id",
    "audited_at",
    "correct",
    "critical",
    "handle_time_s",
    "policy",
    "queue",
    "auditor_id",
    "item_id",
)
REQUIRED: frozenset[str] = frozenset({"audit_id", "moderator_id", "audited_at", "correct"})
# Columns our own exports add; accepted and ignored on import so an export can be re-imported as is.
EXPORT_ONLY: frozenset[str] = frozenset({"day", "period", "ingested_at", "unit_id", "arm"})
KNOWN: frozenset[str] = frozenset(FIELDS) | EXPORT_ONLY

MAX_TEXT = 100
MAX_HANDLE_TIME_S = 86_400.0
CLOCK_SKEW = timedelta(minutes=5)
CSV_BOOLEANS: dict[str, bool] = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "True": True,
    "False": False,
    "TRUE": True,
    "FALSE": False,
}
TEXT_FIELDS = ("audit_id", "moderator_id", "policy", "queue", "auditor_id", "item_id")


class Outcome(NamedTuple):
    """One validated audit, normalized: `audited_at` canonical UTC text, `day` its UTC date as `YYYY-MM-DD`,
    empty optionals as None."""

    audit_id: str
    moderator_id: str
    audited_at: str
    day: str
    correct: bool
    critical: bool | None
    handle_time_s: float | None
    policy: str | None
    queue: str | None
    auditor_id: str | None
    item_id: str | None

    def content(self) -> tuple[Any, ...]:
        """Everything but the audit id: what must match for a re-sent audit to count as a duplicate."""
        return self[1:]


class Window(NamedTuple):
    """What a batch is checked against: the pilot's assigned moderators and the accepted time range."""

    roster: frozenset[str]
    earliest: str  # first accepted instant (pre-period start, or start date, at 00:00 UTC), canonical text
    end: str  # first instant after the end date (exclusive)
    latest: str  # now plus the clock-skew allowance
    earliest_day: date
    end_day: date


def make_window(roster: frozenset[str], first_day: date, end_day: date, now: datetime | None = None) -> Window:
    """The window for a pilot whose data runs from `first_day` through `end_day` (UTC dates, inclusive)."""
    now = now or datetime.now(UTC)
    earliest = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=UTC) + timedelta(days=1)
    return Window(roster, canonical(earliest), canonical(end), canonical(now + CLOCK_SKEW), first_day, end_day)


def canonical(instant: datetime) -> str:
    """An aware datetime as canonical UTC text `YYYY-MM-DD HH:MM:SS.ffffff`."""
    return instant.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def text_problem(value: Any, required: bool, json: bool) -> str | None:
    """Why a text value is rejected (None when it is fine)."""
    if value is None or value == "":
        return "is required" if required else None
    if not isinstance(value, str):
        return f"must be a string, got {_json_type(value)}" if json else "must be text"
    refused = identifiers.problem(value)
    if refused:
        return refused
    size = len(identifiers.clean(value) or value)
    if size > MAX_TEXT:
        return f"must be at most {MAX_TEXT} characters, got {size}"
    return None


def timestamp_problem(value: Any, window: Window | None) -> str | None:
    """Why an `audited_at` value is rejected (None when it is fine)."""
    if value is None or value == "":
        return "is required"
    if not isinstance(value, str):
        return f"must be an ISO 8601 string, got {_json_type(value)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return f"must be an ISO 8601 timestamp with a time zone, got {_shown(value)}"
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return f"must include a time zone (e.g. 'Z' or '+00:00'), got {_shown(value)}"
    if window is None:
        return None
    instant = canonical(parsed)
    if instant < window.earliest:
        return f"is before the pilot's data window, which starts on {window.earliest_day.isoformat()} (UTC)"
    if instant >= window.end:
        return f"is after the pilot's end date {window.end_day.isoformat()} (UTC)"
    if instant > window.latest:
        return "is in the future (more than 5 minutes ahead of the server clock)"
    return None


def bool_problem(value: Any, required: bool, json: bool) -> str | None:
    """Why a boolean value is rejected (None when it is fine)."""
    if value is None or value == "":
        return "is required" if required else None
    if json:
        if value is True or value is False:
            return None
        return f"must be true or false, got {_json_type(value)}"
    if value in CSV_BOOLEANS:
        return None
    return f"must be true, false, 1 or 0, got {_shown(value)}"


def handle_time_problem(value: Any, json: bool) -> str | None:
    """Why a `handle_time_s` value is rejected (None when it is fine)."""
    if value is None or value == "":
        return None
    if json:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, got {_json_type(value)}"
        number = value
    else:
        try:
            number = float(value)
        except ValueError:
            return f"must be a number, got {_shown(value)}"
    try:
        finite = math.isfinite(number)
    except OverflowError:
        finite = False
    if not finite:
        return "must be a finite number"
    if not 0 <= number <= MAX_HANDLE_TIME_S:
        return f"must be between 0 and {MAX_HANDLE_TIME_S:g} seconds, got {number:g}"
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(value: str) -> str:
    """A rejected value quoted for a message, cut short so a huge cell cannot flood the response."""
    return repr(value if len(value) <= 40 else value[:40] + "...")
