"""Gwet's AC1 and Krippendorff's alpha against the handbook's worked example and the `krippendorff` package."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from analysis import reasons
from analysis.agreement import gwet_ac1, krippendorff_alpha, rating_counts

# Gwet (2014), Handbook of Inter-Rater Reliability: 12 units rated by up to 4 raters on 5 categories (nan = missing),
# the data set `cac.raw4raters` of the irrCAC packages. Published: AC1 0.77544, standard error 0.14295, pa 0.81818,
# pe 0.19032, 95% interval (0.46081, 1).
HANDBOOK = np.array(
    [
        [1, 1, np.nan, 1],
        [2, 2, 3, 2],
        [3, 3, 3, 3],
        [3, 3, 3, 3],
        [2, 2, 2, 2],
        [1, 2, 3, 4],
        [4, 4, 4, 4],
        [1, 1, 2, 1],
        [2, 2, 2, 2],
        [np.nan, 5, 5, 5],
        [np.nan, np.nan, 1, 1],
        [np.nan, np.nan, 3, np.nan],
    ]
)


def counts_of(table: np.ndarray, categories: int) -> np.ndarray:
    items, raters = np.nonzero(np.isfinite(table))
    return rating_counts(items, table[items, raters].astype(int) - 1, categories)


def test_ac1_matches_the_handbook_example():
    result = gwet_ac1(counts_of(HANDBOOK, 5))
    assert result.coefficient == pytest.approx(0.77544, abs=5e-6)
    assert result.se == pytest.approx(0.14295, abs=5e-6)
    assert result.observed == pytest.approx(0.81818, abs=5e-6)
    assert result.chance == pytest.approx(0.19032, abs=5e-6)
    assert result.ci.low == pytest.approx(0.46081, abs=5e-6)
    assert result.ci.high == 1.0
    assert result.items == 11  # rated at least twice


def test_alpha_matches_the_krippendorff_package_on_the_handbook_example():
    expected = krippendorff.alpha(reliability_data=HANDBOOK.T, level_of_measurement="nominal")
    assert krippendorff_alpha(counts_of(HANDBOOK, 5)).coefficient == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_binary_alpha_matches_the_package_and_its_interval_covers_by_bootstrap(seed):
    rng = np.random.default_rng(seed)
    n = 400
    truth = rng.uniform(size=n) < 0.85
    raters = np.where(rng.uniform(size=(n, 3)) < 0.9, truth[:, None], ~truth[:, None]).astype(float)
    raters[rng.uniform(size=(n, 3)) < 0.3] = np.nan  # missing ratings: some items rated once or not at all
    expected = krippendorff.alpha(reliability_data=raters.T, level_of_measurement="nominal")
    counts = counts_of(raters + 1, 2)
    result = krippendorff_alpha(counts)
    assert result.coefficient == pytest.approx(expected, abs=1e-12)
    # Gwet's linearized standard error against a bootstrap over items.
    boot = []
    for _ in range(300):
        pick = rng.integers(0, counts.shape[0], counts.shape[0])
        boot.append(krippendorff_alpha(counts[pick]).coefficient)
    assert result.se == pytest.approx(np.std(boot, ddof=1), rel=0.2)


def test_binary_ac1_when_one_grade_dominates_stays_high_where_kappa_type_coefficients_collapse():
    # 98 items both auditors call correct, 2 where they disagree: near-perfect agreement.
    counts = np.array([[0, 2]] * 98 + [[1, 1]] * 2, dtype=float)
    ac1 = gwet_ac1(counts)
    alpha = krippendorff_alpha(counts)
    assert ac1.observed == pytest.approx(0.98)
    assert ac1.coefficient > 0.97
    assert alpha.coefficient < 0.05  # the paradox AC1 was designed for


def test_too_few_items_and_no_variation_have_reasons():
    assert gwet_ac1(np.array([[0, 2]], dtype=float)).reason == reasons.TOO_FEW_DOUBLE_AUDITS
    uniform = krippendorff_alpha(np.array([[0, 2], [0, 3]], dtype=float))
    assert uniform.reason == reasons.NO_RATING_VARIATION
    assert math.isnan(uniform.coefficient)
    assert gwet_ac1(np.array([[0, 2], [0, 3]], dtype=float)).coefficient == 1.0


def test_input_checks():
    with pytest.raises(ValueError, match="counts"):
        gwet_ac1(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="alpha"):
        krippendorff_alpha(np.ones((3, 2)), alpha=1.5)
    with pytest.raises(ValueError, match="values"):
        rating_counts([0, 1], [0, 2], 2)
