"""The pilot verdict (go / no_go / continue / invalid) with reasons a director can read.

Rules (METHODS.md section 6), applied in this order:

1. ``invalid`` if any data-quality check failed, whatever the p-values say.
2. ``no_go`` if a primary metric crossed its efficacy boundary in the harmful direction, a
   guardrail shows harm beyond its margin, or a primary crossed its futility bound.
3. ``go`` if at least one primary crossed in the good direction, no primary is harmful, and
   every guardrail shows non-inferiority.
4. ``no_go`` if the planned end was reached without the conditions for ``go``.
5. ``continue`` otherwise. A primary that already crossed for benefit while a guardrail is not
   yet shown non-inferior keeps the pilot running (the reasons say so). A pilot stopped by a person
   before its planned end (``stopped``) is not judged as if it had run its course (rule 4 does not
   apply): it stays ``continue``, with reasons saying it was stopped before a decision was reached.

Any verdict before the pre-registered minimum runtime is ``provisional``.

Guardrails are one-sided non-inferiority tests (:func:`non_inferiority`): the interval bound on
the harmful side (valid for the design: a repeated CI or confidence sequence when monitoring)
is compared with the margin; harm is shown when the whole interval lies beyond the margin.

References
----------
.. [1] Kohavi, R., Tang, D. and Xu, Y. (2020). Trustworthy Online Controlled Experiments,
       ch. 7 (guardrail metrics). Cambridge University Press.
.. [2] Jennison, C. and Turnbull, B. W. (2000), ch. 9 (repeated confidence intervals support
       decisions at any look).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Decision = Literal["go", "no_go", "continue", "invalid"]
Direction = Literal["higher_is_better", "lower_is_better"]


@dataclass(frozen=True)
class CheckSummary:
    """Outcome of one data-quality check (sample ratio, audit-rate balance, attrition, ...)."""

    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class PrimaryStatus:
    """Sequential status of one primary metric.

    ``crossing`` is on the difference scale (treatment minus control): "up" means the
    difference crossed the upper efficacy boundary; whether that is good depends on
    ``direction``. ``summary`` is a plain-language estimate, e.g. "+1.2 points (RCI 0.3 to 2.1)".
    ``unconfirmed``: the estimate crossed a boundary that a second test (the small-sample randomization test) has
    not confirmed yet; ``crossing`` is then "none" (it counts as not crossed) and the reasons say the decision waits.
    """

    metric: str
    crossing: Literal["up", "down", "futility", "none"]
    direction: Direction = "higher_is_better"
    summary: str = ""
    unconfirmed: bool = False


@dataclass(frozen=True)
class NonInferiority:
    """One guardrail's non-inferiority result."""

    metric: str
    non_inferior: bool
    harmful: bool
    margin: float
    message: str


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    provisional: bool
    reasons: tuple[str, ...]


def non_inferiority(
    metric: str,
    difference: float,
    low: float,
    high: float,
    direction: Direction,
    margin: float,
    *,
    relative: bool = False,
    control_mean: float | None = None,
    fmt: Callable[[float], str] | None = None,
) -> NonInferiority:
    """One-sided non-inferiority of a guardrail against its margin.

    Parameters
    ----------
    metric : str
        Name shown in messages.
    difference : float
        Treatment minus control.
    low, high : float
        The interval valid for the design (fixed-horizon CI at the end, repeated CI or
        confidence sequence while monitoring). Only the bound on the harmful side decides
        non-inferiority; harm needs the whole interval beyond the margin.
    direction : {"higher_is_better", "lower_is_better"}
        Accuracy is higher-is-better; critical error rate and handle time lower-is-better.
    margin : float
        Largest tolerated worsening (positive), absolute or, with ``relative``, a fraction of
        the control mean (0.05 = 5%).
    relative : bool
    control_mean : float or None
        Needed when ``relative``.
    fmt : callable, optional
        Formats a difference for the message (e.g. ``0.004 -> "+0.40 points"``); default ``+.4g``. An interval
        with an infinite bound is described in words, never printed as ``inf``.

    Returns
    -------
    NonInferiority
    """
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a non-negative number, got {margin}")
    if direction not in ("higher_is_better", "lower_is_better"):
        raise ValueError(f"direction must be higher_is_better or lower_is_better, got {direction}")
    if relative:
        if control_mean is None or not math.isfinite(control_mean) or control_mean == 0:
            raise ValueError("control_mean must be a non-zero number for a relative margin")
        margin_abs = abs(control_mean) * margin
        shown = f"{margin:.1%} of the control value ({_plain(fmt, margin_abs)})"
    else:
        margin_abs = margin
        shown = _plain(fmt, margin_abs)
    if any(math.isnan(v) for v in (difference, low, high)):
        return NonInferiority(metric, False, False, margin_abs, f"{metric}: not enough data to assess the guardrail.")
    if direction == "higher_is_better":
        worst, best, worse_word = -low, -high, "drop"
    else:
        worst, best, worse_word = high, low, "rise"
    non_inferior = worst < margin_abs
    harmful = best > margin_abs
    if math.isfinite(low) and math.isfinite(high) and low <= difference <= high:
        interval = f"difference {_signed(fmt, difference)} (interval {_signed(fmt, low)} to {_signed(fmt, high)})"
    elif math.isfinite(low) and math.isfinite(high):
        # A confidence sequence intersected over looks can exclude the latest estimate; say which number is which.
        side = "above" if difference > high else "below"
        interval = (
            f"difference {_signed(fmt, difference)} at the latest look, {side} the confidence sequence of "
            f"{_signed(fmt, low)} to {_signed(fmt, high)} (the effects consistent with every look so far)"
        )
    else:
        interval = f"difference {_signed(fmt, difference)} (no usable interval yet)"
    if non_inferior:
        msg = f"{metric} is within its guardrail: it did not {worse_word} by more than {shown}; {interval}."
    elif harmful:
        msg = f"{metric} got worse beyond its guardrail: it {worse_word}s by more than {shown}; {interval}."
    else:
        msg = f"{metric} is not yet shown to stay within its guardrail ({worse_word} of at most {shown}); {interval}."
    return NonInferiority(metric, non_inferior, harmful, margin_abs, msg)


