"""A verdict reached is a verdict kept.

The rule. A sequential design decides once: the first look on or after the minimum runtime at which the analysis as
of that look (`as_of` that day: the data through it, the design run on the looks through it) reaches `go` or `no_go`
is the decision, and every later analysis keeps it. Later looks are descriptive follow-up: the document reports them
under `decision.follow_up`, never in place of the decision. A boundary crossed before the minimum runtime is
provisional until then: the decision is taken at the first look on or after the minimum runtime whose analysis still
reaches it (a crossing, once reached, stays in the design's own record: always-valid running p-values and
group-sequential stops are kept by the tests themselves, so an early crossing normally becomes the decision on the
day the minimum runtime is reached).

How it is found without replaying every day: each primary or guardrail comparison whose test crossed a boundary names
the first look it crossed at (`SequentialOutcome.first_crossing_day`); the first look on or after the minimum runtime
from there is a candidate, and the full analysis as of each candidate, in order, is recomputed (`replay`, on the panel
cut at that day) and the first that reaches `go` or `no_go` is the decision. At most `MAX_REPLAYS` candidates are
replayed per request. Verdicts `invalid` and `continue` are never kept: they describe the present.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from pilots.results.metric import Comparison

MAX_REPLAYS = 4
DECISIVE = ("go", "no_go")
FOLLOW_UP_NOTE = (
    "The decision was reached on {day}; looks after it are descriptive follow-up and do not change it. "
    "Latest analysis: {latest}."
)


def candidate_days(comparisons: Sequence[Comparison], look_days: Sequence[int], min_day: int) -> list[int]:
    """Look days (0-based, in order) at which a decision may have been reached: for each primary or guardrail
    comparison whose test crossed a boundary, the first look on or after `min_day` from the crossing on.

    With a plan frozen at launch the design does not depend on later looks (fixed information fractions and mixture;
    the estimate at a look depends only on the data through it), so the crossing the full series shows at a look is
    the one the analysis as of that look saw: no extra run is needed. For older pilots it is a candidate only; the
    replay decides.
    """
    days: set[int] = set()
    for comparison in comparisons:
        if comparison.role not in ("primary", "guardrail") or comparison.outcome is None:
            continue
        crossed = comparison.outcome.first_crossing_day
        if crossed is None:
            continue
        day = next((d for d in look_days if d >= max(crossed, min_day)), None)
        if day is not None:
            days.add(day)
    return sorted(days)


def keep(
    document: dict[str, Any], start: date, candidates: list[int], replay: Callable[[date], dict[str, Any]]
) -> dict[str, Any]:
    """`document` with the decision reached at the earliest decisive candidate look kept (see module docstring)."""
    through = document.get("data_through")
    current = document["decision"]
    for day in candidates[:MAX_REPLAYS]:
        when = start + timedelta(days=day)
        if through is None or when.isoformat() >= through:
            break
        earlier = replay(when)
        decision = earlier["decision"]
        if decision["recommendation"] in DECISIVE and not decision["provisional"]:
            decided_on = earlier["data_through"]
            latest = current["recommendation"].replace("_", "-")
            document["decision"] = {
                "recommendation": decision["recommendation"],
                "reasons": [
                    f"The decision was reached on {decided_on} and stands: later looks are descriptive follow-up.",
                    *decision["reasons"],
                ],
                "provisional": False,
                "decided_on": decided_on,
                "follow_up": {
                    "recommendation": current["recommendation"],
                    "reasons": current["reasons"],
                    "note": FOLLOW_UP_NOTE.format(day=decided_on, latest=latest),
                },
            }
            return document
    decisive = current["recommendation"] in DECISIVE and not current["provisional"]
    current["decided_on"] = through if decisive else None
    current["follow_up"] = None
    return document
