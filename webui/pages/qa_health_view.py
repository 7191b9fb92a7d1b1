"""The "QA health" section: can the QA yardstick be trusted? Agreement on double-audited items, each auditor's
leniency and audits, and what the grading noise costs in detectable effect, from `qa_health` of the results document.

Leadership reads a plain sentence per part; the technical names (Gwet's AC1, Krippendorff's alpha) sit in a small
second line and in the tables. Every part is optional: a document without `qa_health`, without double audits or
without named auditors shows what it has and says what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webui import plain
from webui.figures import qa as qa_figures
from webui.figures.scale import RATE
from webui.pages.chart_tables import ChartTable
from webui.pages.chart_view import ChartView, chart
from webui.pages.qa_view import plain_numbers
from webui.pages.wording import number

NOTHING_DOUBLE_AUDITED = "Nothing was double-audited, so we cannot tell how consistently auditors grade."
# Conventional reading of chance-corrected agreement (Landis and Koch's bands, merged to three words).
BANDS = ((0.8, "strong"), (0.6, "moderate"), (-1.0, "weak"))


@dataclass(frozen=True)
class AgreementRow:
    """One line of the agreement tables: who, how many items, raw agreement, each coefficient and its interval."""

    label: str
    items: str
    same: str
    ac1: str
    ac1_ci: str
    alpha: str
    alpha_ci: str


@dataclass
class Agreement:
    """Agreement in words, the technical line, the table (overall and by arm) and the auditor pairs'."""

    text: str
    technical: str
    rows: list[AgreementRow] = field(default_factory=list)
    pairs: list[AgreementRow] = field(default_factory=list)
    critical: str | None = None


@dataclass
class QaHealth:
    agreement: Agreement
    auditors_text: str
    leniency: ChartView | None
    measurement: str | None
    measurement_technical: str | None


def _band(value: float | None) -> str:
    if value is None:
        return "unknown"
    return next(word for bound, word in BANDS if value >= bound)


def _coefficient(value: float | None, ci: Any) -> str:
    if value is None:
        return "–"
    text = number(value, 2)
    if qa_figures.has_interval(ci):
        text += f" ({number(ci[0], 2)} to {number(ci[1], 2)})"
    return text


def _interval(ci: Any) -> str:
    return f"{number(ci[0], 2)} to {number(ci[1], 2)}" if qa_figures.has_interval(ci) else ""


def _row(label: str, entry: Mapping[str, Any]) -> AgreementRow:
    share, ac1, alpha = entry.get("percent_agreement"), entry.get("ac1"), entry.get("krippendorff_alpha")
    return AgreementRow(
        label,
        f"{entry.get('items', 0):,}",
        f"{100 * share:.0f}%" if share is not None else "–",
        number(ac1, 2) if ac1 is not None else "–",
        _interval(entry.get("ac1_ci")),
        number(alpha, 2) if alpha is not None else "–",
        _interval(entry.get("krippendorff_alpha_ci")),
    )


def agreement(health: Mapping[str, Any], names: Mapping[str, str]) -> Agreement:
    """Agreement on `correct` overall, by arm and by auditor pair; or why it is unknown."""
    overall = health.get("agreement")
    if not overall:
        reason = str(health.get("agreement_reason") or "No item was audited by two different auditors.")
        return Agreement(NOTHING_DOUBLE_AUDITED, reason)
    share = overall.get("percent_agreement")
    ac1 = overall.get("ac1")
    said = f"{100 * share:.0f}% of the time" if share is not None else "an unknown share of the time"
    text = (
        f"Two auditors who graded the same decision agreed {said} ({overall.get('items', 0):,} double-audited "
        f"items): {_band(ac1)} agreement beyond chance."
    )
    alpha = overall.get("krippendorff_alpha")
    if ac1 is not None and alpha is not None and ac1 - alpha > 0.2:
        text += (
            " Krippendorff's alpha reads lower than AC1 because almost every decision is graded correct, which "
            "leaves little room for agreement beyond chance; AC1 is built to stay stable when one grade dominates."
        )
    technical = (
        f"Gwet's AC1 {_coefficient(ac1, overall.get('ac1_ci'))}, Krippendorff's alpha "
        f"{_coefficient(alpha, overall.get('krippendorff_alpha_ci'))}, on whether the decision was correct."
    )
    if overall.get("message"):
        technical += f" {overall['message']}"
    rows = [_row("All double-audited items", overall)]
    rows += [_row(f"Moderators in {plain.arm_name(names, a.get('arm'))}", a) for a in overall.get("by_arm") or []]
    pairs = [
        _row(" & ".join(str(x) for x in pair.get("auditors") or []), pair)
        for pair in overall.get("by_auditor_pair") or []
    ]
    critical = None
    if overall.get("critical"):
        entry = overall["critical"]
        shared = entry.get("percent_agreement")
        critical = (
            f"On whether an error was critical, auditors agreed "
            f"{f'{100 * shared:.0f}%' if shared is not None else 'an unknown share'} of the time "
            f"({entry.get('items', 0):,} items; AC1 {_coefficient(entry.get('ac1'), entry.get('ac1_ci'))})."
        )
    return Agreement(text, technical, rows, pairs, critical)


