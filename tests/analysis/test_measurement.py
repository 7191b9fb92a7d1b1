"""The cost of grading noise (`analysis.measurement`) against the closed form written out by hand."""

from __future__ import annotations

import math

import pytest

from analysis.measurement import noise_cost, noise_free, noise_free_scale
from analysis.planning import difference_variance
from analysis.variance_components import VarianceComponents

Z_975, Z_80 = 1.959963984540054, 0.8416212335729143  # normal quantiles (tables)


def test_noise_cost_is_the_closed_form_fixed_horizon_mde_with_and_without_the_error_variance():
    # between 0.001, within 0.06, 50 audits per unit, 100 vs 120 units, 20% of a grade's variance is noise:
    # error per grade 0.2 * 0.061 = 0.0122.
    cost = noise_cost(VarianceComponents(0.001, 0.06), 50.0, 100, 120, 0.2)
    total, clean = 0.001 + 0.06 / 50, 0.001 + (0.06 - 0.0122) / 50
    arms = 1 / 100 + 1 / 120
    assert cost.mde == pytest.approx((Z_975 + Z_80) * math.sqrt(total * arms), rel=1e-12)
    assert cost.mde_without_noise == pytest.approx((Z_975 + Z_80) * math.sqrt(clean * arms), rel=1e-12)
    assert cost.unit_error_share == pytest.approx(0.0122 / 50 / total, rel=1e-12)
    assert cost.mde_ratio == pytest.approx(math.sqrt(total / clean), rel=1e-12)
    one_sided = noise_cost(VarianceComponents(0.001, 0.06), 50.0, 100, 120, 0.2, alpha=0.1, power=0.9)
    assert one_sided.mde == pytest.approx((1.6448536269514722 + 1.2815515655446004) * math.sqrt(total * arms))


def test_noise_lives_within_units_and_no_noise_costs_nothing():
    components = VarianceComponents(0.004, 0.05)
    assert noise_free(components, 1.0) == VarianceComponents(0.004, 0.0)  # capped at the within part
    assert noise_free(components, 0.0) == components
    free = noise_cost(components, 30.0, 80, 80, 0.0)
    assert free.mde == free.mde_without_noise and free.unit_error_share == 0.0
    with pytest.raises(ValueError, match="error_share"):
        noise_free(components, 1.5)


def test_the_plan_scale_is_the_ratio_of_planned_standard_errors():
    components = VarianceComponents(0.002, 0.06)
    m, k = 48.0, 120
    scale = noise_free_scale(components, 0.25, lambda c: difference_variance(c, m, k, k))
    error = 0.25 * 0.062
    noisy = (0.002 * (1 + 1 / m) + 0.06 / m) * 2 / k  # difference_variance's closed form, cv 0, no pre-period
    clean = (0.002 * (1 + 1 / m) + (0.06 - error) / m) * 2 / k
    assert scale == pytest.approx(math.sqrt(clean / noisy), rel=1e-12)
