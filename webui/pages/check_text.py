"""The data-quality checks in plain words, from the structured parts of the results document.

The engine's own messages are written for analysts (`site=Dublin (ai_assist: -0.12)`, `|SMD|`); a director reads
"AI assist has fewer moderators at Dublin". Group sizes and balance are rephrased from their numbers; the other checks
keep the engine's sentence with arm codes replaced by display names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from webui import plain

SRM_THRESHOLD = 0.001


ARM_WORDS = ((r"\barms\b", "groups"), (r"\barm\b", "group"), (r"\bArms\b", "Groups"), (r"\bArm\b", "Group"))


def with_names(message: str, names: Mapping[str, str]) -> str:
    """The engine's sentence with arm codes replaced by display names and "arm" by "group"."""
    for code, name in sorted(names.items(), key=lambda item: -len(item[0])):
        if code and code != name:
            message = re.sub(rf"(?<![\w-]){re.escape(code)}(?![\w-])", name, message)
    for pattern, word in ARM_WORDS:
        message = re.sub(pattern, word, message)
    return message


def group_sizes(srm: Mapping[str, Any], names: Mapping[str, str], unit: str | None) -> str:
    """ "Control 29 and AI assist 31 moderators, against a planned 30 each." (or the mismatch, in words)."""
    singular, plural = plain.unit_words(unit)
    counts = srm.get("counts") or {}
    weights = srm.get("weights") or {}
    if not counts:
        return ""
    total, weight_sum = sum(counts.values()), sum(weights.values()) or 0
    shown = plain.join([f"{plain.arm_name(names, arm)} {n:,}" for arm, n in counts.items()])
    text = f"{shown} {plural if total != 1 else singular}"
    if weight_sum:
        planned = {arm: _share(total * weights.get(arm, 0) / weight_sum) for arm in counts}
        values = set(planned.values())
        if len(values) == 1:
            text += f", against a planned {values.pop()} each"
        else:
            text += ", against a planned " + plain.join(
                [f"{v} in {plain.arm_name(names, arm)}" for arm, v in planned.items()]
            )
    if srm.get("ok", True):
        return text + "."
    return text + ": further from the plan than chance allows, so who is counted in which group needs checking."


def _share(value: float) -> str:
    """A planned group size: whole when it is whole, else one decimal (21 teams split evenly is 10.5 each, never a
    rounded 10 that the counts 10 and 11 would contradict)."""
    rounded = round(value, 1)
    return f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.1f}"


def _phrase(row: Mapping[str, Any], unit_plural: str) -> str:
    smd = row.get("smd") or 0.0
    name, level = str(row.get("attribute")), row.get("level")
    if level in (None, ""):
        return f"{'higher' if smd > 0 else 'lower'} {plain.attribute(name)}"
    if name == "site":
        where = f"at {level}"
    elif name == "language":
        where = f"working in {plain.language(str(level))}"
    else:
        where = f"with {plain.attribute_level(name, level)}"
    return f"{'more' if smd > 0 else 'fewer'} {unit_plural} {where}"


def balance(check: Mapping[str, Any], names: Mapping[str, str], unit: str | None) -> str:
    """Which groups differed at launch and on what, without SMDs or field names."""
    _, plural = plain.unit_words(unit)
    rows = [row for row in check.get("rows") or [] if row.get("smd") is not None]
    if not rows:
        return "There were no roster attributes or pre-pilot data to compare at launch."
    flagged = [row for row in rows if row.get("flagged")]
    if not check.get("ok", True):
        beyond = [r for r in flagged if r.get("p_value") is not None and r["p_value"] * len(rows) < SRM_THRESHOLD]
        flagged = beyond or flagged
    if not flagged:
        compared = list(dict.fromkeys(plain.attribute(str(row.get("attribute"))) for row in rows))
        return f"The groups were alike at launch on {plain.join(compared)}."
    by_arm: dict[str, list[str]] = {}
    for row in flagged:
        by_arm.setdefault(str(row.get("arm")), []).append(_phrase(row, plural))
    parts = [f"{plain.arm_name(names, arm)} had {plain.join(phrases)}" for arm, phrases in by_arm.items()]
    differences = "; ".join(parts)
    if not check.get("ok", True):
        return (
            f"The groups differed at launch far more than chance allows ({differences}): the random assignment may be "
            "broken. Check how the roster was randomized."
        )
    return (
        f"The groups differed somewhat at launch ({differences}), within what chance allows with this many "
        f"{plural}. The adjustment for pre-pilot values corrects for earlier differences in the metrics."
    )


def message(check: Mapping[str, Any], document: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The check's sentence for people: rebuilt from numbers where the engine's is technical."""
    unit = document.get("unit")
    name = check.get("name")
    if not check.get("ran", True):  # not run: its own reason, never counts that suggest it was checked
        return with_names(str(check.get("message") or ""), names)
    if name in ("srm", "sample_ratio") and document.get("srm"):
        return group_sizes(document["srm"], names, unit)
    if name in ("covariate_balance", "balance") and "rows" in check:
        return balance(check, names, unit)
    return with_names(str(check.get("message") or ""), names)