def leniency_table(auditors: list[Mapping[str, Any]]) -> ChartTable:
    rows = []
    ordered = sorted(auditors, key=lambda a: (-(a.get("leniency") or 0.0), str(a.get("auditor_id"))))
    for auditor in ordered:
        value, ci = auditor.get("leniency"), auditor.get("ci")
        interval = "–"
        if qa_figures.has_interval(ci):
            interval = f"{number(RATE.show(ci[0]), 1, signed=True)} to {number(RATE.show(ci[1]), 1, signed=True)}"
        state = qa_figures.LENIENCY[qa_figures.leniency_state(dict(auditor))][0]
        rows.append(
            (
                str(auditor.get("auditor_id")),
                f"{auditor.get('audits', 0):,}",
                number(RATE.show(value), 1, signed=True) if value is not None else "–",
                interval,
                state,
            )
        )
    return ChartTable(
        "Each auditor's leniency on accuracy in points (pilot and pre-period audits), with 95% intervals",
        ("Auditor", "Audits", "Leniency (points)", "Interval", "Reading"),
        rows,
        frozenset({4}),
    )


def auditors_text(auditors: list[Mapping[str, Any]]) -> str:
    if not auditors:
        return "No audit names its auditor, so auditors cannot be compared."
    lenient = [a for a in auditors if qa_figures.leniency_state(dict(a)) == "lenient"]
    strict = [a for a in auditors if qa_figures.leniency_state(dict(a)) == "strict"]
    total = sum(a.get("audits", 0) for a in auditors)
    who = plain.count(len(auditors), "auditor")
    text = f"{who} graded {total:,} audits of this pilot's moderators, before and during the pilot."
    if not lenient and not strict:
        return text + " None of them grades clearly more leniently or strictly than the others."
    values = [a["leniency"] for a in auditors if a.get("leniency") is not None]
    spread = RATE.show(max(values) - min(values)) if values else 0.0
    return (
        f"{text} {len(lenient)} grade clearly more leniently and {len(strict)} clearly more strictly than average; "
        f"the most and least lenient differ by {spread:.1f} points of accuracy on the same kind of work. This matters "
        "only if the groups are graded by different auditors (see the check above)."
    )


def measurement(health: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """What grading noise costs in detectable effect, when the document carries it: the engine's sentence, and the
    numbers behind it (each optional: older documents carry fewer of them)."""
    cost = health.get("measurement") or health.get("noise_cost")
    if not isinstance(cost, Mapping):
        return None, None
    shares = []
    if cost.get("grade_error_share") is not None:
        shares.append(f"{100 * cost['grade_error_share']:.0f}% of a single grade's variance")
    if cost.get("error_share") is not None:
        shares.append(f"{100 * cost['error_share']:.0f}% of a moderator's measured accuracy")
    parts = [f"Grading noise: {' and '.join(shares)}."] if shares else []
    ratio = f" (× {cost['mde_ratio']:.2f})" if cost.get("mde_ratio") is not None else ""
    if cost.get("mde") is not None and cost.get("mde_without_noise") is not None:
        parts.append(
            f"Minimum detectable effect (fixed horizon): {RATE.show(cost['mde']):.2f} points, "
            f"{RATE.show(cost['mde_without_noise']):.2f} points without the noise{ratio}."
        )
    elif ratio:
        parts.append(f"Minimum detectable effect{ratio} against error-free grading.")
    return (plain_numbers(str(cost.get("message") or "")) or None), (" ".join(parts) or None)


def qa_health(document: Mapping[str, Any], names: Mapping[str, str]) -> QaHealth | None:
    """The section, or None when the document has no `qa_health` (no audits yet, or an older document)."""
    health = document.get("qa_health")
    if not isinstance(health, Mapping):
        return None
    auditors = [a for a in health.get("auditors") or [] if isinstance(a, Mapping)]
    leniency = None
    if auditors:
        leniency = chart(
            "chart-qa-leniency", qa_figures.auditor_leniency([dict(a) for a in auditors]), leniency_table(auditors)
        )
    cost, cost_technical = measurement(health)
    return QaHealth(agreement(health, names), auditors_text(auditors), leniency, cost, cost_technical)
