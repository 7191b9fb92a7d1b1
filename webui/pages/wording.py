"""Plain language for the results page: verdict banners, one sentence per metric, check names, p-values.

Everything a director reads is phrased here, from the results document and the metric's `Scale`, so the wording
is consistent and tested in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pilots.catalog import METRICS
from webui.figures.effects import harmful_margin
from webui.figures.scale import Scale, decimals_for, metric_label, scale_for

MINUS = "\u2212"


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
    "audit_rate": "QA audits both groups at the same rate",
    "attrition": "Moderators are still taking part",
    "covariate_balance": "Groups were alike at launch",
    "balance": "Groups were alike at launch",
}

ROLE_LABELS = {"primary": "Primary metric", "guardrail": "Guardrail", "secondary": "Secondary metric"}


def verdict(recommendation: str | None) -> Verdict:
    return VERDICTS.get(recommendation or "", NO_VERDICT)


def number(value: float, decimals: int, signed: bool = False) -> str:
    """`value` rounded, with a real minus sign (and a plus when `signed`)."""
    text = f"{abs(value):,.{decimals}f}"
    if round(value, decimals) < 0:
        return MINUS + text
    return ("+" + text) if signed and round(value, decimals) > 0 else text


def compact(value: float) -> str:
    """A single setting like a margin, as written: 0.5, 5, 0.25 (three significant digits at most)."""
    text = f"{abs(value):.3g}"
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


def metric_sentence(
    metric: dict[str, Any],
    comparison: dict[str, Any],
    *,
    level: str = "95%",
    margin: float | None = None,
    control: str = "control",
) -> str:
    """ "Accuracy went up by 1.4 points (95% interval 0.6 to 2.2) in the treatment group, compared with control." plus
    what that means: a clear improvement, a clear worsening, or not distinguishable from no change yet."""
    scale = scale_for(metric)
    difference = scale.show(comparison["difference"])
    low, high = (scale.show(v) for v in comparison["ci"])
    decimals = decimals_for([low, high])
    label = metric_label(metric)
    if round(difference, decimals) == 0:
        movement = "did not change"
    else:
        movement = f"went {'up' if difference > 0 else 'down'} by {_amount(difference, scale, decimals)}"
    relative = ""
    if scale.change_unit != "points" and comparison.get("relative") is not None:
        relative = f"{number(comparison['relative'] * 100, 1, signed=True)}%; "
    unit = f" {scale.change_unit}" if scale.change_unit else ""
    interval = f"{level} interval {number(low, decimals)} to {number(high, decimals)}{unit}"
    sentence = f"{label} {movement} ({relative}{interval}) in the {comparison['arm']} group, compared with {control}."
    return f"{sentence} {_meaning(metric, comparison, low, high, scale, margin)}".strip()


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
    if low > 0 or high < 0:
        improved = (low > 0) == higher_is_better
        return "That is a clear improvement." if improved else "That is a clear worsening."
    return "The interval includes no change, so this may still be noise."


def resolve_margin(metric: dict[str, Any], plan_metrics: list[dict[str, Any]]) -> float | None:
    """A guardrail's margin as an absolute difference in raw units, from the document or the registered plan.

    Relative margins (`"relative": true` in the plan: a fraction of the control value) are converted with the
    control arm's mean.
    """
    if metric.get("margin") is not None:
        return abs(float(metric["margin"]))
    plan = next((m for m in plan_metrics if m.get("name") == metric.get("name")), None)
    if plan is None:
        return None
    if plan.get("margin") is None:
        return None
    if plan.get("relative"):
        control = next((arm.get("mean") for arm in metric.get("arms", []) if arm.get("arm") == "control"), None)
        return abs(float(plan["margin"]) * control) if control else None
    return abs(float(plan["margin"]))


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


def plan_metric_row(plan: dict[str, Any]) -> dict[str, str]:
    """A registered metric for the overview: label, role, which way is better, and its margin in display units."""
    metric = {"name": plan.get("name", ""), "label": plan.get("label")}
    scale = scale_for(metric)
    margin = ""
    if plan.get("margin") is not None and plan.get("relative"):
        margin = f"{compact(abs(float(plan['margin'])) * 100)}% worse at most"
    elif plan.get("margin") is not None:
        shown = scale.show(abs(float(plan["margin"])))
        margin = f"{compact(shown)} {scale.change_unit} worse at most".replace("  ", " ")
    direction = plan.get("direction")
    if direction is None:
        definition = METRICS.get(metric["name"])
        direction = definition.direction if definition else ""
    return {
        "label": metric_label(metric),
        "role": ROLE_LABELS.get(plan.get("role", ""), plan.get("role", "")),
        "better": {"higher": "Higher", "lower": "Lower"}.get(direction, ""),
        "margin": margin,
    }
