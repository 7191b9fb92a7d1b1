"""QA health of a pilot: how far the QA yardstick can be trusted.

* Agreement on double-audited items (an item graded by two or more different auditors): Gwet's AC1 and
  Krippendorff's alpha with intervals (`analysis.agreement`), on `correct` overall, by arm (the graded moderator's
  arm) and for the auditor pairs that share the most items; the same on `critical` where it was graded. Null with a
  reason when fewer than two items are double-audited.
* Auditors: audits and leniency on `correct` with intervals (`pilots.results.qa_auditors.auditor_rows`).
* What the noise costs (`analysis.measurement`): the share of one grade's variance that is grading noise
  (``1 - alpha``, Krippendorff's alpha on double audits), its share of the variance of a moderator's measured
  accuracy (control arm's two-level model, over the pilot's audits per unit so far), and the fixed-horizon
  detectable effect at the pilot's size with and without that noise.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from analysis import reasons
from analysis.agreement import Agreement, gwet_ac1, krippendorff_alpha, rating_counts
from analysis.measurement import noise_cost as measurement_cost
from analysis.variance_components import estimate_variance_components
from pilots.results.metric import finite, interval
from pilots.results.qa_data import Ratings

MAX_PAIRS = 10
MIN_PAIR_ITEMS = 10


def _coefficients(items: np.ndarray, grades: np.ndarray) -> tuple[Agreement, Agreement, int]:
    _, dense = np.unique(items, return_inverse=True)
    counts = rating_counts(dense.reshape(-1), grades, 2)
    return gwet_ac1(counts), krippendorff_alpha(counts), counts.shape[0]


def _agreement_json(items: np.ndarray, grades: np.ndarray) -> dict[str, Any]:
    ac1, alpha, n = _coefficients(items, grades)
    reason = ac1.reason or alpha.reason
    return {
        "items": n,
        "ac1": finite(ac1.coefficient),
        "ac1_ci": interval(ac1.ci.low, ac1.ci.high),
        "krippendorff_alpha": finite(alpha.coefficient),
        "krippendorff_alpha_ci": interval(alpha.ci.low, alpha.ci.high),
        "percent_agreement": finite(ac1.observed),
        "reason": reason,
        "message": reasons.describe(reason) or None,
    }


def agreement(ratings: Ratings, arms: np.ndarray) -> dict[str, Any] | None:
    """The agreement document on `correct` (null when nothing is double-audited), with `critical` nested."""
    if ratings.items < 2:
        return None
    out = _agreement_json(ratings.item, ratings.correct)
    item_arm = np.empty(ratings.items, dtype=object)
    item_arm[ratings.item] = arms[ratings.unit]
    by_arm = []
    for arm in sorted({str(a) for a in item_arm}):
        keep = item_arm[ratings.item] == arm
        if np.unique(ratings.item[keep]).size >= 2:
            by_arm.append({"arm": arm, **_agreement_json(ratings.item[keep], ratings.correct[keep])})
    out["by_arm"] = by_arm
    out["by_auditor_pair"] = _pairs(ratings)
    graded = ratings.critical >= 0
    both = np.bincount(ratings.item[graded], minlength=ratings.items) >= 2
    keep = graded & both[ratings.item]
    enough = np.unique(ratings.item[keep]).size >= 2
    out["critical"] = _agreement_json(ratings.item[keep], ratings.critical[keep]) if enough else None
    return out


def _pairs(ratings: Ratings) -> list[dict[str, Any]]:
    """Agreement of the auditor pairs sharing the most double-audited items (at least `MIN_PAIR_ITEMS`)."""
    by_item: dict[int, dict[int, int]] = {}
    columns = (ratings.item.tolist(), ratings.auditor.tolist(), ratings.correct.tolist())
    for item, auditor, grade in zip(*columns, strict=True):
        by_item.setdefault(item, {})[auditor] = grade
    shared: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for item, grades in by_item.items():
        for a, b in combinations(sorted(grades), 2):
            shared.setdefault((a, b), []).append((item, grades[a], grades[b]))
    ranked = sorted(shared.items(), key=lambda pair: (-len(pair[1]), pair[0]))
    out = []
    for (a, b), rows in ranked[:MAX_PAIRS]:
        if len(rows) < MIN_PAIR_ITEMS:
            break
        items = np.repeat(np.arange(len(rows)), 2)
        grades = np.array([g for _, first, second in rows for g in (first, second)], dtype=np.int64)
        out.append({"auditors": [ratings.auditors[a], ratings.auditors[b]], **_agreement_json(items, grades)})
    return out


def noise_cost(
    y: np.ndarray,
    x: np.ndarray,
    reliability: float | None,
    units: tuple[int, int],
    alpha: float,
    power: float,
) -> dict[str, Any]:
    """Measurement cost on accuracy from the control arm's per-unit sums, the agreement's alpha and the pilot's
    (control, smallest treatment) units with audits, at the design's alpha and power."""
    estimate = estimate_variance_components(y, x)
    audited = x > 0
    if reliability is None or not np.isfinite(reliability) or estimate.reason is not None or min(units) < 1:
        return {
            "error_share": None,
            "grade_error_share": None,
            "mde_ratio": None,
            "mde": None,
            "mde_without_noise": None,
            "message": "Measurement noise cannot be sized without double-audited items and audited units in each arm.",
        }
    m = float(x[audited].mean())
    share = 1.0 - min(1.0, max(0.0, float(reliability)))
    cost = measurement_cost(estimate.components, m, units[0], units[1], share, alpha, power)
    message = (
        f"Auditor disagreement is {100 * share:.0f}% of a single grade's variance and "
        f"{100 * cost.unit_error_share:.0f}% of the variance of a moderator's measured accuracy over {m:.0f} audits. "
        f"At this size the pilot detects {100 * cost.mde:.2f} points (fixed horizon, power {power:.0%}); with "
        f"error-free grading it would detect {100 * cost.mde_without_noise:.2f} points."
    )
    return {
        "error_share": finite(cost.unit_error_share),
        "grade_error_share": finite(share),
        "audits_per_unit": finite(m),
        "mde_ratio": finite(cost.mde_ratio),
        "mde": finite(cost.mde),
        "mde_without_noise": finite(cost.mde_without_noise),
        "message": message,
    }
