"""Plain language for the results page: verdict banners, one sentence per metric, check names, p-values.

Everything a director reads is phrased here, from the results document and the metric's `Scale`, so the wording
is consistent and tested in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pilots.catalog import METRICS
from pilots.results.numbers import MINUS, effect_digits, number
from webui.figures.effects import harmful_margin
from webui.figures.scale import Scale, metric_label, scale_for
from webui.plain import humanize


@dataclass(frozen=True)
class Verdict:
    label: str
    css: str
    summary: str


VERDICTS = {
    "go": Verdict("Go", "go", "The change works: roll it out."),
    "no_go": Verdict("No-go", "no-go", "Do not roll this out."),
    "continue": Verdict("Keep running", "continue", "Not enough evidence either way yet: keep the pilot running."),
    "invalid": Verdict("Invalid: data problem", "invalid", "A data-quality check failed, so no verdict can be given."),
}

NO_VERDICT = Verdict("No verdict", "invalid", "The results did not include a verdict.")

CHECK_TITLES = {
    "sample_ratio": "Group sizes match the plan",
    "srm": "Group sizes match the plan",
    "audit_coverage": "QA reaches people in every group",
    "audit_rate": "QA audits both groups at the same rate",
    "attrition": "Moderators are still taking part",
    "covariate_balance": "Groups were alike at launch",
    "balance": "Groups were alike at launch",
    "auditor_balance": "QA auditors were assigned alike",
    "auditor_blinding": "Auditors grade both groups alike",
}

# What each audit-trail action means, in the words the overview page shows.
EVENT_LABELS = {
    "pilot.created": "Pilot registered",
    "pilot.updated": "Plan edited",
    "pilot.launched": "Launched: roster randomized, plan locked",
    "pilot.concluded": "Concluded",
    "roster.replaced": "Roster uploaded",
    "roster.late_joiners_added": "Late joiners added",
    "outcomes.ingested": "QA outcomes received",
    "demo.seeded": "Demo data created",
    "user.created": "User created",
}


def event_label(action: str) -> str:
    """A readable label for an audit-trail action (unknown actions are spelled out from their code)."""
    return EVENT_LABELS.get(action) or action.replace(".", ": ").replace("_", " ").capitalize()


ROLE_LABELS = {"primary": "Primary metric", "guardrail": "Guardrail", "secondary": "Secondary metric"}


def verdict(recommendation: str | None) -> Verdict:
    return VERDICTS.get(recommendation or "", NO_VERDICT)


def compact(value: float) -> str:
    """A single setting like a margin, as written: 0.5, 5, 0.25 (three significant digits at most); whole
    thousands with separators (1,036, not 1.04e+03)."""
    text = f"{abs(value):,.0f}" if abs(value) >= 1000 else f"{abs(value):.3g}"
    return MINUS + text if value < 0 else text


def p_value(value: float | None) -> str:
    """ "p < 0.001", "p = 0.04", "p = 0.62"; empty when absent."""
    if value is None:
        return ""
    if value < 0.001:
        return "p < 0.001"
    return f"p = {value:.3f}" if value < 0.01 else f"p = {value:.2f}"


def check_title(check: dict[str, Any]) -> str:
    name = str(check.get("name", "check"))
    return CHECK_TITLES.get(name, name.replace("_", " ").capitalize())


def interval_level(design: dict[str, Any] | None) -> str:
    """ "95%" for alpha 0.05."""
    alpha = (design or {}).get("alpha", 0.05)
    return f"{(1 - float(alpha)) * 100:g}%"


def _amount(value: float, scale: Scale, decimals: int) -> str:
    text = number(abs(value), decimals)
    unit = "point" if scale.change_unit == "points" and text == "1" else scale.change_unit
    return f"{text} {unit}".strip()


NO_INTERVAL = "There is no design-valid interval yet: too little information has accumulated for one."
INCONSISTENT = (
    "The computed interval does not contain its own estimate, so it is not shown; treat this comparison as "
    "unresolved and ask the analyst to check it."
)


def usable_interval(comparison: dict[str, Any]) -> tuple[float, float] | None:
    """The comparison's interval ends, or None when either end is missing or the interval is inconsistent."""
    low, high = _ends(comparison)
    if low is None or high is None:
        return None
    difference = comparison.get("difference")
    if low > high or (difference is not None and not low <= difference <= high):
        return None
    return float(low), float(high)


