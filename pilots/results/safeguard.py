"""The small-sample safeguard: when a primary crossing also needs the exact randomization test to agree.

The delta-method and CUPED variances are estimated from the units; with few units, team randomization, or audits so
unequal that a few units carry the estimate, they run small. Then the verdict asks a second, exact test: the Welch t
statistic of the raw difference against re-runs of the pilot's own stratified block randomization
(`analysis.permutation.randomization_test`), which needs no distributional assumption. Which pilots need it depends
only on how many audits each unit has, never on the outcomes.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from analysis.permutation import randomization_test
from pilots.assignment.blocks import reassign
from pilots.results.loader import Panel
from pilots.results.metric import Comparison
from pilots.schemas import PilotPlan

FEW_UNITS = 30
PERMUTATIONS = 999


def effective_units(panel: Panel, now: int | None) -> float:
    """Kish's effective number of units, ``(sum x)^2 / sum x^2`` over each unit's audits through ``now``: how many
    equally audited units carry as much information as these unequally audited ones."""
    if now is None:
        return float(panel.units.size)
    x = panel.cumulative("audits", now)
    total = float(x.sum())
    return total * total / float(x @ x) if total > 0 else 0.0


def needs_randomization_test(panel: Panel, unit: str, now: int | None) -> bool:
    """Whether a primary crossing also needs the exact randomization test to agree (the small-sample safeguard).

    Team pilots, pilots under `FEW_UNITS` units, and pilots whose audits are so unequal across units that they carry
    the information of fewer than ``max(FEW_UNITS, units / 2)`` equally audited ones (`effective_units`). The
    delta-method and CUPED variances are then dominated by a few units and run small: in the stress matrix, 5% of
    moderators with ten times the audits took 100-moderator pilots to a false-go rate of 0.038 and a false harm of
    0.040 (1,000 pilots each, level 0.025) with a median of 32 effective units. The rule depends only on how many
    audits each unit has, never on the outcomes, so it cannot be tuned by the results."""
    if unit == "team" or panel.units.size < FEW_UNITS:
        return True
    return effective_units(panel, now) < max(FEW_UNITS, panel.units.size / 2)


def randomization_tests(
    panel: Panel, plan: PilotPlan, comparisons: list[Comparison], now: int | None, control: str
) -> None:
    """The exact randomization test (few units or team randomization), replaying the stratified block procedure:
    for primaries the test of no effect, for guardrails the test of harm beyond the margin (`_guardrail_shift`)."""
    units = panel.units
    seed = plan.seed % (2**32)
    draws = rerandomizations(units.ids, units.strata, tuple(plan.weights.items()), seed, PERMUTATIONS)
    specs = {spec.name: spec for spec in plan.metrics}
    for c in comparisons:
        if c.role not in ("primary", "guardrail") or now is None:
            continue
        y = panel.cumulative(c.definition.numerator, now)
        x = panel.cumulative(c.definition.denominator, now)
        alternative, shift = "two-sided", 0.0
        if c.role == "guardrail":
            shift = _guardrail_shift(c, specs[c.metric].margin, specs[c.metric].relative)
            if shift is None:
                continue
            # Under the sharp null "every treated unit is worse by exactly the margin" the outcomes net of the margin
            # are what they would have been under control, so re-randomizing them is exact for that null.
            y = y - np.where(units.arms == c.arm, shift * x, 0.0)
            alternative = "less" if c.definition.higher_is_better else "greater"
        replay = iter(draws)
        result = randomization_test(
            y,
            x,
            units.arms.astype(str),
            lambda rng, rows=replay: next(rows),
            control=control,
            treatment=c.arm,
            n_resamples=PERMUTATIONS,
            seed=seed,
            statistic="t",
            alternative=alternative,
        )
        c.extra["randomization"] = {
            "p_value": result.p_value if math.isfinite(result.p_value) else None,
            "n_resamples": result.n_resamples,
            "mc_se": result.mc_se if math.isfinite(result.mc_se) else None,
            "reason": result.reason,
            "alternative": alternative,
            "null_difference": shift,
            "note": _PRIMARY_NOTE if c.role == "primary" else _GUARDRAIL_NOTE,
        }


def _guardrail_shift(comparison: Comparison, margin: float | None, relative: bool) -> float | None:
    """The difference at the guardrail's margin on the harmful side (None when the margin is undefined)."""
    if margin is None:
        return None
    control_mean = comparison.now.raw.control_mean if comparison.now is not None else math.nan
    size = margin * abs(control_mean) if relative else margin
    if not math.isfinite(size):
        return None
    return -size if comparison.definition.higher_is_better else size


_PRIMARY_NOTE = (
    "Randomization test: the Welch t statistic of the raw difference through data_through, against "
    f"{PERMUTATIONS} re-runs of the pilot's own stratified block randomization. Exact whatever the "
    "distribution, fixed-horizon (not sequential), reported because the pilot has few, very unequally "
    "audited or team units. Then a crossing either way also needs this test to agree at the design's "
    "alpha: the delta-method and CUPED variances are estimated from few units and run small, the "
    "permutation test does not."
)
_GUARDRAIL_NOTE = (
    "Randomization test of harm beyond the margin: the treated units' outcomes net of the margin, one-sided "
    f"against {PERMUTATIONS} re-runs of the pilot's own stratified block randomization (exact for the sharp null that "
    "every treated unit is worse by exactly the margin). With this few, very unequally audited or team units a "
    "guardrail is declared harmful only when this test also rejects at half the design's alpha."
)


@lru_cache(maxsize=64)
def rerandomizations(
    ids: tuple[str, ...], strata: tuple[str, ...], weights: tuple[tuple[str, int], ...], seed: int, n: int
) -> np.ndarray:
    """The ``n`` re-runs of the pilot's stratified block randomization that the randomization test draws from a
    generator seeded with ``seed``, in order. They depend on the roster and the seed only, so every look (and every
    request) of a pilot reuses them; the test replays them instead of re-running the procedure 999 times a look."""
    rng = np.random.default_rng(seed)
    out = np.array([np.asarray(reassign(ids, strata, dict(weights), rng)) for _ in range(n)])
    out.flags.writeable = False
    return out
