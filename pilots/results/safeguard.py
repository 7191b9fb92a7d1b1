"""The small-sample safeguard: when a crossing also needs the exact randomization test to agree.

The delta-method and CUPED variances are estimated from the units; with few units, team randomization, or audits so
unequal that a few units carry the estimate, they run small. Then the verdict asks a second, exact test: the Welch t
statistic of the raw difference against re-runs of the pilot's own stratified block randomization, which needs no
distributional assumption. Which pilots need it depends only on how many audits each unit has, never on the outcomes.

The second test is read at every review, so it is sequential too (`analysis.sequential_randomization`): its level is
spent over the reviews (the weekly ones of an always-valid pilot, the planned looks of a group-sequential one) by the
design's spending function at the reviews' share of the planned days (Pocock-type for always-valid pilots), and its
boundaries come from the same re-randomizations' paths. Each review reads the data through its day once they have
settled (`SETTLE_DAYS` later; the final review at the end), so reading the results every day re-reads the same
numbers instead of taking a new chance each day. A fixed-horizon test asked again every day until it agreed confirmed
false crossings of 20-team always-valid pilots with late audits in 0.043 (go) and 0.060 (harm) of null pilots at a
level of 0.025; the sequential one cannot exceed its level, however often the results are read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache

import numpy as np

from analysis.permutation import randomization_test, welch_t_statistics
from analysis.sequential_randomization import sequential_randomization_test
from analysis.spending import pocock, resolve
from pilots.assignment.blocks import reassign
from pilots.planning.notes import SPENDING
from pilots.results import looks
from pilots.results.loader import Panel
from pilots.results.metric import Comparison
from pilots.schemas import PilotPlan

FEW_UNITS = 30
PERMUTATIONS = 999
REVIEW_EVERY = 7
"""Days between the reviews of an always-valid pilot at which the randomization test is read (and its level spent)."""
SETTLE_DAYS = 7
"""Days after a review before the randomization test reads it: QA audits of a day are taken as complete a week later
(the stress matrix's outcome delays reach a week). Read earlier, a review's statistic would change as late audits
arrive, and every reading would be another chance to cross."""


def review_days(method: str, look_days: Sequence[int]) -> tuple[int, ...]:
    """The looks at which the randomization test is read: a group-sequential pilot's planned looks; for an
    always-valid pilot every `REVIEW_EVERY`-th day and the last look."""
    if method == "group_sequential":
        return tuple(look_days)
    days = [d for d in look_days if (d + 1) % REVIEW_EVERY == 0]
    if not days or days[-1] != look_days[-1]:
        days.append(look_days[-1])
    return tuple(days)


def confirmation_levels(method: str, spending: str, alpha: float, reviews: Sequence[int], total: int) -> np.ndarray:
    """Cumulative one-sided level of the randomization test spent by each review: ``alpha / 2`` (``alpha`` is the
    two-sided level per comparison) by the design's spending function at the review's share of the ``total``
    planned days; Pocock-type for always-valid pilots, whose boundary may be crossed early."""
    fraction = np.minimum((np.asarray(reviews, dtype=float) + 1.0) / float(total), 1.0)
    spend = pocock if method == "always_valid" else resolve(SPENDING[spending])
    return np.minimum(spend(fraction, alpha / 2.0), alpha / 2.0)


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
    panel: Panel, plan: PilotPlan, comparisons: list[Comparison], now: int | None, control: str, final: bool
) -> None:
    """The exact randomization tests (few units or team randomization), replaying the stratified block procedure:
    for primaries the test of no effect in each direction, for guardrails the test of harm beyond the margin
    (`_guardrail_shift`); each read sequentially at the reviews so far (module docstring), with the fixed-horizon
    p-value at the latest data shown beside it. ``final``: the pilot has ended, and its last data are the final
    review whatever the day."""
    if now is None:
        return
    units = panel.units
    draws = rerandomizations(units.ids, units.strata, tuple(plan.weights.items()), plan.seed % (2**32), PERMUTATIONS)
    labels = np.vstack([units.arms[None, :], draws])
    reviews = settled_reviews(plan, now, final)
    alpha = plan.design.alpha / max(1, len(plan.treatments))
    spent = confirmation_levels(
        plan.design.method, plan.design.spending, alpha, reviews, looks.total_days(plan.start_date, plan.end_date)
    )
    if final and reviews:
        spent[-1] = alpha / 2.0  # the final review spends what is left
    specs = {spec.name: spec for spec in plan.metrics}
    for c in comparisons:
        if c.role not in ("primary", "guardrail"):
            continue
        shift = 0.0
        if c.role == "guardrail":
            shift = _guardrail_shift(c, specs[c.metric].margin, specs[c.metric].relative)
            if shift is None:
                continue
        paths = _paths(panel, c, labels, reviews, shift, control)
        crossed = {}
        for direction in ("greater", "less") if c.role == "primary" else (_harmful_side(c),):
            result = sequential_randomization_test(paths[0], paths[1:], spent, direction) if reviews else None
            crossed[direction] = reviews[result.crossed_at] if result is not None and result.rejects else None
        c.extra["randomization"] = {
            **_fixed_horizon(c, panel, now, labels, shift, control),
            "null_difference": shift,
            "reviews": [_iso(plan, d) for d in reviews],
            "level_spent": [float(v) for v in spent],
            "crossed_up": _iso(plan, crossed.get("greater")),
            "crossed_down": _iso(plan, crossed.get("less")),
            "note": _PRIMARY_NOTE if c.role == "primary" else _GUARDRAIL_NOTE,
        }


def settled_reviews(plan: PilotPlan, now: int, final: bool) -> list[int]:
    """The reviews the randomization test reads on pilot day ``now``: those at least `SETTLE_DAYS` old, and on the
    final day of an ended pilot that day too."""
    design = plan.design
    total = looks.total_days(plan.start_date, plan.end_date)
    planned = review_days(design.method, looks.planned_look_days(design.method, design.looks, total))
    reviews = [d for d in planned if d + SETTLE_DAYS <= now]
    if final and (not reviews or reviews[-1] != now):
        reviews.append(now)
    return reviews


def _iso(plan: PilotPlan, day: int | None) -> str | None:
    return (plan.start_date + timedelta(days=day)).isoformat() if day is not None else None


def _harmful_side(comparison: Comparison) -> str:
    return "less" if comparison.definition.higher_is_better else "greater"


def _paths(
    panel: Panel, c: Comparison, labels: np.ndarray, reviews: Sequence[int], shift: float, control: str
) -> np.ndarray:
    """The Welch t of the raw difference (net of ``shift`` on the treated units) at each review, under the observed
    assignment (row 0) and each re-randomization: (1 + PERMUTATIONS, reviews)."""
    out = np.empty((labels.shape[0], len(reviews)))
    for j, d in enumerate(reviews):
        y, x = _outcomes(panel, c, d, shift)
        out[:, j] = welch_t_statistics(y, x, labels, control=control, treatment=c.arm)
    return out


def _outcomes(panel: Panel, c: Comparison, day: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's outcome and audit sums through ``day``, the treated units' outcomes net of ``shift`` times their
    audits. Under the sharp null "every treated unit is worse by exactly the margin" the outcomes net of the margin
    are what they would have been under control, so re-randomizing them is exact for that null."""
    y = panel.cumulative(c.definition.numerator, day)
    x = panel.cumulative(c.definition.denominator, day)
    return y - np.where(panel.units.arms == c.arm, shift * x, 0.0), x


def _fixed_horizon(c: Comparison, panel: Panel, now: int, labels: np.ndarray, shift: float, control: str) -> dict:
    """The fixed-horizon randomization p-value at the latest data (shown for information; the verdict reads the
    sequential crossings)."""
    y, x = _outcomes(panel, c, now, shift)
    alternative = "two-sided" if c.role == "primary" else _harmful_side(c)
    replay = iter(labels[1:])
    result = randomization_test(
        y,
        x,
        panel.units.arms.astype(str),
        lambda rng, rows=replay: next(rows),
        control=control,
        treatment=c.arm,
        n_resamples=PERMUTATIONS,
        seed=0,
        statistic="t",
        alternative=alternative,
    )
    return {
        "p_value": result.p_value if math.isfinite(result.p_value) else None,
        "n_resamples": result.n_resamples,
        "mc_se": result.mc_se if math.isfinite(result.mc_se) else None,
        "reason": result.reason,
        "alternative": alternative,
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
    "Randomization test: the Welch t statistic of the raw difference, against "
    f"{PERMUTATIONS} re-runs of the pilot's own stratified block randomization, reported because the pilot has "
    "few, very unequally audited or team units: the delta-method and CUPED variances are estimated from few units "
    "and run small, the permutation test does not. Exact whatever the distribution, and sequential: it is read at "
    "each review (reviews), its level spent over them (level_spent, per direction), and a crossing either way "
    "counts only once this test has also crossed in that direction (crossed_up, crossed_down). p_value is the "
    "fixed-horizon test at the latest data, shown for information."
)
_GUARDRAIL_NOTE = (
    "Randomization test of harm beyond the margin: the treated units' outcomes net of the margin (null_difference), "
    f"one-sided against {PERMUTATIONS} re-runs of the pilot's own stratified block randomization (exact for the "
    "sharp null that every treated unit is worse by exactly the margin), read at each review with its level spent "
    "over them. With this few, very unequally audited or team units a guardrail is declared harmful only once this "
    "test has crossed on the harmful side (crossed_up for a metric where lower is better, crossed_down otherwise); "
    "p_value is the fixed-horizon test at the latest data."
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
