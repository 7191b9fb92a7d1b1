"""Descriptive breakdowns: effects per segment (site, language, tenure band) and by week since launch.

Both use fixed-horizon intervals at the pilot's alpha and are labelled descriptive: they are for seeing where and
when an effect lives, not for decisions (the verdict comes only from the registered sequential test).

* Segments come from the roster (a team's modal site and language and its mean tenure). Each level compares arms on
  cumulative sums through data_through (`analysis.segments.segment_effects`), with Cochran's Q for heterogeneity and
  the cherry-picking warning.
* Weeks since launch use each week's own audits (days 7(w-1) .. 7w-1), so a training effect that ramps up or a tool
  effect that fades shows as a trend rather than being averaged away.
"""

from __future__ import annotations

import math
import weakref
from datetime import timedelta
from typing import Any

import numpy as np

from analysis.ratio import RatioStats, compare
from analysis.segments import CHERRY_PICKING_WARNING, Heterogeneity, segment_effects
from pilots.assignment.strata import band
from pilots.catalog import MetricDefinition
from pilots.results.loader import Panel
from pilots.results.metric import finite, interval
from pilots.results.units import Units

SEGMENTS = ("site", "language", "tenure_band")
DESCRIPTIVE = "descriptive: fixed-horizon interval, not for decisions"


def segment_labels(panel: Panel, name: str) -> np.ndarray:
    if name == "tenure_band":
        tenure = panel.units.attributes["tenure_months"]
        values, inverse = np.unique(tenure, return_inverse=True)  # a roster has few distinct tenures
        labels = np.array([band("tenure_months", v) if math.isfinite(v) else "" for v in values], dtype=object)
        return labels[inverse.reshape(-1)]
    return panel.units.attributes[name]


# The levels of each segment attribute per `Units` (the same for every metric and for the panels cut from one load).
_LEVELS: weakref.WeakKeyDictionary[Units, dict[str, list[tuple[str, np.ndarray]]]] = weakref.WeakKeyDictionary()


def segment_levels(panel: Panel, name: str) -> list[tuple[str, np.ndarray]]:
    """`_levels(segment_labels(panel, name))`, computed once per units (the masks are read, never written)."""
    known = _LEVELS.setdefault(panel.units, {})
    if name not in known:
        known[name] = _levels(segment_labels(panel, name))
    return known[name]


def _levels(labels: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Each non-empty level (sorted) with its mask over units; one pass over the labels, not one per level."""
    distinct, inverse = np.unique(labels.astype(str), return_inverse=True)
    inverse = inverse.reshape(-1)
    truthy = {str(v) for v in labels if v}
    return [(level, inverse == k) for k, level in enumerate(distinct.tolist()) if level in truthy]


def segments(
    panel: Panel, definition: MetricDefinition, control: str, treatments: tuple[str, ...], now: int, alpha: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-segment effects and one heterogeneity test per segment attribute and arm."""
    y = panel.cumulative(definition.numerator, now)
    x = panel.cumulative(definition.denominator, now)
    arms = panel.units.arms
    in_control = arms == control
    rows, tests = [], []
    for name in SEGMENTS:
        levels = segment_levels(panel, name)
        if len(levels) < 2:
            continue
        for arm in treatments:
            in_arm = arms == arm
            stats_by_level = {}
            for level, in_level in levels:
                c, t = in_level & in_control, in_level & in_arm
                stats_by_level[level] = (RatioStats.from_units(y[c], x[c]), RatioStats.from_units(y[t], x[t]))
            analysis = segment_effects(stats_by_level, name, alpha)
            for effect in analysis.effects:
                control_stats, treatment_stats = stats_by_level[effect.level]
                d = effect.difference
                rows.append(
                    {
                        "segment": name,
                        "level": effect.level,
                        "arm": arm,
                        "difference": finite(d.difference),
                        "ci": interval(d.ci.low, d.ci.high),
                        "p_value": finite(d.p_value),
                        "units": control_stats.n + treatment_stats.n,
                        "reason": d.reason,
                    }
                )
            tests.append(heterogeneity_json(analysis.heterogeneity, segment=name, arm=arm))
    return rows, tests


def heterogeneity_json(het: Heterogeneity, **labels: Any) -> dict[str, Any]:
    """Cochran's Q test as JSON, after the `labels` that say which cells it compares."""
    return {
        **labels,
        "q": finite(het.q),
        "df": het.df,
        "p_value": finite(het.p_value),
        "i_squared": finite(het.i_squared),
        "reason": het.reason,
    }


def by_week(
    panel: Panel, definition: MetricDefinition, control: str, treatments: tuple[str, ...], now: int, alpha: float
) -> list[dict[str, Any]]:
    """The effect within each week since launch (the current week may be partial)."""
    arms = panel.units.arms
    in_control = arms == control
    in_arm = {arm: arms == arm for arm in treatments}
    numerators, denominators = panel.weeks(definition.numerator, now), panel.weeks(definition.denominator, now)
    out = []
    for week, (y, x) in enumerate(zip(numerators, denominators, strict=True), start=1):
        first, last = 7 * (week - 1), min(7 * week - 1, now)
        c_stats = RatioStats.from_units(y[in_control], x[in_control])
        for arm in treatments:
            d = compare(c_stats, RatioStats.from_units(y[in_arm[arm]], x[in_arm[arm]]), alpha)
            out.append(
                {
                    "week": week,
                    "arm": arm,
                    "start": (panel.start_date + timedelta(days=first)).isoformat(),
                    "end": (panel.start_date + timedelta(days=last)).isoformat(),
                    "complete": last - first == 6,
                    "difference": finite(d.difference),
                    "ci": interval(d.ci.low, d.ci.high),
                    "p_value": finite(d.p_value),
                    "reason": d.reason,
                    "label": DESCRIPTIVE,
                }
            )
    return out


WARNING = CHERRY_PICKING_WARNING
