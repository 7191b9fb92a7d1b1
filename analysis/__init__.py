"""PilotLab statistics: pure numpy/scipy functions on frozen dataclasses (no web, no database).

The main public names are re-exported here. ``__all__`` is kept as one explicit list in sections
(one per module, names sorted within a section) so that concurrent additions merge cleanly.
"""

from analysis import reasons
from analysis.checks import (
    BalanceRow,
    CheckResult,
    attrition,
    audit_rate_balance,
    covariate_balance,
    sample_ratio_mismatch,
)
from analysis.cuped import AdjustedDifference, UnitArrays, cuped_compare
from analysis.multiplicity import (
    AdjustedPValues,
    bonferroni,
    bonferroni_alpha,
    dunnett_adjust,
    dunnett_ratio,
    holm,
    many_to_one_correlation,
)
from analysis.permutation import PermutationResult, randomization_test
from analysis.ratio import (
    ConfidenceInterval,
    Difference,
    RatioStats,
    compare,
    difference_from_estimates,
    welch_df,
)
from analysis.segments import (
    CHERRY_PICKING_WARNING,
    Heterogeneity,
    SegmentAnalysis,
    SegmentEffect,
    cochran_q,
    segment_effects,
)

__all__ = [  # noqa: RUF022  (sections per module merge better than one sorted list)
    # reasons
    "reasons",
    # ratio
    "ConfidenceInterval",
    "Difference",
    "RatioStats",
    "compare",
    "difference_from_estimates",
    "welch_df",
    # cuped
    "AdjustedDifference",
    "UnitArrays",
    "cuped_compare",
    # checks
    "BalanceRow",
    "CheckResult",
    "attrition",
    "audit_rate_balance",
    "covariate_balance",
    "sample_ratio_mismatch",
    # multiplicity
    "AdjustedPValues",
    "bonferroni",
    "bonferroni_alpha",
    "dunnett_adjust",
    "dunnett_ratio",
    "holm",
    "many_to_one_correlation",
    # segments
    "CHERRY_PICKING_WARNING",
    "Heterogeneity",
    "SegmentAnalysis",
    "SegmentEffect",
    "cochran_q",
    "segment_effects",
    # permutation
    "PermutationResult",
    "randomization_test",
]
