"""One metric of one pilot: arm summaries, the treatment-vs-control estimate at every look, and its JSON form.

The estimate at a look is the CUPED-adjusted difference (`analysis.cuped.cuped_compare`, pre-period audits of the same
metric as the covariate) when the pilot has pre-period data, else the delta-method difference
(`analysis.ratio.compare`), both on cumulative per-unit sums from the day the pilot started through the look. The
raw (unadjusted, fixed-horizon) comparison at `data_through` is always reported next to it, with the variance
reduction CUPED achieved.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.cuped import AdjustedDifference, UnitArrays, cuped_compare
from analysis.cuped_series import SeriesArrays, cuped_series, look_blocks
from analysis.ratio import Difference, RatioStats, compare
from pilots.catalog import MetricDefinition
from pilots.memo import Memo
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
    `estimate` does.

    Each look's figures depend only on its inputs (both arms' units in order, their sums through the look and
    pre-period sums, alpha), and are the same in any block of two looks or more; so they are kept per process by a
    digest of those inputs (`LOOKS`) and only the looks whose inputs are new are computed: a past look is computed
    once until late audits change its sums. A single new look is computed beside another, never alone. The digest
    covers the two arms' masks and every unit's sums (which determine both arms' inputs), so no arm's values are
    copied out to hash them."""
    if not days:
        return LookSeries()
    numerator, denominator = definition.numerator, definition.denominator
    if panel.has_pre_period:
        pre_y, pre_x = panel.pre_column(numerator), panel.pre_column(denominator)
    else:
        pre_y = pre_x = np.zeros(panel.units.size)
    pre = (pre_y[control], pre_x[control]), (pre_y[treatment], pre_x[treatment])
    common = hashlib.sha256(struct.pack("<dq", alpha, panel.units.size))  # SHA-256: hardware-assisted on x86
    masks = (np.asarray(control, dtype=bool), np.asarray(treatment, dtype=bool))  # boolean masks over the units
    for part in (*masks, pre_y, pre_x):  # which units are in each arm, and every unit's pre-period sums
        common.update(np.ascontiguousarray(part).data)
    keys = []
    for block in look_blocks(len(days)):  # units x (a few looks) at a time: the same numbers, a fraction of the memory
        y, x = (np.ascontiguousarray(panel.cumulative_at(name, days[block]).T) for name in (numerator, denominator))
        for j in range(len(days[block])):
            digest = common.copy()
            digest.update(y[j].data)
            digest.update(x[j].data)
            keys.append(digest.digest())
    found = LOOKS.get_many(keys)
    missing = [k for k, value in enumerate(found) if value is None]
    if missing:
        computed = _compute_looks(panel, definition, control, treatment, days, alpha, pre, missing)
        for k, value in zip(missing, computed, strict=True):
            found[k] = value
        LOOKS.put_many([keys[k] for k in missing], computed)
    keep = [k for k, value in enumerate(found) if value[0]]
    if not keep:
        return LookSeries()
    return LookSeries(
        tuple(days[k] for k in keep),
        tuple(found[k][1] for k in keep),
        tuple(found[k][2] for k in keep),
        tuple(found[k][3] for k in keep),
    )


Look = tuple[bool, float, float, float]  # usable, difference, variance, df (as `LookSeries` keeps them)


def _compute_looks(panel, definition, control, treatment, days, alpha, pre, wanted: list[int]) -> list[Look]:
    """The figures of the looks `wanted` (indexes into `days`), computed in blocks of two looks or more (a lone
    look is computed beside another), which give each look the numbers of `look_blocks`' blocks."""
    others = [k for k in range(len(days)) if k not in set(wanted)]
    out: dict[int, Look] = {}
    for block in look_blocks(len(wanted)):
        chosen = wanted[block]
        if len(chosen) == 1 and others:
            chosen = [*chosen, others[0]]
        looks = tuple(days[k] for k in chosen)
        y = panel.cumulative_at(definition.numerator, looks)
        x = panel.cumulative_at(definition.denominator, looks)
        series = cuped_series(
            SeriesArrays.of(y[control], x[control], *pre[0]),
            SeriesArrays.of(y[treatment], x[treatment], *pre[1]),
            alpha,
        )
        usable = series.usable()
        df = np.where(np.isfinite(series.df), series.df, 1e6)
        variance = series.se**2
        for j, k in enumerate(chosen):
            out[k] = (bool(usable[j]), float(series.difference[j]), float(variance[j]), float(df[j]))
    return [out[k] for k in wanted]


LOOKS: Memo[bytes, Look] = Memo(100_000)  # about 200 bytes a look: 20 MB at most per process


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
