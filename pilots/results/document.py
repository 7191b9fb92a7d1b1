"""Build the results document of a pilot: checks, per-metric sequential results, breakdowns and the verdict.

Time is defined by the data: `data_through` is the last day with audits on or before the cut (`as_of`, capped at
`end_date`), so asking `as_of=D` gives exactly the answer a pilot that only ever received data up to D would give.
The planned end is reached when `data_through` is the end date or the pilot was concluded by the cut on or after its
end date; a pilot concluded earlier is `stopped_early_on` that day and is described as of the stop.

Every number goes through `pilots.results.metric.finite`, so the document never holds NaN or infinity: undefined
values are null and carry a `reason` (a stable code) and a `message`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

from pilots.assignment.cutoff import utc
from pilots.errors import Conflict, ValidationFailed, problem
from pilots.lookup import get_pilot
from pilots.models import Pilot
from pilots.models._time import utcnow
from pilots.planning.notes import SPENDING
from pilots.results import breakdowns, checks, decisions, frozen, looks, multiplicity, qa, safeguard
from pilots.results import verdict as verdicts
from pilots.results.comparison_json import comparison_json
from pilots.results.jsonsafe import plain
from pilots.results.loader import Panel, load_panel
from pilots.results.metric import Comparison, arm_summary, estimate, look_series
from pilots.schemas import PilotPlan, plan_of
from pilots.schemas.horizon import ensure_supported_horizon

# 3: QA sections from the QA rollups with the data cut, qa_health.measurement MDEs; 4: auditor leniency fitted on
# (unit, period, auditor) sums instead of finer cells (the same fit, summed in another order: last digits move);
# 5: the attrition check reads Fisher's exact test beyond 200 at-risk units an arm (Boschloo's below);
# 6: the small-sample safeguard's randomization test is sequential (`analysis.sequential_randomization`)
# 7: registered critical policies are judged on a confidence sequence (`analysis.confidence_sequence`);
# 8: a pilot concluded before its planned end is no longer analysed as if it had reached it (`stopped_early_on`)
ENGINE_VERSION = "8"


def build_document(session: Session, pilot_id: int, as_of: date | None = None, *, keep: bool = True) -> dict[str, Any]:
    """The results document (see module docstring); 409 for a draft pilot, 422 for an `as_of` before the start or
    after today.

    With `keep`, a decision reached at an earlier look is kept (`pilots.results.decisions`; the replays run without).
    """
    pilot = get_pilot(session, pilot_id)
    if pilot.status == "draft":
        raise Conflict(
            f"Pilot {pilot.id} has not launched yet; results appear once it is running and QA audits arrive.",
            {"status": pilot.status},
        )
    plan = plan_of(pilot)
    ensure_supported_horizon(plan, "analysed")  # a pilot stored before the rule: refuse, never run for ever
    if as_of is not None and as_of < plan.start_date:
        raise ValidationFailed(
            f"as_of {as_of.isoformat()} is before the pilot started: results exist from {plan.start_date} on.",
            [problem("as_of", f"must be on or after the start date {plan.start_date.isoformat()}")],
        )
    today = utcnow().date()
    if as_of is not None and as_of > today:
        raise ValidationFailed(
            f"as_of {as_of.isoformat()} is in the future: results can be read as they stood on any day up to today.",
            [problem("as_of", f"must be on or before today, {today.isoformat()} (UTC)")],
        )
    cut = min(as_of or plan.end_date, plan.end_date)
    definitions = [plan.definition(spec.name) for spec in plan.metrics]
    fixed = frozen.read(pilot)
    from_pilot = None if fixed is None else (lambda definition: fixed.fits_from_pilot(definition.name))
    panel = load_panel(
        session,
        pilot.id,
        plan.unit,
        plan.start_date,
        cut,
        plan.pre_period_start,
        columns=lambda pre_only: looks.pilot_columns(pre_only, definitions, from_pilot),
        end=plan.end_date,
    )
    return analyse_panel(pilot, plan, panel, as_of, keep=keep, fixed=fixed, session=session, folded=as_of is None)


def analyse_panel(
    pilot: Pilot,
    plan: PilotPlan,
    panel: Panel,
    as_of: date | None = None,
    *,
    keep: bool = True,
    fixed: frozen.FrozenPlan | None = None,
    session: Session | None = None,
    folded: bool = False,
    descriptive: bool = True,
) -> dict[str, Any]:
    """The results document of a loaded (or simulated, in-memory) panel.

    `fixed` is the pilot's information plan frozen at launch (`frozen.read(pilot)`); simulations without a database
    pass `frozen.from_json(frozen.freeze_panel(plan, panel))`, exactly what launch would have stored. With `keep`, a
    decision reached at an earlier look is kept (`pilots.results.decisions`): each candidate look is re-analysed on the
    panel as loaded through that day, which is what `as_of` that day reads. The latest document (`folded`) and those
    replays read the QA sums folded through their day (`pilots.results.qa_levels`), an `as_of` asked for reads
    `qa_day`: the same numbers either way. A replay only contributes its decision, so it skips the descriptive
    breakdowns (`descriptive`), which never enter a verdict."""
    through = (as_of or plan.end_date) if folded else None
    document, candidates = _document(
        pilot, plan, panel, as_of, fixed, session, descriptive=descriptive, through=through
    )
    document = plain(document)

    def replay(day: date) -> dict[str, Any]:
        cut = panel.through((day - plan.start_date).days)
        return analyse_panel(
            pilot, plan, cut, day, keep=False, fixed=fixed, session=session, folded=True, descriptive=False
        )

    return decisions.keep(document, plan.start_date, candidates if keep else [], replay)


def _end_reached(pilot: Pilot, now: int | None, total: int, as_of: date | None, end: date) -> bool:
    """The data reach the planned end, or the pilot was concluded (by the cut) on or after its planned end day."""
    if now is not None and now >= total - 1:
        return True
    stopped_on = _concluded_on(pilot, as_of)
    return stopped_on is not None and stopped_on >= end


def _concluded_on(pilot: Pilot, as_of: date | None) -> date | None:
    """The day the pilot was concluded, when that is on or before the cut (None while it runs at the cut)."""
    if pilot.status != "concluded" or pilot.concluded_at is None:
        return None
    day = pilot.concluded_at.date()
    return day if as_of is None or as_of >= day else None


def _document(
    pilot: Pilot,
    plan: PilotPlan,
    panel: Panel,
    as_of: date | None,
    fixed: frozen.FrozenPlan | None = None,
    session: Session | None = None,
    *,
    descriptive: bool = True,
    through: date | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """The document at the cut, and the candidate looks of an earlier decision (`decisions.candidate_days`).

    Without `descriptive` the per-segment and per-week breakdowns are left empty: they never enter the verdict, and
    the stress matrix (`pilots.simulation.stress`), which reads only the verdict and crossings, skips their cost."""
    design = plan.design
    total = looks.total_days(plan.start_date, plan.end_date)
    now = panel.last_day_with_audits()
    end_reached = _end_reached(pilot, now, total, as_of, plan.end_date)
    # Stopped by a person before the planned end: not the planned final analysis, so no end-of-pilot verdict and no
    # final spending of what is left of alpha; the verdict describes the data as of the stop.
    stopped_on = None if end_reached else _concluded_on(pilot, as_of)
    look_days = looks.planned_look_days(design.method, design.looks, total)
    taken = tuple(d for d in look_days if now is not None and d <= now)
    if design.method == "group_sequential" and end_reached and now is not None and (not taken or taken[-1] < now):
        taken = (*taken, now)  # the planned end without audits on its last day(s): the data so far are the final one
    control, treatments = plan.control.name, tuple(arm.name for arm in plan.treatments)
    spending = SPENDING[design.spending]
    comparisons = _comparisons(panel, plan, look_days, taken, now, control, treatments, fixed)
    multiplicity_doc = multiplicity.run_all(
        comparisons,
        design.method,
        spending,
        design.alpha,
        len(treatments),
        final=end_reached,
        futility_beta=1.0 - design.power if design.futility else None,
    )
    candidates = decisions.candidate_days(comparisons, taken, design.min_days - 1)
    if safeguard.needs_randomization_test(panel, plan.unit, now):
        safeguard.randomization_tests(panel, plan, comparisons, now, control, end_reached)
    check_results, balance_rows = _checks(panel, plan, now, control)
    qa_results = _qa(session, pilot.id, plan, panel, now, comparisons, through=through)
    qa_checks = [qa_results.balance, qa_results.blinding] if qa_results is not None else []
    primaries = [verdicts.primary_status(c, len(treatments)) for c in comparisons if c.role == "primary"]
    unconfirmed = verdicts.randomization_unconfirmed(
        [c for c in comparisons if c.role == "primary"], primaries, design.alpha / len(treatments)
    )
    primaries = [verdicts.unconfirmed_status(p) if p in unconfirmed else p for p in primaries]
    guardrails = {}
    specs = {spec.name: spec for spec in plan.metrics}
    for c in comparisons:
        if c.role == "guardrail":
            spec = specs[c.metric]
            result = verdicts.guardrail_result(c, spec.margin, spec.relative, len(treatments))
            guardrails[(c.metric, c.arm)] = verdicts.confirm_harm(c, result, design.alpha / len(treatments))
    runtime = now + 1 if now is not None else 0
    segment_guardrails = [result for _, result in qa_results.guardrails] if qa_results is not None else []
    verdict = verdicts.verdict(
        check_results + qa_checks[:1],
        primaries,
        list(guardrails.values()) + segment_guardrails,
        runtime,
        design.min_days,
        end_reached,
        stopped=stopped_on is not None,
    )
    reasons = list(verdict.reasons)
    if qa_results is not None and not qa_results.blinding.ok:
        reasons.append(qa_results.blinding.message)
    reasons += [unconfirmed[p] for p in unconfirmed]
    if now is None:
        reasons.insert(0, "No QA audits have arrived since the pilot started, so there is nothing to compare yet.")
    next_look = next((d for d in look_days if now is None or d > now), None)
    if stopped_on is not None:
        reasons.insert(
            0,
            f"Stopped early: the pilot was concluded on {stopped_on.isoformat()}, before its planned end "
            f"({plan.end_date.isoformat()}); these results describe the data as of the stop.",
        )
    elif verdict.decision == "continue" and next_look is not None and design.method == "group_sequential":
        index = look_days.index(next_look) + 1
        when = (plan.start_date + timedelta(days=next_look)).isoformat()
        reasons.append(f"Next planned review: {when} (review {index} of {len(look_days)}).")
    data_through = (plan.start_date + timedelta(days=now)).isoformat() if now is not None else None
    srm = next(c for c in check_results if c.name == "srm")
    return {
        "pilot_id": pilot.id,
        "name": pilot.name,
        "status": pilot.status,
        "unit": plan.unit,
        "engine_version": ENGINE_VERSION,
        "data_version": pilot.data_version,
        "as_of": as_of.isoformat() if as_of else None,
        "simulated": bool(pilot.simulated),
        "launched_at": utc(pilot.launched_at).isoformat() if pilot.launched_at else None,
        "start_date": plan.start_date.isoformat(),
        "registered_start_date": pilot.registered_start_date.isoformat() if pilot.registered_start_date else None,
        "set_aside": _set_aside(panel),
        "information_plan": "frozen_at_launch" if fixed is not None else "fitted_at_each_look",
        "data_through": data_through,
        "runtime_days": runtime,
        "min_days": design.min_days,
        "end_reached": end_reached,
        "stopped_early_on": stopped_on.isoformat() if stopped_on is not None else None,
        "design": {
            "method": design.method,
            "alpha": design.alpha,
            "power": design.power,
            "looks": design.looks,
            "spending": design.spending,
            "min_days": design.min_days,
            "look_dates": [(plan.start_date + timedelta(days=d)).isoformat() for d in look_days]
            if design.method == "group_sequential"
            else None,
            "looks_taken": len(taken),
            "next_look": (plan.start_date + timedelta(days=next_look)).isoformat() if next_look is not None else None,
        },
        "decision": {
            "recommendation": verdict.decision,
            "reasons": reasons,
            "provisional": bool(verdict.provisional or now is None),
        },
        "srm": checks.srm_json(srm, panel, plan.weights, now, checks.look_thresholds(look_days)["srm"]),
        "checks": [checks.check_json(c) for c in check_results if c.name != "covariate_balance"]
        + [checks.check_json(c, rows=balance_rows) for c in check_results if c.name == "covariate_balance"]
        + [checks.check_json(c) for c in qa_checks],
        "multiplicity": multiplicity_doc,
        "metrics": _with_qa(
            _metrics(panel, plan, comparisons, guardrails, now, control, treatments, descriptive),
            qa_results,
        ),
        "qa_health": qa_results.health if qa_results is not None else None,
        "notes": _notes(pilot, plan, panel),
    }, candidates


def _qa(
    session: Session,
    pilot_id: int,
    plan: PilotPlan,
    panel: Panel,
    now: int | None,
    comparisons,
    *,
    through: date | None,
):
    """The QA-domain results (`pilots.results.qa`), None before any audit of the pilot period or without a session
    (panels simulated in memory have no stored outcomes to read)."""
    if now is None or session is None:
        return None
    cells, ratings = qa.load(session, pilot_id, plan, panel, now, through=through)
    main = {}
    for c in comparisons:
        raw = c.now.raw if c.now is not None else None
        main[c.metric, c.arm] = (
            (float(raw.difference), [float(raw.ci.low), float(raw.ci.high)]) if raw is not None else (None, None)
        )
    return qa.analyse(plan, panel, cells, ratings, main, now)


def _with_qa(metrics: list[dict[str, Any]], qa_results) -> list[dict[str, Any]]:
    """Add policy and queue effects to each metric and the auditor-adjusted estimate to each comparison."""
    for entry in metrics:
        if qa_results is None:
            entry.update(by_policy=[], by_queue=[], by_policy_heterogeneity=[], by_queue_heterogeneity=[])
            entry.update(policy_note=None, critical_policies=[])
            for comparison in entry["comparisons"]:
                comparison["auditor_adjusted"] = None
            continue
        entry.update(qa_results.metrics[entry["name"]])
        for comparison in entry["comparisons"]:
            comparison["auditor_adjusted"] = qa_results.adjusted.get((entry["name"], comparison["arm"]))
    return metrics


def _comparisons(
    panel: Panel,
    plan: PilotPlan,
    look_days: tuple[int, ...],
    taken: tuple[int, ...],
    now: int | None,
    control: str,
    treatments: tuple[str, ...],
    fixed: frozen.FrozenPlan | None,
) -> list[Comparison]:
    design = plan.design
    arms = panel.units.arms
    c_mask = arms == control
    plan_day = looks.first_look_day(design.method, look_days)
    out = []
    for spec in plan.metrics:
        definition = plan.definition(spec.name)
        model = None
        if fixed is None:  # launched before plans were frozen: fitted at every look, as then
            model = looks.metric_model(
                panel, definition.numerator, definition.denominator, definition.sum_squares, plan_day
            )
        for arm in treatments:
            t_mask = arms == arm
            if fixed is None:
                info = looks.information_plan(model, look_days, int(t_mask.sum()), int(c_mask.sum()))
            else:
                info = fixed.information(panel, definition, spec.name, arm, control, plan_day)
            series = look_series(panel, definition, c_mask, t_mask, taken, design.alpha)
            current = estimate(panel, definition, c_mask, t_mask, now, design.alpha) if now is not None else None
            out.append(Comparison(spec.name, spec.role, arm, definition, current, series, info))
    return out


def _checks(panel: Panel, plan: PilotPlan, now: int | None, control: str):
    look_days = looks.planned_look_days(
        plan.design.method, plan.design.looks, looks.total_days(plan.start_date, plan.end_date)
    )
    results = checks.repeated(panel, plan.weights, now, plan.unit, look_days)
    rows: list[dict[str, Any]] = []
    if control in set(panel.units.arms) and panel.units.size > 2:
        balance, rows = checks.balance(panel, control)
        results.append(balance)
    return results, rows


def _metrics(panel, plan, comparisons, guardrails, now, control, treatments, descriptive=True) -> list[dict[str, Any]]:
    out = []
    for spec in plan.metrics:
        definition = plan.definition(spec.name)
        mine = [c for c in comparisons if c.metric == spec.name]
        entry: dict[str, Any] = {
            "name": spec.name,
            "label": definition.label,
            "role": spec.role,
            "direction": definition.direction,
            "unit_of_measure": definition.unit_of_measure,
            "proportion": definition.proportion,
            "margin": spec.margin,
            "relative": spec.relative,
            "arms": arm_summary(panel, definition, plan.arm_names, now),
            "comparisons": [comparison_json(c, plan.start_date, guardrails.get((c.metric, c.arm))) for c in mine],
        }
        if now is not None and descriptive:
            segments, heterogeneity = breakdowns.segments(
                panel, definition, control, treatments, now, plan.design.alpha
            )
            entry["segments"] = segments
            entry["heterogeneity"] = heterogeneity
            entry["segments_warning"] = breakdowns.WARNING
            entry["by_week"] = breakdowns.by_week(panel, definition, control, treatments, now, plan.design.alpha)
            entry["by_week_note"] = (
                "Effect within each week since launch, fixed-horizon intervals: descriptive, to see ramp-up or fade."
            )
        else:
            entry.update(segments=[], heterogeneity=[], segments_warning=breakdowns.WARNING, by_week=[])
        out.append(entry)
    return out


def _set_aside(panel: Panel) -> dict[str, Any]:
    """What the cut at randomization left out of the pilot data (see `pilots.assignment.cutoff`)."""
    per_unit = panel.set_aside if panel.set_aside is not None else np.zeros(panel.units.size)
    late = panel.units.late_joiner if panel.units.late_joiner is not None else np.zeros(panel.units.size, dtype=bool)
    audits = int(per_unit.sum())
    return {
        "audits": audits,
        "units": int((per_unit > 0).sum()),
        "late_joiner_audits": int(per_unit[late].sum()),
        "rule": CUTOFF_RULE,
    }


CUTOFF_RULE = (
    "A moderator's audits count as pilot data only from their assignment on: the launch roster from the launch, late "
    "joiners from when they joined. Results are read per day, so a unit's data start on the first whole UTC day from "
    "its assignment (the assignment day itself only when it happened at 00:00 UTC). Earlier audits inside the "
    "pre-period window are the pre-period baseline; earlier audits after the start date are set aside, never analysed."
)


def _notes(pilot: Pilot, plan: PilotPlan, panel: Panel) -> list[str]:
    notes = []
    if pilot.simulated:
        notes.append(
            "Simulated pilot: launched in simulation mode with a randomization time in the past "
            f"({utc(pilot.launched_at):%Y-%m-%d %H:%M} UTC); its history is simulated, not observed."
        )
    if pilot.registered_start_date is not None:
        notes.append(
            f"The registered start date {pilot.registered_start_date.isoformat()} was before the launch, so the "
            f"pilot starts on the launch day {plan.start_date.isoformat()}."
        )
    aside = _set_aside(panel)
    if aside["audits"]:
        notes.append(
            f"{aside['audits']:,} audits of {aside['units']} unit(s) from before their assignment were set aside "
            f"({aside['late_joiner_audits']:,} of them of late joiners): only audits from a moderator's "
            "randomization on count as pilot data."
        )
    if plan.design.method == "group_sequential":
        notes.append(
            "Group-sequential design: two-sided alpha is split evenly between benefit and harm boundaries "
            "(Lan-DeMets spending, t-corrected); intervals are repeated confidence intervals at the latest review."
        )
    else:
        notes.append(
            "Always-valid design: intervals are confidence sequences and p-values always-valid, so the results may "
            "be checked every day without inflating false alarms."
        )
    if panel.has_pre_period:
        notes.append("Estimates are adjusted for each unit's pre-period audits (CUPED); raw estimates are shown too.")
    if plan.unit == "team":
        notes.append("Teams were randomized, so every analysis treats a team (its moderators' audits summed) as one.")
    return notes