def _signed(fmt: Callable[[float], str] | None, value: float) -> str:
    return fmt(value) if fmt is not None else f"{value:+.4g}"


def _plain(fmt: Callable[[float], str] | None, value: float) -> str:
    """A positive amount (a margin) without its sign."""
    return _signed(fmt, value).lstrip("+") if fmt is not None else f"{value:.4g}"


def _good(primary: PrimaryStatus) -> bool:
    up_good = primary.direction == "higher_is_better"
    return (primary.crossing == "up" and up_good) or (primary.crossing == "down" and not up_good)


def _harm(primary: PrimaryStatus) -> bool:
    return primary.crossing in ("up", "down") and not _good(primary)


def _label(primary: PrimaryStatus) -> str:
    return f"{primary.metric} ({primary.summary})" if primary.summary else primary.metric


def _no_decision(primary: PrimaryStatus, when: Literal["running", "stopped", "end"]) -> str:
    """Why a primary gives no decision yet: no significant change, or a crossing still waiting for confirmation."""
    label = _label(primary)
    if primary.unconfirmed:
        return {
            "running": f"{label} crossed its decision boundary, but the decision waits for the randomization test "
            "to confirm the crossing; keep collecting audits.",
            "stopped": f"Stopped before a decision: {label} had crossed its decision boundary, but the "
            "randomization test had not confirmed the crossing when the pilot was stopped.",
            "end": f"The planned end was reached without a confirmed change in {label}: it crossed its decision "
            "boundary, but the randomization test did not confirm the crossing.",
        }[when]
    return {
        "running": f"No significant change yet in {label}; keep collecting audits.",
        "stopped": f"Stopped before a decision: the pilot was stopped before its planned end without a significant "
        f"change in {label}.",
        "end": f"The planned end was reached without a significant improvement in {label}.",
    }[when]


def decide(
    checks: Sequence[CheckSummary],
    primaries: Sequence[PrimaryStatus],
    guardrails: Sequence[NonInferiority],
    runtime_days: float,
    min_days: float,
    end_reached: bool,
    *,
    stopped: bool = False,
) -> Verdict:
    """Combine checks, primary sequential status and guardrails into the pilot verdict.

    Parameters
    ----------
    checks : sequence of CheckSummary
    primaries : sequence of PrimaryStatus
        At least one.
    guardrails : sequence of NonInferiority
    runtime_days, min_days : float
        Days since launch and the pre-registered minimum runtime.
    end_reached : bool
        The planned end (final analysis) has been reached.
    stopped : bool
        A person concluded the pilot before its planned end: the data as of the stop are described, without the
        end-of-pilot rule, and an undecided pilot reads "stopped before a decision" instead of "keep collecting".

    Returns
    -------
    Verdict
    """
    if not primaries:
        raise ValueError("primaries must contain at least one primary metric")
    provisional = runtime_days < min_days
    failed = [c for c in checks if not c.ok]
    if failed:
        reasons = tuple(f"Data-quality check failed ({c.name}): {c.message}" for c in failed)
        return Verdict("invalid", False, (*reasons, "No conclusion can be drawn until this is fixed."))
    harm = [p for p in primaries if _harm(p)]
    harmful_guards = [g for g in guardrails if g.harmful]
    futile = [p for p in primaries if p.crossing == "futility"]
    good = [p for p in primaries if _good(p)]
    pending = [g for g in guardrails if not g.non_inferior and not g.harmful]
    reasons: list[str] = []
    if provisional:
        reasons.append(f"Provisional: the pilot has run {runtime_days:g} of at least {min_days:g} days.")
    if harm or harmful_guards or futile:
        reasons += [f"{_label(p)} got significantly worse." for p in harm]
        reasons += [g.message for g in harmful_guards]
        reasons += [
            f"{_label(p)}: the improvement the pilot was designed to detect is now unlikely (futility bound crossed)."
            for p in futile
        ]
        return Verdict("no_go", provisional, tuple(reasons))
    if good and not pending:
        reasons += [f"{_label(p)} improved significantly." for p in good]
        reasons += [g.message for g in guardrails]
        return Verdict("go", provisional, tuple(reasons))
    if end_reached:
        if good:
            reasons += [f"{_label(p)} improved significantly." for p in good]
            reasons += [f"At the planned end, {g.message}" for g in pending]
        else:
            reasons += [_no_decision(p, "end") for p in primaries]
        return Verdict("no_go", provisional, tuple(reasons))
    # Still open: a pilot stopped before its end says so where a running one says what it waits for.
    waiting = "Stopped before a decision: when the pilot was stopped, " if stopped else "Waiting on guardrails: "
    if good:
        reasons += [f"{_label(p)} improved significantly." for p in good]
        reasons += [f"{waiting}{g.message}" for g in pending]
    else:
        reasons += [_no_decision(p, "stopped" if stopped else "running") for p in primaries]
        reasons += [g.message for g in guardrails if not g.non_inferior]
    return Verdict("continue", provisional, tuple(reasons))
