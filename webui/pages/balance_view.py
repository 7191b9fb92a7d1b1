"""The balance report in plain words: units by stratum and arm, and how alike the groups are on each attribute.

Standardized differences (SMD) are read against the usual bar (0.1): below it the groups are alike, up to 0.2
slightly different, above that noticeably different. Strata keys (`site=Manila|tenure_months=6-12`) become
"Manila · tenure 6-12 months"; language codes read "German (de)", the code kept because the roster file has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pilots.assignment.balance import SMD_THRESHOLD, BalanceReport
from pilots.models import Pilot
from pilots.schemas import display_name_of
from webui import plain

ATTRIBUTE_NAMES = {
    "site": "Site",
    "language": "Language",
    "tenure_months": "Tenure",
    "team": "Team",
    "baseline_accuracy": "Baseline accuracy",
}
_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class BalanceView:
    arms: list[str]
    strata: list[tuple[str, list[int]]]
    totals: list[int]
    unit_word: str
    smd_lines: list[tuple[str, str, bool]]
    summary: str


def attribute_name(name: str) -> str:
    return ATTRIBUTE_NAMES.get(name, name.replace("_", " ").capitalize())


def language_words(code: str) -> str:
    """ "de" -> "German (de)"; a code without a known name is shown as written."""
    name = plain.language(code)
    return f"{name} ({code})" if name != code else code


def stratum_words(key: str) -> str:
    """`site=Manila|tenure_months=6-12` -> `Manila · tenure 6-12 months`; `all` -> `Everyone`."""
    if key == "all":
        return "Everyone (no strata)"
    parts = []
    for pair in _SPLIT.split(key):
        name, _, value = pair.partition("=")
        value = value.replace("\\|", "|").replace("\\=", "=").replace("\\\\", "\\")
        if name == "tenure_months":
            parts.append(f"tenure {value} months")
        elif name == "language":
            parts.append(language_words(value))
        elif name in ("site", "team"):
            parts.append(value)
        else:
            parts.append(f"{attribute_name(name).lower()} {value}")
    return " · ".join(parts)


def _judgement(smd: float | None) -> tuple[str, bool]:
    if smd is None:
        return "cannot be compared (too few people with a value)", False
    size = abs(smd)
    if size < SMD_THRESHOLD:
        return "alike", False
    if size < 2 * SMD_THRESHOLD:
        return "slightly different", True
    return "noticeably different", True


def balance_view(report: BalanceReport, pilot: Pilot) -> BalanceView:
    names = {arm["name"]: arm.get("display_name") or display_name_of(arm["name"]) for arm in pilot.arms}
    arms = [names.get(arm, arm) for arm in report.arms]
    strata = [(stratum_words(s.stratum), [s.units.get(arm, 0) for arm in report.arms]) for s in report.strata]
    totals = report.totals()["units"]
    lines = []
    by_attribute: dict[str, list] = {}
    for smd in report.smds:
        by_attribute.setdefault(smd.attribute, []).append(smd)
    for attribute, items in sorted(by_attribute.items()):
        defined = [item for item in items if item.smd is not None]
        worst = max(defined, key=lambda item: abs(item.smd)) if defined else items[0]
        judgement, flagged = _judgement(worst.smd)
        level = language_words(str(worst.level)) if attribute == "language" else worst.level
        where = f" (most for {level})" if worst.level is not None and worst.smd else ""
        versus = f" between {names.get(worst.reference)} and {names.get(worst.arm)}" if len(arms) > 2 else ""
        size = _size(worst.smd)
        lines.append(
            (
                attribute_name(attribute),
                f"{judgement}{versus}: the largest standardized difference is {size}{where}.",
                flagged,
            )
        )
    flagged = [name for name, _, bad in lines if bad]
    summary = (
        "The groups are alike on every roster attribute: the randomization worked as planned."
        if not flagged
        else f"The groups differ somewhat on {', '.join(flagged)}. Randomization does this now and then; the results "
        "adjust for the pre-period where they can, and the data-quality checks watch it."
    )
    return BalanceView(
        arms=arms,
        strata=strata,
        totals=[totals[arm] for arm in report.arms],
        unit_word="teams" if report.unit == "team" else "moderators",
        smd_lines=lines,
        summary=summary,
    )


def _size(smd: float | None) -> str:
    """The absolute SMD with two decimals, or more where two would round across a judgement's bar (0.0996 would
    read "0.10", the bar, beside "alike"), so the number shown never contradicts the word beside it."""
    if smd is None:
        return "n/a"
    size = abs(smd)
    for digits in range(2, 8):
        text = f"{size:.{digits}f}"
        if all((size < bar) == (float(text) < bar) for bar in (SMD_THRESHOLD, 2 * SMD_THRESHOLD)):
            return text
    return repr(size)
