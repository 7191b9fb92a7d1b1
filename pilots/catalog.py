"""The standard metric catalog: what each metric a pilot can register measures and where its numbers come from.

Every metric is a ratio metric per unit (sum over the unit's audits / number of the unit's audits that carry the
field), so each entry names the `Outcome` field it averages and the `UnitDay` rollup columns holding its numerator and
denominator. Results, exports and pages read labels and directions from here rather than repeating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricDefinition:
    """One catalog metric.

    `direction` says which way is better; `proportion` marks metrics bounded in [0, 1] (absolute guardrail margins on
    them must be below 1). `numerator` and `denominator` are `UnitDay` column names; `sum_squares` is the rollup column
    of squared values when the per-audit value is not 0/1 (needed for within-unit variance), else None.
    """

    name: str
    label: str
    outcome_field: str
    direction: Direction
    unit_of_measure: str
    proportion: bool
    numerator: str
    denominator: str
    sum_squares: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.direction == "higher"


METRICS: dict[str, MetricDefinition] = {
    metric.name: metric
    for metric in (
        MetricDefinition(
            name="accuracy",
            label="Accuracy",
            outcome_field="correct",
            direction="higher",
            unit_of_measure="share of audits correct",
            proportion=True,
            numerator="correct",
            denominator="audits",
        ),
        MetricDefinition(
            name="critical_error_rate",
            label="Critical error rate",
            outcome_field="critical",
            direction="lower",
            unit_of_measure="share of audits with a critical error",
            proportion=True,
            numerator="critical",
            denominator="critical_audits",
        ),
        MetricDefinition(
            name="handle_time",
            label="Handle time",
            outcome_field="handle_time_s",
            direction="lower",
            unit_of_measure="seconds per audited decision",
            proportion=False,
            numerator="handle_sum",
            denominator="handle_audits",
            sum_squares="handle_sum2",
        ),
    )
}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def metric(name: str) -> MetricDefinition:
    """The catalog entry for `name`; KeyError names the known metrics when it is not one of them."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; the catalog has {', '.join(METRIC_NAMES)}") from None
