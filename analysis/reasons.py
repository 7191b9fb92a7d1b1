"""Reason codes for degenerate or skipped analyses, with plain-language messages.

Statistics functions never raise on degenerate *data* (an empty arm, one moderator, no variance).
They return a result whose ``reason`` field holds one of the codes below, so the verdict layer and
the web pages can explain what happened in words a director can read. Codes are short stable strings
(safe to store and to compare); the messages may be reworded freely.
"""

from __future__ import annotations

# Two-arm comparisons (analysis/ratio.py)
EMPTY_ARM = "empty_arm"
NO_AUDITS = "no_audits"
SINGLE_UNIT = "single_unit"
ZERO_VARIANCE = "zero_variance"
ZERO_CONTROL_MEAN = "zero_control_mean"

# Regression adjustment (analysis/cuped.py)
NO_PRE_PERIOD = "no_pre_period"
CONSTANT_COVARIATE = "constant_covariate"

# Segments and heterogeneity (analysis/segments.py)
TOO_FEW_SEGMENTS = "too_few_segments"

# Data-quality checks (analysis/checks.py)
TOO_FEW_UNITS = "too_few_units"

# QA: agreement, auditors, policy and queue cells (analysis/agreement.py, analysis/auditors.py)
TOO_FEW_DOUBLE_AUDITS = "too_few_double_audits"
NO_RATING_VARIATION = "no_rating_variation"
TOO_FEW_AUDITORS = "too_few_auditors"
SMALL_CELL = "small_cell"
NOT_AUDITOR_GRADED = "not_auditor_graded"
NO_AUDITS_YET = "no_audits_yet"
NOT_YET = "not_yet"

MESSAGES: dict[str, str] = {
    EMPTY_ARM: "One of the arms has no moderators with audits yet, so the arms cannot be compared.",
    NO_AUDITS: "One of the arms has no audits yet, so its rate is undefined.",
    SINGLE_UNIT: (
        "One of the arms has a single moderator with audits; the spread between moderators "
        "cannot be estimated, so there is no interval or p-value."
    ),
    ZERO_VARIANCE: (
        "Within each arm every moderator has exactly the same rate (for example, all audits correct), so there "
        "is no variation between moderators to measure noise against: no interval or p-value can be computed."
    ),
    ZERO_CONTROL_MEAN: (
        "The control rate is zero, so a relative change is undefined; only the absolute difference is reported."
    ),
    NO_PRE_PERIOD: "No moderator has pre-period audits, so no variance reduction was applied.",
    CONSTANT_COVARIATE: (
        "The pre-period metric does not vary between moderators, so it cannot explain any "
        "variance; the unadjusted estimate is reported."
    ),
    TOO_FEW_SEGMENTS: ("Fewer than two segments have a usable estimate, so heterogeneity cannot be tested."),
    TOO_FEW_UNITS: "Too few moderators to run this check.",
    TOO_FEW_DOUBLE_AUDITS: "Fewer than two items were audited by two different auditors, so agreement is unknown.",
    NO_RATING_VARIATION: (
        "Every double-audited item got the same grade from every auditor, so Krippendorff's alpha (agreement beyond "
        "the variation in grades) is undefined; the percent agreement is 100%."
    ),
    TOO_FEW_AUDITORS: "Fewer than two auditors graded both arms, so auditors cannot be compared.",
    SMALL_CELL: "Too few moderators or audits in this cell for an interval; shown for completeness only.",
    NOT_AUDITOR_GRADED: "This metric is not a grade given by an auditor, so auditor leniency does not affect it.",
    NO_AUDITS_YET: "No QA audits of the pilot period have arrived yet, so there is nothing to check.",
    NOT_YET: "Not enough pilot time has passed for this check yet.",
}


def describe(code: str | None) -> str:
    """Plain-language message for a reason code (empty string for ``None``).

    Unknown codes are returned unchanged rather than raising, so a newer stored code never breaks a
    page.
    """
    if code is None:
        return ""
    return MESSAGES.get(code, code)


SMALLEST_P_SHOWN = 1e-4


def p_text(p: float) -> str:
    """A p-value as messages write it: two significant digits, or ``p < 0.0001`` below that (a p-value of 9.6e-39
    says no more to a reader than that, and reads as noise)."""
    return f"p < {SMALLEST_P_SHOWN:g}" if p < SMALLEST_P_SHOWN else f"p = {p:.2g}"
