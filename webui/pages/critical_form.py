"""The critical policies of each metric on the plan form: policies where the metric must not worsen beyond their
own margin, registered before launch (`MetricSpec.critical_policies`).

Each metric has rows of inputs `metric-<name>-critical-<row>-policy`, `-margin` and `-margin_kind`, typed like the
metric's own guardrail margin (points for rates, seconds, or percent of the control group). Empty rows are dropped;
the form always offers one more empty row than it has filled ones (no JavaScript needed: save to get another).
"""

from __future__ import annotations

from typing import Any

from webui.figures.scale import scale_for
from webui.pages.form_state import FormState

PARTS = ("policy", "margin", "margin_kind")
MAX_ROWS = 20  # `MetricSpec.critical_policies` takes at most 20
HELP = (
    "Policies where this metric must not get worse by more than their own margin, whatever the overall effect: a "
    "breach makes the verdict a no-go. Without them, effects by policy are descriptive only. Write the policy exactly "
    "as the QA outcomes send it (for example violent_extremism). Leave a row empty to drop it; save to get another row."
)


def key(metric: str, row: int | None = None, part: str | None = None) -> str:
    """ "metric-accuracy-critical" (the metric's list), "metric-accuracy-critical-0-policy" (one input)."""
    base = f"metric-{metric}-critical"
    return base if row is None else f"{base}-{row}-{part}"


def _filled(form: FormState, metric: str, row: int) -> bool:
    return any(form.get(key(metric, row, part)).strip() for part in ("policy", "margin"))


def rows(form: FormState, metric: str) -> int:
    """How many rows the form shows for `metric`: every filled row and one empty one."""
    last = max((row for row in range(MAX_ROWS) if _filled(form, metric, row)), default=-1)
    return min(MAX_ROWS, last + 2)


def registered(form: FormState, metric: str) -> int:
    return sum(1 for row in range(MAX_ROWS) if form.get(key(metric, row, "policy")).strip())


def is_open(form: FormState, metric: str) -> bool:
    """Whether the metric's critical-policy inputs start unfolded: something typed there, or a problem to fix."""
    mine = key(metric)
    return registered(form, metric) > 0 or any(name.startswith(mine) for name in form.errors)


def values_of(metric: str, spec: dict[str, Any]) -> dict[str, str]:
    """A stored metric's critical policies as form values, in the form's units."""
    values = {}
    for row, segment in enumerate(spec.get("critical_policies") or []):
        relative = bool(segment.get("relative"))
        factor = 100.0 if relative else scale_for({"name": metric}).factor
        values[key(metric, row, "policy")] = str(segment.get("policy", ""))
        values[key(metric, row, "margin")] = f"{round(float(segment['margin']) * factor, 9):g}"
        values[key(metric, row, "margin_kind")] = "relative" if relative else "absolute"
    return values


def read(form: FormState, metric: str, number) -> tuple[list[dict[str, Any]], list[int]]:
    """The metric's critical policies for the API body, and the form row each one came from.

    `number(name)` parses an input as the plan form does (a float, None when empty, the raw text after recording a
    message). A margin without a policy, or a policy without a margin, gets a message next to the missing input.
    """
    out, rows_used = [], []
    for row in range(MAX_ROWS):
        if not _filled(form, metric, row):
            continue
        policy = form.get(key(metric, row, "policy")).strip()
        if not policy:
            form.add(key(metric, row, "policy"), "is required: the policy this margin is for")
        margin = number(key(metric, row, "margin"))
        segment: dict[str, Any] = {"policy": policy}
        if margin is None:
            form.add(key(metric, row, "margin"), "is required: how much worse this policy may get")
        else:
            relative = form.get(key(metric, row, "margin_kind")) == "relative"
            factor = 100.0 if relative else scale_for({"name": metric}).factor
            segment["margin"] = margin / factor if isinstance(margin, float) else margin
            segment["relative"] = relative
        out.append(segment)
        rows_used.append(row)
    return out, rows_used


def input_for(metric: str, rows_used: list[int], parts: list[str]) -> str:
    """The input an API problem at `critical_policies.<k>.<field>` of `metric` belongs to."""
    if len(parts) >= 2 and parts[0].isdigit() and int(parts[0]) < len(rows_used):
        part = "margin" if parts[1] in ("margin", "relative") else "policy"
        return key(metric, rows_used[int(parts[0])], part)
    return key(metric)
