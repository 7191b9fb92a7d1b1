"""Root finding seeded by a neighbour's answer: secant steps that start from a guess and a slope.

A plan evaluates the same design at 52 weekly horizons, and each horizon's root (the calibrated nominal level, the
drift for the target power) moves by about 1e-4 from the week before. Brent's method from a bracket around the guess
spends five to six numerical integrations on each root; secant steps started with the previous week's slope reach
the same root (to the same ``xtol``) in three. Whenever the steps leave the bracket or fail to settle, the caller
falls back to Brent's method, so the answer never depends on the hint being good.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RootHint:
    """A neighbouring problem's root and the slope of the function there."""

    x: float
    slope: float


def seeded_root(
    function: Callable[[float], float],
    hint: RootHint | None,
    low: float,
    high: float,
    xtol: float,
    max_steps: int = 8,
) -> RootHint | None:
    """The root of the smooth, monotone ``function`` near ``hint.x`` and the secant slope there.

    Returns None (use a bracketing method instead) without a usable hint, when a step leaves ``(low, high)`` or
    when ``max_steps`` steps do not bring the step size under ``xtol``. Secant steps converge superlinearly, so
    once a step is under ``xtol`` the root is closer than ``xtol`` to the returned point.
    """
    if hint is None or not (low < hint.x < high) or not (math.isfinite(hint.slope) and hint.slope != 0):
        return None
    x0 = hint.x
    f0 = function(x0)
    slope = hint.slope
    if f0 == 0:
        return RootHint(x0, slope)
    x1 = x0 - f0 / slope
    for _ in range(max_steps):
        if not (low < x1 < high):
            return None
        f1 = function(x1)
        if f1 == 0:
            return RootHint(x1, slope)
        if f1 == f0 or not math.isfinite(f1):
            return None
        slope = (f1 - f0) / (x1 - x0)
        step = f1 / slope
        x0, f0, x1 = x1, f1, x1 - step
        if abs(step) < xtol:
            return RootHint(x1, slope) if low < x1 < high else None
    return None