def missing_reason(comparison: dict[str, Any]) -> str:
    """Why a comparison has no interval: the engine's message, its p-value reason, the look's note, or a default."""
    if comparison.get("difference") is not None and _inverted(comparison):
        return INCONSISTENT
    for text in (comparison.get("message"), comparison.get("p_value_reason")):
        if text:
            return str(text)
    return NO_INTERVAL


def _ends(comparison: dict[str, Any]) -> tuple[float | None, float | None]:
    ci = [*(comparison.get("ci") or []), None, None]
    return ci[0], ci[1]


def _inverted(comparison: dict[str, Any]) -> bool:
    low, high = _ends(comparison)
    return low is not None and high is not None and usable_interval(comparison) is None


def _readable_decimals(values: list[float]) -> int:
    """`effect_digits` (the precision of the engine's reasons, so the banner and the body agree), plus digits while
    a non-zero value would print as 0 (an interval "0.0 to 6.0" that excludes zero reads as a contradiction)."""
    decimals = effect_digits(*values)
    while decimals < 3 and any(v != 0 and round(v, decimals) == 0 for v in values):
        decimals += 1
    return decimals


def sentence_decimals(metric: dict[str, Any], comparison: dict[str, Any]) -> int:
    """The decimals of the metric's sentence about `comparison` (its estimate and interval), which every other number
    about the same comparison (the raw difference) uses too."""
    scale = scale_for(metric)
    difference = comparison.get("difference")
    if difference is None:
        return 1
    bounds = usable_interval(comparison)
    return _readable_decimals([scale.show(v) for v in bounds] if bounds else [scale.show(difference)])


def metric_sentence(
    metric: dict[str, Any],
    comparison: dict[str, Any],
    *,
    level: str = "95%",
    margin: float | None = None,
    control: str = "control",
    valid: bool = True,
) -> str:
    """ "Accuracy went up by 1.4 points (95% interval 0.6 to 2.2) in the treatment group, compared with control." plus
    what that means: a clear improvement, a clear worsening, or not distinguishable from no change yet. Without an
    estimate or an interval it says so, with the reason. While a data-quality check fails (`valid` false) it says
    the estimate cannot be trusted instead of what it means."""
    scale = scale_for(metric)
    label = metric_label(metric)
    arm = comparison.get("arm", "treatment")
    if comparison.get("difference") is None:
        return f"{label}: no comparison of the {arm} group with {control} yet. {missing_reason(comparison)}"
    difference = scale.show(comparison["difference"])
    bounds = usable_interval(comparison)
    shown = [scale.show(v) for v in bounds] if bounds else [difference]
    decimals = sentence_decimals(metric, comparison)
    if round(difference, decimals) == 0:
        movement = "did not change"
    else:
        movement = f"went {'up' if difference > 0 else 'down'} by {_amount(difference, scale, decimals)}"
    relative = ""
    if scale.change_unit != "points" and comparison.get("relative") is not None:
        relative = f"{number(comparison['relative'] * 100, 1, signed=True)}%"
    # The relative change is its own clause, so the parentheses hold the estimate's interval in the estimate's unit.
    relative = f", a relative change of {relative}" if relative else ""
    if bounds is None:
        sentence = f"{label} {movement} in the {arm} group, compared with {control}{relative}, so far."
        return f"{sentence} Interval not yet available: {missing_reason(comparison)}"
    low, high = shown
    unit = f" {scale.change_unit}" if scale.change_unit else ""
    interval = f"{level} interval {number(low, decimals)} to {number(high, decimals)}{unit}"
    sentence = f"{label} {movement} ({interval}) in the {arm} group, compared with {control}{relative}."
    if not valid:
        return f"{sentence} {UNTRUSTED}"
    return f"{sentence} {_meaning(metric, comparison, low, high, scale, margin)}".strip()


UNTRUSTED = "A data-quality check failed, so this estimate cannot be trusted until the problem is fixed."
UNCONFIRMED = (
    "The interval excludes no change, but with this few (or this unequally audited) units the randomization test "
    "must confirm the difference before it counts, and it has not yet."
)


