"""Planning under the alternative (each arm's own variance), and the faster planner's unchanged numbers.

References: the two-proportion sample size ``n = (z_a + z_b)^2 (p1 q1 + p2 q2) / d^2`` (Chow, Shao, Wang 2008,
section 4.2) and statsmodels' `NormalIndPower` with the standardized effect ``d / sqrt((p1 q1 + p2 q2) / 2)``; the
arcsine form (Cohen's h, `proportion_effectsize`) gives 3,205, the pooled-null form 3,213.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from analysis.planning import SequentialDesign, alternative_variance_ratio, plan_pilot

Z_SUM = stats.norm.isf(0.025) + stats.norm.ppf(0.8)


def _audits_per_arm_for(mde: float, **kwargs) -> float:
    """Audits per arm at which the fixed design's MDE (ICC 0, one unit per arm) equals `mde`, by bisection."""
    low, high = 1000.0, 10000.0
    for _ in range(80):
        mid = 0.5 * (low + high)
        row = plan_pilot(units_per_arm=(1, 1), audits_per_unit_per_week=mid, baseline=0.9, icc=0.0, weeks=1, **kwargs)
        low, high = (mid, high) if row.week(1).mde > mde else (low, mid)
    return 0.5 * (low + high)


def test_each_arms_variance_under_the_alternative_matches_the_two_proportion_references():
    closed = Z_SUM**2 * (0.9 * 0.1 + 0.92 * 0.08) / 0.02**2
    standardized = 0.02 / np.sqrt((0.9 * 0.1 + 0.92 * 0.08) / 2)
    statsmodels_n = NormalIndPower().solve_power(effect_size=standardized, alpha=0.05, power=0.8)
    arcsine_n = NormalIndPower().solve_power(effect_size=proportion_effectsize(0.92, 0.9), alpha=0.05, power=0.8)
    assert statsmodels_n == pytest.approx(closed, rel=1e-5)  # statsmodels solves numerically
    planned = _audits_per_arm_for(0.02, proportion_alternative="up")
    assert planned == pytest.approx(closed, rel=1e-6)
    assert planned == pytest.approx(statsmodels_n, rel=1e-5)
    assert 3205 <= round(arcsine_n) <= planned <= 3213
    # The old single-variance plan: 3,532 audits per arm (10% conservative).
    assert _audits_per_arm_for(0.02) == pytest.approx(Z_SUM**2 * 2 * 0.09 / 0.02**2, rel=1e-6)


def test_power_at_the_target_uses_the_alternative_variance():
    kwargs = dict(units_per_arm=(1, 1), audits_per_unit_per_week=3210.0, baseline=0.9, icc=0.0, weeks=1)
    plan = plan_pilot(**kwargs, target_effect=0.02, proportion_alternative="up")
    sd = np.sqrt((0.9 * 0.1 + 0.92 * 0.08) / 3210.0)
    expected = stats.norm.sf(stats.norm.isf(0.025) - 0.02 / sd) + stats.norm.cdf(-stats.norm.isf(0.025) - 0.02 / sd)
    assert plan.week(1).power == pytest.approx(expected, rel=1e-9)
    worse = plan_pilot(**kwargs, target_effect=0.02, proportion_alternative="down")  # 0.90 -> 0.88: more variance
    assert worse.week(1).power < plan.week(1).power


def test_variance_ratio_by_arm_sizes_and_direction():
    assert alternative_variance_ratio(0.9, 0.02, "up", 10, 10) == pytest.approx((1 + 0.92 * 0.08 / 0.09) / 2)
    # 10 treatment units, 30 control units: the treatment arm's larger variance (0.90 -> 0.88) weighs more.
    assert alternative_variance_ratio(0.9, 0.02, "down", 10, 30) == pytest.approx(
        (1 / 30 + (0.88 * 0.12 / 0.09) / 10) / (1 / 30 + 1 / 10)
    )
    assert alternative_variance_ratio(0.9, 0.5, "up", 5, 5) == pytest.approx(0.5)  # p1 clipped at 1


