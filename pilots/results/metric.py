"""One metric of one pilot: arm summaries, the treatment-vs-control estimate at every look, and its JSON form.

The estimate at a look is the CUPED-adjusted difference (`analysis.cuped.cuped_compare`, pre-period audits of the same
metric as the covariate) when the pilot has pre-period data, else the delta-method difference
(`analysis.ratio.compare`), both on cumulative per-unit sums from the day the pilot started through the look. The
raw (unadjusted, fixed-horizon) comparison at `data_through` is always reported next to it, with the variance
reduction CUPED achieved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.cuped import AdjustedDifference, UnitArrays, cuped_compare
from analysis.cuped_series import CupedSeries, SeriesArrays, cuped_series, look_blocks
from analysis.ratio import Difference, RatioStats, compare
from pilots.catalog import MetricDefinition
from pilots.results.loader import Panel
from pilots.results.looks import InformationPlan
from pilots.results.sequential import LookSeries, SequentialOutcome


@dataclass
class Comparison:
    """One treatment arm against control on one metric: inputs of the sequential test and, later, its outcome."""

    metric: str
    role: str
    arm: str
    definition: MetricDefinition
    now: AdjustedDifference | None
    series: LookSeries
    plan: InformationPlan
    alpha: float = 0.05
    outcome: SequentialOutcome | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.definition.label


def unit_arrays(panel: Panel, definition: MetricDefinition, mask: np.ndarray, through: int) -> UnitArrays:
    """Per-unit cumulative sums through day `through` and pre-period sums of one arm."""
    return UnitArrays(
        panel.cumulative(definition.numerator, through)[mask],
        panel.cumulative(definition.denominator, through)[mask],
        panel.pre_column(definition.numerator)[mask],
        panel.pre_column(definition.denominator)[mask],
    )


def estimate(
    panel: Panel, definition: MetricDefinition, control: np.ndarray, treatment: np.ndarray, through: int, alpha: float
) -> AdjustedDifference:
    """Raw and (with a pre-period) CUPED-adjusted difference through day `through`."""
    c = unit_arrays(panel, definition, control, through)
    t = unit_arrays(panel, definition, treatment, through)
    if panel.has_pre_period:
        return cuped_compare(c, t, alpha)
    raw = compare(RatioStats.from_units(c.y, c.x), RatioStats.from_units(t.y, t.x), alpha)
    return AdjustedDifference(raw, raw, 0.0, 0.0, "no_pre_period")


def look_series(
    panel: Panel,
    definition: MetricDefinition,
    control: np.ndarray,
    treatment: np.ndarray,
    days: tuple[int, ...],
    alpha: float,
) -> LookSeries:
    """The adjusted difference at each look day (looks without a usable estimate are left out).

    A block of looks at a time (`analysis.cuped_series`, `look_blocks`), equal look by look to
    `estimate(...).adjusted`; without a pre-period the covariate is all zeros, which gives the raw comparison as
    `estimate` does."""
    if not days:
        return LookSeries()
    if panel.has_pre_period:
        pre_y, pre_x = panel.pre_column(definition.numerator), panel.pre_column(definition.denominator)
    else:
        pre_y = pre_x = np.zeros(panel.units.size)
    pre = (pre_y[control], pre_x[control]), (pre_y[treatment], pre_x[treatment])
    parts = []
    for block in look_blocks(len(days)):  # units x (a few looks) at a time: the same numbers, a fraction of the memory
        y = panel.cumulative_at(definition.numerator, days[block])
        x = panel.cumulative_at(definition.denominator, days[block])
        parts.append(
            cuped_series(
                SeriesArrays.of(y[control], x[control], *pre[0]),
                SeriesArrays.of(y[treatment], x[treatment], *pre[1]),
                alpha,
            )
        )
    series = CupedSeries.concatenate(parts)
    keep = np.flatnonzero(series.usable())
    if not keep.size:
        return LookSeries()
    df = np.where(np.isfinite(series.df[keep]), series.df[keep], 1e6)
    return LookSeries(
        tuple(days[i] for i in keep),
        tuple(series.difference[keep].tolist()),
        tuple((series.se[keep] ** 2).tolist()),
        tuple(df.tolist()),
    )


def arm_summary(panel: Panel, definition: MetricDefinition, arms: tuple[str, ...], through: int | None):
    """Per arm: units with at least one audit of this metric, audits, and the ratio mean (None without audits)."""
    rows = []
    for arm in arms:
        mask = panel.units.arms == arm
        if through is None:
            rows.append({"arm": arm, "units": 0, "audits": 0, "mean": None})
            continue
        x = panel.cumulative(definition.denominator, through)[mask]
        y = panel.cumulative(definition.numerator, through)[mask]
        audits = float(x.sum())
        rows.append(
            {
                "arm": arm,
                "units": int((x > 0).sum()),
                "audits": int(audits),
                "mean": float(y.sum() / audits) if audits > 0 else None,
            }
        )
    return rows


def interval(low: float, high: float) -> list[float | None]:
    return [finite(low), finite(high)]


def finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def difference_json(difference: Difference) -> dict[str, Any]:
    """A fixed-horizon comparison as JSON (nulls where undefined, with the reason)."""
    return {
        "difference": finite(difference.difference),
        "ci": interval(difference.ci.low, difference.ci.high),
        "se": finite(difference.se),
        "df": finite(difference.df),
        "relative": finite(difference.relative),
        "relative_ci": interval(difference.relative_ci.low, difference.relative_ci.high),
        "p_value": finite(difference.p_value),
        "reason": difference.reason,
        "message": difference.message or None,
    }


def design_relative(adjusted: Difference, outcome: SequentialOutcome) -> tuple[float | None, list[float | None]]:
    """Relative lift and its design-valid interval: ``relative +- m * relative_se`` where ``m`` is the design
    interval's half-width in standard errors (ratio form of the delta method)."""
    if adjusted.control_mean == 0 or not math.isfinite(adjusted.relative_se) or outcome.se <= 0:
        return None, [None, None]
    relative = outcome.difference / adjusted.control_mean
    multiplier = (outcome.high - outcome.low) / (2 * outcome.se)
    half = multiplier * adjusted.relative_se
    return finite(relative), interval(relative - half, relative + half)
