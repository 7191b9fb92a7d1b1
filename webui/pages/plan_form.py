"""The pilot plan as a web form: raw values in, an API request body out, the API's messages back next to each field.

The form holds every value exactly as typed (so nothing is lost when the page comes back with errors). `body()`
turns it into the JSON body `POST /pilots` and `PATCH /pilots/{id}` take; the API's pydantic models validate it and
`add_problems` places each `{field, message}` they report (`arms.1.weight`, `metrics.0.margin`, `design.alpha`) next to
the input it came from. Guardrail margins are typed in the metric's own unit (points for rates, seconds for handle
time, or percent of the control value) and converted here, once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pilots.catalog import METRIC_NAMES, METRICS
from pilots.models import Pilot
from pilots.schemas.pilot import MAX_ARMS, Design, display_name_of
from webui.figures.scale import scale_for
from webui.pages import critical_form
from webui.pages.form_state import FormState

KINDS = (("tool", "A new tool"), ("training", "A training method"))
UNITS = (("moderator", "Moderators (each one randomized)"), ("team", "Whole teams (randomized together)"))
ROLES = (
    ("", "Not measured"),
    ("primary", "Primary: decides the verdict"),
    ("guardrail", "Guardrail: must not get worse"),
    ("secondary", "Secondary: for context"),
)
METHODS = (
    ("group_sequential", "Group sequential: planned reviews"),
    ("always_valid", "Always valid: read it any day"),
)
SPENDINGS = (("obrien_fleming", "O'Brien-Fleming: strict early"), ("pocock", "Pocock: even"))
MARGIN_KINDS = (("absolute", "in the metric's unit"), ("relative", "% of the control group's value"))

# One line on each design choice, shown under its input.
DESIGN_HELP = {
    "method": "Group sequential checks the data at a few planned reviews; always valid lets you read the verdict any "
    "day at the price of some power.",
    "alpha": "The false-go rate: the chance of a Go when the change does nothing (0.05 is usual).",
    "power": "The chance of a Go when the change works as well as the effect the pilot is sized for (0.8 is usual).",
    "looks": "Group sequential only: how many reviews, equally spaced from start to end (the last one included).",
    "spending": "Group sequential only: O'Brien-Fleming keeps early reviews strict so the final one keeps its power.",
    "min_days": "No verdict before this many days of treatment, whatever the numbers say (first-week effects fade).",
    "futility": "Group sequential only: also stop early with No-go once the hoped-for improvement has become unlikely "
    "(costs a few points of power).",
}
DESIGN_FIELDS = ("method", "alpha", "power", "looks", "spending", "min_days", "futility")
INTEGERS = {"looks", "min_days"}
MIN_ARM_ROWS = 3
ARM_PARTS = ("name", "display_name", "weight")


def margin_unit(metric: str) -> str:
    """The unit a guardrail margin on `metric` is typed in when it is absolute: points, seconds..."""
    return scale_for({"name": metric}).change_unit or METRICS[metric].unit_of_measure


@dataclass
class PlanForm(FormState):
    """The typed values (`values[name]` as strings) and the problems found (`errors[name]`, `general`)."""

    arm_rows: int = MIN_ARM_ROWS
    _arm_row_of: list[int] = field(default_factory=list)
    _metric_of: list[str] = field(default_factory=list)
    _critical_rows: dict[str, list[int]] = field(default_factory=dict)

    # --- building -----------------------------------------------------------------------------------------------

    @classmethod
    def blank(cls, today: date) -> PlanForm:
        """A new plan: two arms 1:1, accuracy as the primary metric, the default design, six weeks from next week."""
        start = today + timedelta(days=7)
        design = Design()
        values = {
            "kind": "tool",
            "unit": "moderator",
            "arms-0-name": "control",
            "arms-0-display_name": "Control",
            "arms-0-weight": "1",
            "arms-1-name": "treatment",
            "arms-1-display_name": "Treatment",
            "arms-1-weight": "1",
            "strata": "site",
            "metric-accuracy-role": "primary",
            **{f"design-{name}": _text(getattr(design, name)) for name in DESIGN_FIELDS},
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=42)).isoformat(),
            "pre_period_start": (start - timedelta(days=28)).isoformat(),
        }
        return cls(values=values, arm_rows=MIN_ARM_ROWS)

    @classmethod
    def from_pilot(cls, pilot: Pilot) -> PlanForm:
        """The stored plan of a draft, in the form's units."""
        values = {
            "name": pilot.name,
            "kind": pilot.kind,
            "hypothesis": pilot.hypothesis or "",
            "layer": pilot.layer or "",
            "unit": pilot.unit,
            "strata": ", ".join(pilot.strata or []),
            "start_date": pilot.start_date.isoformat(),
            "end_date": pilot.end_date.isoformat(),
            "pre_period_start": pilot.pre_period_start.isoformat() if pilot.pre_period_start else "",
        }
        for index, arm in enumerate(pilot.arms):
            values[f"arms-{index}-name"] = arm["name"]
            values[f"arms-{index}-display_name"] = arm.get("display_name") or display_name_of(arm["name"])
            values[f"arms-{index}-weight"] = str(arm.get("weight", 1))
        for spec in pilot.metrics:
            name = spec["name"]
            values[f"metric-{name}-role"] = spec.get("role", "primary")
            if spec.get("margin") is not None:
                relative = bool(spec.get("relative"))
                values[f"metric-{name}-margin_kind"] = "relative" if relative else "absolute"
                factor = 100.0 if relative else scale_for({"name": name}).factor
                values[f"metric-{name}-margin"] = _text(round(spec["margin"] * factor, 9))
            values.update(critical_form.values_of(name, spec))
        design = {**Design().model_dump(), **(pilot.design or {})}
        for name in DESIGN_FIELDS:
            values[f"design-{name}"] = _text(design[name])
        return cls(values=values, arm_rows=_arm_rows(len(pilot.arms)))

    @classmethod
    def from_request(cls, form: Mapping[str, str]) -> PlanForm:
        """What was submitted, as typed (unknown keys are ignored)."""
        values = {key: str(value) for key, value in form.items() if key != "csrf_token"}
        values["design-futility"] = "true" if form.get("design-futility") else "false"
        filled = [i for i in range(MAX_ARMS) if any(values.get(f"arms-{i}-{part}", "").strip() for part in ARM_PARTS)]
        return cls(values=values, arm_rows=_arm_rows(max(filled, default=-1) + 1))

    # --- reading --------------------------------------------------------------------------------------------------

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The catalog, one row per metric, for the template (with its critical-policy rows)."""
        return [
            {
                "name": name,
                "label": METRICS[name].label,
                "unit": margin_unit(name),
                "better": METRICS[name].direction,
                "critical_rows": critical_form.rows(self, name),
                "critical_count": critical_form.registered(self, name),
                "critical_open": critical_form.is_open(self, name),
            }
            for name in METRIC_NAMES
        ]

    def body(self) -> dict[str, Any]:
        """The API request body. Numbers that do not parse stay strings (the API then names them) and get a message
        of their own here."""
        self._arm_row_of, self._metric_of, self._critical_rows = [], [], {}
        body: dict[str, Any] = {
            "name": self.get("name").strip(),
            "kind": self.get("kind"),
            "hypothesis": self.get("hypothesis").strip(),
            "layer": self.get("layer").strip() or None,
            "unit": self.get("unit"),
            "strata": [part.strip() for part in self.get("strata").replace(";", ",").split(",") if part.strip()],
            "arms": self._arms(),
            "metrics": self._metrics(),
            "design": self._design(),
            "start_date": self.get("start_date").strip(),
            "end_date": self.get("end_date").strip(),
            "pre_period_start": self.get("pre_period_start").strip() or None,
        }
        return body

    def _arms(self) -> list[dict[str, Any]]:
        arms = []
        for row in range(MAX_ARMS):
            name = self.get(f"arms-{row}-name").strip()
            if not name:
                if any(self.get(f"arms-{row}-{part}").strip() for part in ARM_PARTS):
                    self.add(f"arms-{row}-name", "is required for a group with a display name or a weight")
                continue
            self._arm_row_of.append(row)
            display = self.get(f"arms-{row}-display_name").strip()
            arms.append(
                {
                    "name": name,
                    "weight": self._number(f"arms-{row}-weight", integer=True, default=1),
                    "display_name": display or None,
                }
            )
        return arms

    def _metrics(self) -> list[dict[str, Any]]:
        metrics = []
        for name in METRIC_NAMES:
            role = self.get(f"metric-{name}-role")
            if not role:
                if critical_form.registered(self, name):
                    self.add(critical_form.key(name), "pick a role for this metric to register critical policies")
                continue
            self._metric_of.append(name)
            spec: dict[str, Any] = {"name": name, "role": role}
            margin = self._number(f"metric-{name}-margin")
            if margin is not None:
                relative = self.get(f"metric-{name}-margin_kind") == "relative"
                factor = 100.0 if relative else scale_for({"name": name}).factor
                spec["margin"] = margin / factor if isinstance(margin, float) else margin
                spec["relative"] = relative
            spec["critical_policies"], self._critical_rows[name] = critical_form.read(self, name, self._number)
            metrics.append(spec)
        return metrics

    def _design(self) -> dict[str, Any]:
        design: dict[str, Any] = {
            "method": self.get("design-method"),
            "spending": self.get("design-spending"),
            "futility": self.get("design-futility") == "true",
        }
        for name in ("alpha", "power", "looks", "min_days"):
            design[name] = self._number(f"design-{name}", integer=name in INTEGERS)
        return {key: value for key, value in design.items() if value is not None}

    def _number(self, name: str, *, integer: bool = False, default: Any = None) -> Any:
        raw = self.get(name).strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.add(name, "must be a number")
            return raw
        if not math.isfinite(value):
            self.add(name, "must be a finite number")
            return raw
        if integer:
            if value != int(value):
                self.add(name, "must be a whole number")
                return raw
            return int(value)
        return value

    # --- problems -------------------------------------------------------------------------------------------------

    def add_problems(self, problems: list[dict[str, Any]]) -> None:
        """Place the API's `{field, message}` problems next to their inputs (after `body()` was built)."""
        for item in problems:
            name = self.input_for(item.get("field") or "")
            if name is None:
                self.general.append(item.get("message", "is invalid"))
            elif name not in self.errors or name in ("metrics", "arms", "strata"):
                # A number the form already rejected keeps its own message rather than the model's.
                self.add(name, _readable(item.get("message", "is invalid")))

    def input_for(self, path: str) -> str | None:
        """The form input an API field path belongs to (None for problems about the whole body)."""
        parts = path.split(".")
        head = parts[0]
        if head in ("name", "kind", "hypothesis", "layer", "unit", "start_date", "end_date", "pre_period_start"):
            return head
        if head == "strata":
            return "strata"
        if head == "design" and len(parts) > 1:
            return f"design-{parts[1]}"
        if head == "arms":
            if len(parts) > 2 and parts[1].isdigit() and int(parts[1]) < len(self._arm_row_of):
                part = parts[2] if parts[2] in ("weight", "display_name") else "name"
                return f"arms-{self._arm_row_of[int(parts[1])]}-{part}"
            return "arms"
        if head == "metrics":
            if len(parts) > 2 and parts[1].isdigit() and int(parts[1]) < len(self._metric_of):
                metric = self._metric_of[int(parts[1])]
                if parts[2] == "critical_policies":
                    return critical_form.input_for(metric, self._critical_rows.get(metric, []), parts[3:])
                return f"metric-{metric}-{'margin' if parts[2] in ('margin', 'relative') else 'role'}"
            return "metrics"
        return None


def _readable(message: str) -> str:
    """The models' messages read as sentences on a form ("Input should be..." -> "should be...")."""
    if message == "String should have at least 1 character":
        return "is required"
    for prefix in ("Value error, ", "Input "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def _arm_rows(filled: int) -> int:
    return min(MAX_ARMS, max(MIN_ARM_ROWS, filled + 1))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
