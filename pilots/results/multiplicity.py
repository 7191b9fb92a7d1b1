"""Levels for several arms and several primary metrics, applied to the sequential tests (METHODS.md section 5).

* Several treatment arms against one control: Bonferroni, each arm's comparisons at ``alpha / (arms - 1)``.
  (Dunnett's adjustment assumes one fixed-horizon look; with sequential looks the Bonferroni split is the simple
  valid choice.)
* Several primary metrics: Holm's step-down applied to the sequential tests. Within an arm, every primary is first
  tested at ``alpha_arm / m``; each one that crosses its boundary is rejected and the others are re-tested at
  ``alpha_arm / (m - rejected)``, until no more cross. This is the sequentially rejective procedure for group
  sequential and always-valid tests (Holm 1979; Tamhane, Mehta and Liu 2010, Biometrics 66(4)), and reduces to
  Holm's adjusted p-values when the tests are fixed-horizon.
* Guardrails are non-inferiority tests that must all pass (an intersection-union test), so they need no adjustment
  across metrics; they use the arm's level. Secondary metrics use the arm's level and are labelled unadjusted.
"""

from __future__ import annotations

from collections.abc import Sequence

from pilots.results import sequential
from pilots.results.metric import Comparison

PRIMARY_NOTE = "Holm step-down across {m} primary metrics, applied to the sequential boundaries."
ARMS_NOTE = "Bonferroni: each of {n} treatment arms is compared with control at alpha {level:.4g}."


def arm_level(alpha: float, treatments: int) -> float:
    return alpha / max(1, treatments)


def run_all(
    comparisons: Sequence[Comparison],
    method: str,
    spending: str,
    alpha: float,
    treatments: int,
    *,
    final: bool,
    futility_beta: float | None = None,
) -> dict[str, object]:
    """Run every comparison's sequential test at its level (Holm for primaries); return the multiplicity summary.

    `futility_beta` (the design's 1 - power, when it has futility bounds) adds non-binding futility bounds to the
    primaries' tests; a futility stop is not a rejection, so it never frees alpha for Holm's step-down."""
    level = arm_level(alpha, treatments)
    for comparison in comparisons:
        if comparison.role != "primary":
            _run(comparison, method, spending, level, final, None)
    arms = sorted({c.arm for c in comparisons})
    primaries = [c for c in comparisons if c.role == "primary"]
    for arm in arms:
        _holm([c for c in primaries if c.arm == arm], method, spending, level, final, futility_beta)
    m = len({c.metric for c in primaries})
    return {
        "alpha": alpha,
        "alpha_per_arm": level,
        "arms": "bonferroni" if treatments > 1 else "none",
        "arms_note": ARMS_NOTE.format(n=treatments, level=level) if treatments > 1 else None,
        "primaries": "holm" if m > 1 else "none",
        "primaries_note": PRIMARY_NOTE.format(m=m) if m > 1 else None,
        "guardrails": "non-inferiority at the arm level (all must pass; no adjustment needed)",
        "secondaries": "unadjusted (descriptive)",
    }


def _run(
    comparison: Comparison, method: str, spending: str, level: float, final: bool, futility_beta: float | None
) -> bool:
    comparison.alpha = level
    futility = None
    if futility_beta is not None:
        futility = sequential.Futility(futility_beta, comparison.definition.higher_is_better)
    comparison.outcome = sequential.run(
        method, comparison.series, comparison.plan, level, spending, final=final, futility=futility
    )
    return comparison.outcome is not None and comparison.outcome.rejected


def _holm(
    primaries: list[Comparison], method: str, spending: str, level: float, final: bool, futility_beta: float | None
) -> None:
    rejected: set[int] = set()
    while True:
        remaining = [k for k in range(len(primaries)) if k not in rejected]
        if not remaining:
            return
        current = level / len(remaining)
        newly = {k for k in remaining if _run(primaries[k], method, spending, current, final, futility_beta)}
        if not newly:
            return
        rejected |= newly
