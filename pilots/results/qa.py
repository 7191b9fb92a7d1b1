"""The QA-domain part of a pilot's results: effects by policy and queue, the auditor checks, the auditor-adjusted
estimate, the pre-registered critical-policy guardrails and the QA health section, computed together from one read
of the QA rollups (`pilots.results.qa_data`) and handed to `pilots.results.document` as plain JSON pieces.

The data obey the results' cut: the same units (from the panel), the same window (the pre-period start, or start
date, through `data_through`) and the same data cut (a moderator's pilot-period audits count from their
assignment's `data_from` day, as in the panel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlmodel import Session

from analysis.checks import CheckResult
from analysis.verdict import NonInferiority
from pilots.results import qa_auditors, qa_effects, qa_health, qa_levels
from pilots.results.loader import Panel
from pilots.results.looks import total_days
from pilots.results.qa_data import QaCells, Ratings, load_cells, load_ratings
from pilots.schemas import PilotPlan


@dataclass
class QaResults:
    """Everything the document adds: checks (`balance` may invalidate, `blinding` warns), per-metric entries,
    adjusted estimates by (metric, arm), critical-policy guardrails and `qa_health`."""

    balance: CheckResult
    blinding: CheckResult
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    adjusted: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    guardrails: list[tuple[dict[str, Any], NonInferiority]] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)


def load(
    session: Session, pilot_id: int, plan: PilotPlan, panel: Panel, now: int, *, through: date | None = None
) -> tuple[QaCells, Ratings]:
    """The pilot's QA cells and double-audit ratings through day `now` of the pilot. With `through` (the end date
    for the latest results, a replayed look's day) the cells come from the per-dimension sums folded through that day
    when they answer (`pilots.results.qa_levels`), the same cells as the direct read."""
    first = plan.pre_period_start or plan.start_date
    cut: date = plan.start_date + timedelta(days=now)
    folded = through is not None and cut <= through
    cells = qa_levels.load_folded(session, pilot_id, panel.units, plan.start_date, cut, through) if folded else None
    if cells is None:
        cells = load_cells(session, pilot_id, panel.units, plan.start_date, first, cut)
    ratings = load_ratings(session, pilot_id, panel.units, plan.start_date, first, cut)
    return cells, ratings


def analyse(
    plan: PilotPlan,
    panel: Panel,
    cells: QaCells,
    ratings: Ratings,
    main: dict[tuple[str, str], tuple[float | None, list[float | None] | None]],
    now: int,
) -> QaResults:
    """The QA results of a pilot through day ``now`` (module docstring); `main` holds each comparison's
    (difference, ci)."""
    arms = panel.units.arms.astype(str)
    control, treatments = plan.control.name, tuple(arm.name for arm in plan.treatments)
    alpha = plan.design.alpha
    balance, blinding = qa_auditors.checks(cells, arms, panel.units.strata, control, treatments, plan.seed % 2**32)
    out = QaResults(balance, blinding)
    fitted = {name: qa_auditors.leniency(cells, name) for name in qa_auditors.GRADED}
    for spec in plan.metrics:
        definition = plan.definition(spec.name)
        by_policy, policy_tests, found = qa_effects.cell_effects(
            cells, "policy", definition, arms, control, treatments, alpha
        )
        by_queue, queue_tests, _ = qa_effects.cell_effects(cells, "queue", definition, arms, control, treatments, alpha)
        qa_effects.add_q_values(by_policy, by_queue)
        segments = [segment.model_dump() for segment in spec.critical_policies]
        days = (now + 1, total_days(plan.start_date, plan.end_date))
        guardrails = qa_effects.segment_guardrails(
            segments, found, definition, treatments, cells, arms, control, alpha, days
        )
        out.guardrails += guardrails
        out.metrics[spec.name] = {
            "by_policy": by_policy,
            "by_policy_heterogeneity": policy_tests,
            "by_queue": by_queue,
            "by_queue_heterogeneity": queue_tests,
            "policy_note": qa_effects.DESCRIPTIVE_NOTE
            if not segments
            else qa_effects.DESCRIPTIVE_NOTE.replace("Only policies", "Here, only the policies")
            + " Registered: "
            + ", ".join(s["policy"] for s in segments)
            + ".",
            "critical_policies": [
                {**segment, "non_inferior": result.non_inferior, "harmful": result.harmful, "message": result.message}
                for segment, result in guardrails
            ],
        }
        columns = qa_auditors.graded_columns(definition)
        for arm in treatments:
            out.adjusted[spec.name, arm] = qa_auditors.adjusted(
                cells,
                definition,
                fitted[columns[0]] if columns else fitted["correct"],
                arms,
                control,
                arm,
                alpha,
                main.get((spec.name, arm), (None, None)),
            )
    out.health = _health(cells, ratings, panel, fitted["correct"], arms, control, treatments, plan)
    return out


def _health(
    cells: QaCells,
    ratings: Ratings,
    panel: Panel,
    fitted,
    arms: np.ndarray,
    control: str,
    treatments: tuple[str, ...],
    plan: PilotPlan,
) -> dict[str, Any]:
    agreement = qa_health.agreement(ratings, arms)
    reliability = agreement["krippendorff_alpha"] if agreement is not None else None
    in_control = arms == control
    y_all = cells.level_sums("auditor", "correct").sum(axis=1)
    x_all = cells.level_sums("auditor", "audits").sum(axis=1)
    audited = x_all > 0
    treated = min((int((audited & (arms == arm)).sum()) for arm in treatments), default=0)
    units = (int((audited & in_control).sum()), treated)
    return {
        "agreement": agreement,
        "agreement_reason": None
        if agreement is not None
        else "No item was audited by two different auditors (send the same item_id with each audit of a "
        "double-audited item), so auditor agreement is unknown.",
        "auditors": qa_auditors.auditor_rows(cells, fitted),
        "measurement": qa_health.noise_cost(
            y_all[in_control], x_all[in_control], reliability, units, plan.design.alpha, plan.design.power
        ),
    }
