"""Where a unit's pilot data begin: never before its randomization.

A moderator's audits count as pilot data only from their assignment on (the launch roster from the launch, a late
joiner from the moment they joined). Results read per-moderator daily rollups (`pilots.rollups`), which cannot split a
day, so the cut is made on whole UTC days and errs on the safe side: the first pilot day of a moderator is

* the assignment day itself when the assignment happened at exactly 00:00 UTC (as a simulated launch at the start of
  the start date does), otherwise
* the next day: audits on the assignment day may predate the randomization by up to a day and are set aside.

`data_from` is stored on every assignment (`Assignment.data_from`), so any per-unit aggregation can apply the cut in
SQL as ``unit_day.day >= assignment.data_from``. Audits of a moderator before that day are pre-period covariates when
they fall inside the pre-period window (before the start date) and are set aside otherwise; the results document counts
what was set aside.

A start date before the launch is moved to the launch day (`launch_start_date`): a pilot is never analysed from a
date before it existed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def data_from(assigned_at: datetime) -> date:
    """The first UTC day whose audits count as pilot data for a moderator assigned at `assigned_at` (naive: UTC)."""
    at = utc(assigned_at)
    day = at.date()
    return day if at.time() == time(0) else day + timedelta(days=1)


def launch_start_date(start_date: date, launched_at: datetime) -> date:
    """The start date a pilot launched at `launched_at` runs from: the registered one, or the launch day (UTC) when
    the registered start date is already past."""
    return max(start_date, utc(launched_at).date())


def utc(moment: datetime) -> datetime:
    """`moment` in UTC (a naive time is taken to be UTC already, as SQLite returns stored times)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
