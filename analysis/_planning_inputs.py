"""Input checks of `analysis.planning.plan_pilot`, and the unit scale it computes on.

Each check raises a ValueError whose first word is the offending parameter, so callers (`pilots.planning.service`) can
name it in a 422.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.variance_components import VarianceComponents


def arms_iv(units_per_arm, total_units, weights) -> tuple[int, ...]:
    if units_per_arm is not None:
        arms = tuple(int(u) for u in units_per_arm)
        if len(arms) < 2 or min(arms) < 1:
            raise ValueError(f"units_per_arm must give at least two arms one unit each, got {arms}")
        return arms
    if total_units is None:
        raise ValueError("units_per_arm or total_units must be given")
    w = np.asarray((0.5, 0.5) if weights is None else weights, dtype=float)
    if w.size < 2 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must have at least two positive entries")
    w = w / w.max()  # the sum of huge weights would overflow
    arms = tuple(int(k) for k in np.floor(total_units * (w / w.sum())).astype(int))
    if min(arms) < 1:
        raise ValueError(f"total_units is too few to give every arm a unit at these weights, got {arms}")
    return arms


def components_iv(variance, icc, baseline) -> VarianceComponents:
    if variance is not None:
        between, within = variance.between, variance.within
        if not (math.isfinite(between) and math.isfinite(within) and between + within > 0):
            raise ValueError(
                f"variance components must be finite with a positive total, got between={between}, within={within}"
            )
        return variance
    if icc is None:
        raise ValueError("variance components or an ICC must be given")
    if not 0.0 < baseline < 1.0:
        raise ValueError("baseline must be a proportion in (0, 1) to use an ICC alone; give variance components")
    return VarianceComponents.from_icc(icc, baseline * (1.0 - baseline))


def unit_scale(components: VarianceComponents) -> tuple[VarianceComponents, float]:
    """Components divided by their larger part, and that scale: variances are linear in the components, so the
    design is computed on the unit scale and only the MDE is scaled back (no overflow or underflow at extremes)."""
    scale = max(components.between, components.within)
    return VarianceComponents(components.between / scale, components.within / scale), scale
