"""How a metric's raw values are shown: rates as percentages (differences in points), times in seconds.

The results document carries raw values (a rate of 0.921, a difference of 0.014). People read "92.1%" and
"+1.4 points", so every figure and sentence goes through one `Scale` chosen per metric.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pilots.catalog import METRICS


@dataclass(frozen=True)
class Scale:
    """Display rules for one metric: multiply by `factor`; `level_unit` follows a mean, `change_unit` a difference."""

    factor: float
    level_unit: str
    change_unit: str
    change_unit_short: str

    def show(self, value: float | None) -> float | None:
        return None if value is None else value * self.factor

    def level(self, value: float, decimals: int = 1) -> str:
        """A mean, e.g. "92.1%" or "312 s"."""
        text = f"{self.show(value):,.{decimals}f}"
        return f"{text}%" if self.level_unit == "%" else f"{text} {self.level_unit}".strip()


RATE = Scale(factor=100.0, level_unit="%", change_unit="points", change_unit_short="pts")
SECONDS = Scale(factor=1.0, level_unit="s", change_unit="seconds", change_unit_short="s")
PLAIN = Scale(factor=1.0, level_unit="", change_unit="", change_unit_short="")


def scale_for(metric: dict[str, Any]) -> Scale:
    """The scale for a results-document metric: from the catalog when the metric is known, else from its values."""
    definition = METRICS.get(metric.get("name", ""))
    if definition is not None:
        if definition.proportion:
            return RATE
        return SECONDS if "second" in definition.unit_of_measure else PLAIN
    means = [arm.get("mean") for arm in metric.get("arms", []) if arm.get("mean") is not None]
    if means and all(0.0 <= m <= 1.0 for m in means):
        return RATE
    return PLAIN


def metric_label(metric: dict[str, Any]) -> str:
    """The metric's human name: the document's label, the catalog's, or the name made readable."""
    if metric.get("label"):
        return metric["label"]
    definition = METRICS.get(metric.get("name", ""))
    if definition is not None:
        return definition.label
    return str(metric.get("name", "metric")).replace("_", " ").capitalize()


def decimals_for(values: Iterable[float | None]) -> int:
    """Enough decimals to tell the given (displayed) values apart, between 0 and 3.

    Rounds to about two significant digits of the spread: an interval from 0.6 to 2.2 gets one decimal, one from
    0.012 to 0.034 gets three, one from 40 to 95 gets none.
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) < 2:
        magnitude = abs(finite[0]) if finite else 1.0
        spread = magnitude if magnitude > 0 else 1.0
    else:
        spread = max(finite) - min(finite)
        if spread == 0:
            spread = max(abs(v) for v in finite) or 1.0
    return int(min(3, max(0, 1 - round(math.log10(spread)))))