def test_sequential_mde_solves_the_fixed_point_with_the_inflation_factor():
    kwargs = dict(total_units=120, audits_per_unit_per_week=12, baseline=0.93, icc=0.05, weeks=4)
    design = SequentialDesign("group_sequential")
    plain = plan_pilot(**kwargs, design=design)
    alt = plan_pilot(**kwargs, design=design, proportion_alternative="up")
    for a, b in zip(plain.weeks, alt.weeks, strict=True):
        ratio = alternative_variance_ratio(0.93, b.mde, "up", 60, 60)
        assert b.mde == pytest.approx(a.mde * np.sqrt(ratio), rel=1e-9)
        assert b.inflation_factor == pytest.approx(a.inflation_factor, rel=1e-12)


# Computed by the planner before the interior-kernel cache and warm-started calibrations (commit b098017): the
# speed-up must leave every number of the plan as it was (to far below what is ever displayed).
BEFORE = [
    {
        "method": "always_valid",
        "lpw": 7,
        "weeks": 8,
        "icc": 0.1,
        "mde": [
            0.0473208458227805,
            0.04182359599781343,
            0.039863746219478295,
            0.038812735142793826,
            0.03818239899840251,
            0.03774363066795475,
            0.03743497426179495,
            0.037212400226704356,
        ],
        "inflation": [
            1.1952118870524917,
            1.2082488971563585,
            1.2169766036172196,
            1.2199529521454189,
            1.22281561183911,
            1.224016671165609,
            1.2254281467272483,
            1.2272190139704455,
        ],
        "power": [
            0.08665464036875066,
            0.0971547177335088,
            0.10196190062933662,
            0.10487400925734122,
            0.10669243298398326,
            0.10806532356782145,
            0.10904072348128153,
            0.1096947944904213,
        ],
    },
    {
        "method": "group_sequential",
        "lpw": 1,
        "weeks": 20,
        "icc": 0.0,
        "mde": [
            0.029182245478661776,
            0.020673360594274545,
            0.016955820320176517,
            0.014733691473965211,
            0.013211017503301139,
            0.012082727948379657,
            0.011202943141588217,
            0.010491802689067251,
            0.00990137094619482,
            0.00940088123851612,
            0.008969550538054608,
            0.00859276156988536,
            0.008259892094004012,
            0.007963010569933515,
            0.007696058408486366,
            0.007454316181669692,
            0.007234046105942189,
            0.00703224323539302,
            0.0068464609174089175,
            0.00667468370923907,
        ],
        "inflation": [
            1.0,
            1.003725002923071,
            1.0127947778962132,
            1.019637316640737,
            1.0247197990528072,
            1.0285936333827703,
            1.0316322039577297,
            1.034076820747462,
            1.0360858898681233,
            1.0377666734270763,
            1.0391940100511219,
            1.0404215900467964,
            1.0414889994092515,
            1.0424259336777164,
            1.0432551960360468,
            1.0439944490034536,
            1.0446578050380406,
            1.0452564598711045,
            1.0457995602856838,
            1.0462945531001193,
        ],
        "power": [
            0.160421589514558,
            0.27278939403047553,
            0.3783160789253488,
            0.47546473746304474,
            0.5626220096551249,
            0.6391225206619819,
            0.7050437803953225,
            0.7609678293621298,
            0.8077781117311041,
            0.846504956940975,
            0.8782167596736365,
            0.9039482428623214,
            0.9246570107413631,
            0.9412007639192533,
            0.9543286410472408,
            0.9646821150413091,
            0.9728014909175966,
            0.9791357118361217,
            0.984053402053446,
            0.9878541937549822,
        ],
    },
]


@pytest.mark.parametrize("case", BEFORE, ids=lambda c: f"{c['method']}-{c['lpw']}-{c['weeks']}-{c['icc']}")
def test_faster_planner_leaves_the_numbers_unchanged(case):
    plan = plan_pilot(
        total_units=200,
        audits_per_unit_per_week=12,
        baseline=0.93,
        icc=case["icc"],
        weeks=case["weeks"],
        design=SequentialDesign(case["method"], looks_per_week=case["lpw"]),
        target_effect=0.01,
    )
    assert [w.mde for w in plan.weeks] == pytest.approx(case["mde"], rel=1e-9)
    assert [w.inflation_factor for w in plan.weeks] == pytest.approx(case["inflation"], rel=1e-9)
    assert [w.power for w in plan.weeks] == pytest.approx(case["power"], rel=1e-9)
