"""The slowest plan requests (`bench/bench_plan.py`) keep their numbers: values pinned from before the seeded root
searches (`analysis._roots`) and the Newton boundary search (`analysis._recursive_integration.solve_upper`), which
find the same roots to the same tolerances in fewer integrations."""

from __future__ import annotations

import pytest

from tests.pilots.planning.plan_support import worst_case_plan

# (method, looks per week, ICC) -> {week: (mde, inflation factor, power at 1 point)}, computed before the change.
PINNED = {
    ("always_valid", 7, 0.0): {
        1: (0.029017734434250236, 1.2330729302440984, 0.13399177868126572),
        2: (0.021402754379383302, 1.2580822360248451, 0.2215663717446038),
        13: (0.008895249163020943, 1.284103517935024, 0.8907265018351402),
        52: (0.004523564255724598, 1.2881664456137791, 0.9999997539808694),
    },
    ("always_valid", 7, 0.1): {
        1: (0.04020867145554105, 1.1952118870524922, 0.0893673406557376),
        2: (0.03623430894258477, 1.2082488971563596, 0.10066915165705992),
        13: (0.0322668270936583, 1.2292585268210234, 0.11656015729327973),
        52: (0.03166003101068439, 1.2326445009426212, 0.11954696756897898),
    },
    ("group_sequential", 7, 0.0): {
        1: (0.02679892458635143, 1.0316322039576118, 0.16353838115901803),
        2: (0.019622064966590674, 1.0424259336776367, 0.2779634192623389),
        13: (0.008074879282031931, 1.0519912673822571, 0.9383157754227284),
        52: (0.004096295768377794, 1.0532189219847872, 1.0000009613848813),
    },
    ("group_sequential", 1, 0.0): {
        1: (0.02642694021544624, 1.0, 0.16855264378380674),
        2: (0.0192805293012821, 1.0037250029231726, 0.2887770144100114),
        13: (0.008035593806560729, 1.041488999409423, 0.940341252263509),
        52: (0.004095108048776653, 1.0525996801480557, 1.0000006877568435),
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PINNED), ids=lambda c: f"{c[0]}-{c[1]}perweek-icc{c[2]}")
def test_worst_case_plans_keep_their_numbers(case):
    method, per_week, icc = case
    plan = worst_case_plan(method, per_week, icc)
    for week, (mde, inflation, power) in PINNED[case].items():
        row = plan.weeks[week - 1]
        assert row.mde == pytest.approx(mde, rel=1e-8)
        assert row.inflation_factor == pytest.approx(inflation, rel=1e-8)
        assert row.power == pytest.approx(power, rel=1e-8)
