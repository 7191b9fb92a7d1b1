"""Benjamini-Hochberg q-values against statsmodels, and the FDR they promise under the null."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from analysis.fdr import bh_qvalues


@pytest.mark.parametrize("seed", range(5))
def test_q_values_equal_statsmodels_fdr_bh(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=15), rng.uniform(0, 0.01, size=5)])
    rng.shuffle(p)
    assert bh_qvalues(p) == pytest.approx(multipletests(p, method="fdr_bh")[1].tolist(), abs=1e-12)


def test_nan_cells_are_not_tests_and_stay_nan():
    p = [0.01, math.nan, 0.04, 0.03]
    q = bh_qvalues(p)
    assert math.isnan(q[1])
    expected = multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1]
    assert [q[0], q[2], q[3]] == pytest.approx(expected.tolist())


def test_published_example():
    # Benjamini & Hochberg (1995), section 4: 15 p-values; at q = 0.05 the first four are rejected.
    p = [
        0.0001,
        0.0004,
        0.0019,
        0.0095,
        0.0201,
        0.0278,
        0.0298,
        0.0344,
        0.0459,
        0.3240,
        0.4262,
        0.5719,
        0.6528,
        0.7590,
        1.0,
    ]
    assert sum(q <= 0.05 for q in bh_qvalues(p)) == 4


def test_empty_and_bad_input():
    assert bh_qvalues([]) == []
    with pytest.raises(ValueError, match="p_values"):
        bh_qvalues([1.5])