def _meaning(
    metric: dict[str, Any], comparison: dict[str, Any], low: float, high: float, scale: Scale, margin: float | None
) -> str:
    higher_is_better = metric.get("direction", "higher") == "higher"
    if metric.get("role") == "guardrail" and margin is not None:
        line = scale.show(harmful_margin(metric, margin))
        worst = low if higher_is_better else high
        allowed = f"{compact(abs(line))} {scale.change_unit}".strip()
        safe = worst > line if higher_is_better else worst < line
        if safe:
            return f"The interval rules out a worsening bigger than the allowed margin of {allowed}."
        return f"The interval does not rule out a worsening bigger than the allowed margin of {allowed}."
    if comparison.get("crossing") == "futility":
        return (
            "The pilot stopped here for futility: the improvement it was designed to detect has become unlikely, "
            "so more weeks would probably not change the answer."
        )
    if low > 0 or high < 0:
        if (comparison.get("randomization") or {}).get("confirms") is False:
            return UNCONFIRMED
        improved = (low > 0) == higher_is_better
        return "That is a clear improvement." if improved else "That is a clear worsening."
    return "The interval includes no change, so this may still be noise."


def resolve_margin(metric: dict[str, Any], plan_metrics: list[dict[str, Any]]) -> float | None:
    """A guardrail's margin as an absolute difference in raw units.

    The engine's non-inferiority result already carries it in absolute units; otherwise the metric's (or the
    registered plan's) margin is used, converting a relative margin (a fraction of the control value) with the
    control arm's mean.
    """
    for comparison in metric.get("comparisons") or []:
        margin = (comparison.get("non_inferiority") or {}).get("margin")
        if margin is not None:
            return abs(float(margin))
    source: dict[str, Any] | None = metric if metric.get("margin") is not None else None
    if source is None:
        source = next((m for m in plan_metrics if m.get("name") == metric.get("name")), None)
    if source is None or source.get("margin") is None:
        return None
    if source.get("relative"):
        control = next((arm.get("mean") for arm in metric.get("arms", []) if arm.get("arm") == "control"), None)
        return abs(float(source["margin"]) * control) if control else None
    return abs(float(source["margin"]))


DESIGN_LABELS = {
    "method": "Method",
    "alpha": "Significance level (alpha)",
    "power": "Power",
    "looks": "Planned looks",
    "spending": "Alpha spending",
    "min_days": "Minimum runtime (days)",
    "min_runtime_days": "Minimum runtime (days)",
    "max_days": "Maximum runtime (days)",
    "futility": "Futility stopping",
}
METHOD_LABELS = {
    "always_valid": "Always-valid (look any day)",
    "group_sequential": "Group sequential (planned reviews)",
    "fixed_horizon": "Fixed horizon (one look at the end)",
}

SPENDING_LABELS = {"obrien_fleming": "O'Brien-Fleming (strict early, lenient late)", "pocock": "Pocock (even)"}


def design_rows(design: dict[str, Any]) -> list[tuple[str, str]]:
    """The registered design as (label, value) rows, known settings first in a fixed order."""
    known = [key for key in DESIGN_LABELS if key in design]
    rest = sorted(key for key in design if key not in DESIGN_LABELS)
    rows = []
    for key in known + rest:
        value = design[key]
        if key == "method":
            value = METHOD_LABELS.get(value, value)
        elif key == "spending":
            value = SPENDING_LABELS.get(value, value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list | dict):
            value = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        rows.append((DESIGN_LABELS.get(key, key.replace("_", " ").capitalize()), str(value)))
    return rows


def _margin_words(metric: dict[str, Any], margin: float | None, relative: bool) -> str:
    """ "0.5 points worse at most", "5% worse at most"; empty without a margin."""
    if margin is None:
        return ""
    if relative:
        return f"{compact(abs(float(margin)) * 100)}% worse at most"
    scale = scale_for(metric)
    shown = compact(scale.show(abs(float(margin))))
    unit = "point" if scale.change_unit == "points" and shown == "1" else scale.change_unit
    return f"{shown} {unit} worse at most".replace("  ", " ")


def plan_metric_row(plan: dict[str, Any]) -> dict[str, Any]:
    """A registered metric for the overview: label, role, which way is better, its margin in display units, and its
    critical policies ("Violent extremism: 1 point worse at most")."""
    metric = {"name": plan.get("name", ""), "label": plan.get("label")}
    margin = _margin_words(metric, plan.get("margin"), bool(plan.get("relative")))
    direction = plan.get("direction")
    if direction is None:
        definition = METRICS.get(metric["name"])
        direction = definition.direction if definition else ""
    critical = [
        f"{humanize(str(c.get('policy', '')))}: {_margin_words(metric, c.get('margin'), bool(c.get('relative')))}"
        for c in plan.get("critical_policies") or []
    ]
    return {
        "label": metric_label(metric),
        "role": ROLE_LABELS.get(plan.get("role", ""), plan.get("role", "")),
        "better": {"higher": "Higher", "lower": "Lower"}.get(direction, ""),
        "margin": margin,
        "critical": critical,
    }
