"""Regressions from a review of the results engine on realistic (demo-like) data. Seeded and fast."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from analysis.checks import audit_rate_balance
from analysis.planning import difference_variance
from analysis.variance_components import VarianceComponents
from analysis.verdict import PrimaryStatus
from pilots.results import frozen
from pilots.results import verdict as verdicts
from pilots.results.document import analyse_panel
from pilots.results.loader import Panel
from pilots.results.sequential import observed_fractions
from pilots.results.units import Units
from pilots.rollups import SUMS
from tests.pilots.test_results_operating import SIM, _pilot


def test_observed_information_ahead_of_plan_never_ends_an_interim_review():
    # Bug 1: observed variance far below the plan made V_plan(end) / V_observed >= 1 at review 3 of 6, which spent
    # all alpha there (infinite boundaries, a "final" p-value mid-pilot).
    planned = np.array([0.45, 0.62, 0.74])
    variances = np.array([0.9, 0.55, 0.45])  # final planned variance 1.0: observed fractions 1.1, 1.8, 2.2
    t = observed_fractions(variances, planned, 1.0, final=False)
    assert np.all(np.diff(t) > 0) and t[-1] <= planned[-1] < 1
    assert observed_fractions(variances, planned, 1.0, final=True)[-1] == 1.0
    behind = observed_fractions(np.array([4.0, 3.0, 2.5]), planned, 1.0, final=False)
    assert behind == pytest.approx([0.25, 1 / 3, 0.4])  # information behind the plan: the planned I_max stays


def test_cuped_planning_counts_the_persistent_audit_rate_in_the_covariance():
    # Bug 1 (cause): with unequal but stable audit rates the pre/pilot covariance of the linearized unit terms is
    # sigma_b^2 (1 + cv^2), not sigma_b^2; handle time (ICC 0.16) was planned at ~1.7x its variance.
    sb2, sw2, m_pre, m, k, cv = 200.0, 1060.0, 40.0, 50.0, 40_000, 0.33
    rng = np.random.default_rng(5)
    rate = np.exp(cv * rng.standard_normal(k) - cv**2 / 2)
    rate /= rate.mean()
    mu = np.sqrt(sb2) * rng.standard_normal(k)
    terms = []
    for audits in (m_pre, m):
        x = rng.poisson(audits * rate)
        ybar = mu + np.sqrt(sw2 / np.maximum(x, 1)) * rng.standard_normal(k)
        terms.append(x * ybar / x.mean())
    pre, post = terms
    theta = np.cov(pre, post)[0, 1] / pre.var(ddof=1)
    residual = np.var(post - theta * pre, ddof=1)
    cv_hat = float(np.sqrt(rate.var()))
    model = VarianceComponents(sb2, sw2)
    planned = difference_variance(model, m, 1, 10**12, audit_rate_cv=cv_hat, pre_period_audits_per_unit=m_pre)
    assert planned == pytest.approx(residual, rel=0.08)


def test_audit_rate_message_names_the_unit():
    result = audit_rate_balance({"a": [140.0, 150.0, 160.0], "b": [130.0, 150.0, 145.0]}, unit="team")
    assert "per team per week" in result.message and "moderator" not in result.message


class _Definition:
    def __init__(self, proportion: bool, label: str):
        self.proportion, self.label, self.higher_is_better = proportion, label, False


class _Outcome:
    def __init__(self, difference: float, low: float, high: float):
        self.difference, self.low, self.high = difference, low, high
        self.crossing = "none"


class _Adjusted:
    control_mean = 53.2


class _Now:
    adjusted = _Adjusted()


def _comparison(metric: str, proportion: bool, outcome: _Outcome):
    return type(
        "C",
        (),
        {
            "metric": metric,
            "arm": "treatment",
            "label": metric.replace("_", " ").capitalize(),
            "definition": _Definition(proportion, metric),
            "outcome": outcome,
            "now": _Now(),
        },
    )()


def test_guardrail_messages_in_points_and_seconds_never_infinite():
    # Bug 4: "difference +0.0003736 (interval -0.005774 to 0.006521)" and "interval -inf to inf".
    rate = verdicts.guardrail_result(
        _comparison("critical_error_rate", True, _Outcome(0.0003736, -0.005774, 0.006521)), 0.005, False, 1
    )
    assert "0.50 points" in rate.message and "+0.04 points (interval −0.58 points to +0.65 points)" in rate.message
    seconds = verdicts.guardrail_result(
        _comparison("handle_time", False, _Outcome(-0.4072, -2.69, 1.88)), 0.05, True, 1
    )
    assert "(2.7 s)" in seconds.message and "−0.4 s (interval −2.7 s to +1.9 s)" in seconds.message
    open_interval = verdicts.guardrail_result(
        _comparison("handle_time", False, _Outcome(-0.4, -math.inf, math.inf)), 0.05, True, 1
    )
    assert "inf" not in open_interval.message and "no usable interval yet" in open_interval.message
    assert not open_interval.non_inferior


def _read(p_value: float, up: str | None, down: str | None) -> dict:
    reviews = ["2026-03-08", "2026-03-15"]
    spent = [0.006, 0.011]
    return {"p_value": p_value, "reviews": reviews, "level_spent": spent, "crossed_up": up, "crossed_down": down}


def test_benefit_crossing_needs_the_randomization_test_to_cross_the_same_way_with_few_units():
    """A fixed-horizon p under alpha is not enough: the sequential test must have crossed upwards at a review."""
    primary = PrimaryStatus("Accuracy", "up", "higher_is_better", "+2.0 points")
    comparison = type("C", (), {"extra": {"randomization": _read(0.01, None, None)}})()
    unconfirmed = verdicts.randomization_unconfirmed([comparison], [primary], 0.05)
    assert "p = 0.01" in unconfirmed[primary] and comparison.extra["randomization"]["confirms"] is False
    assert "2 reviews through 2026-03-15" in unconfirmed[primary] and "0.011 of 0.025" in unconfirmed[primary]
    assert verdicts.unconfirmed_status(primary).crossing == "none"
    comparison.extra["randomization"] = _read(0.2, None, "2026-03-08")  # crossed, but the other way
    assert primary in verdicts.randomization_unconfirmed([comparison], [primary], 0.05)
    comparison.extra["randomization"] = _read(0.2, "2026-03-08", None)  # crossed upwards at the first review
    assert verdicts.randomization_unconfirmed([comparison], [primary], 0.05) == {}
    assert comparison.extra["randomization"]["confirms"] is True


def test_harm_crossing_also_needs_the_randomization_test_when_the_safeguard_applies():
    primary = PrimaryStatus("Accuracy", "down", "higher_is_better", "-2.0 points")
    comparison = type("C", (), {"extra": {"randomization": _read(0.2, "2026-03-08", None)}})()
    unconfirmed = verdicts.randomization_unconfirmed([comparison], [primary], 0.05)
    assert "a no-go on Accuracy also needs the randomization test" in unconfirmed[primary]


def test_very_unequal_audits_bring_the_randomization_safeguard_beyond_30_units():
    from pilots.results.safeguard import effective_units, needs_randomization_test

    def panel(audits: np.ndarray) -> Panel:
        k = audits.size
        units = Units(
            tuple(f"m{i:03d}" for i in range(k)), np.array(["control", "treatment"] * (k // 2)), ("all",) * k, {}, {}
        )
        values = np.zeros((len(SUMS), k, 1))
        values[SUMS.index("audits"), :, 0] = audits
        return Panel(units, TEAM_SIM.start_date, 1, values, np.zeros((len(SUMS), k)), 0)

    equal = panel(np.full(100, 20.0))
    assert effective_units(equal, 0) == pytest.approx(100) and not needs_randomization_test(equal, "moderator", 0)
    heavy = np.full(100, 20.0)
    heavy[:5] = 200.0  # 5% of moderators with ten times the audits (the stress matrix's heavy tails)
    assert effective_units(panel(heavy), 0) < 50 and needs_randomization_test(panel(heavy), "moderator", 0)
    assert needs_randomization_test(panel(np.full(20, 20.0)), "moderator", 0)  # under 30 units
    assert needs_randomization_test(equal, "team", 0)


TEAM_SIM = replace(SIM, n_moderators=200, weeks=3, pre_weeks=2)


def _team_panel(rng: np.random.Generator) -> Panel:
    from pilots.simulation import simulate_roster, simulate_unit_days

    roster = simulate_roster(TEAM_SIM, rng)
    teams = sorted({row["team"] for row in roster})
    labels = rng.permutation(["control", "treatment"] * (len(teams) // 2 + 1))[: len(teams)]
    arm_of = dict(zip(teams, labels, strict=True))
    arms = {row["moderator_id"]: arm_of[row["team"]] for row in roster}
    days = simulate_unit_days(roster, arms, TEAM_SIM, rng, handle_times=False)
    team_of = {row["moderator_id"]: teams.index(row["team"]) for row in roster}
    index = np.array([team_of[m] for m in days.moderator_ids])
    columns = {
        "audits": days.audits,
        "correct": days.correct,
        "critical_audits": days.audits,
        "critical": days.critical,
        "handle_audits": 0 * days.audits,
        "handle_sum": days.handle_sum,
        "handle_sum2": days.handle_sum2,
    }
    per_mod = np.stack([np.asarray(columns[name], dtype=float) for name in SUMS])
    stacked = np.zeros((len(SUMS), len(teams), per_mod.shape[2]))
    np.add.at(stacked, (slice(None), index), per_mod)
    units = Units(
        ids=tuple(teams),
        arms=np.array([arm_of[t] for t in teams], dtype=object),
        strata=tuple("all" for _ in teams),
        index_of_moderator={m: team_of[m] for m in team_of},
        attributes={
            "site": np.array(["" for _ in teams], dtype=object),
            "language": np.array(["" for _ in teams], dtype=object),
            "tenure_months": np.full(len(teams), np.nan),
        },
    )
    pre = days.day_offsets < 0
    pilot_days, pre_sums = stacked[:, :, ~pre], stacked[:, :, pre].sum(axis=2)
    return Panel(units, TEAM_SIM.start_date, int((~pre).sum()), pilot_days, pre_sums, int(pre.sum()))


def test_few_team_units_false_go_rate_stays_at_alpha():
    # Bug 5: with ~20 teams a CUPED-adjusted crossing said `go` while the randomization test gave p = 0.285.
    pilot = _pilot("always_valid")
    pilot.unit = "team"
    pilot.end_date = TEAM_SIM.start_date + timedelta(days=7 * TEAM_SIM.weeks - 1)
    pilot.pre_period_start = TEAM_SIM.start_date - timedelta(days=7 * TEAM_SIM.pre_weeks)
    from pilots.schemas import plan_of

    plan = plan_of(pilot)
    rng = np.random.default_rng(20)
    n, go = 24, 0
    for _ in range(n):
        document = _simulated(pilot, plan, _team_panel(rng))
        assert document["unit"] == "team" and len(document["metrics"][0]["arms"]) == 2
        go += document["decision"]["recommendation"] == "go"
    assert go / n <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / n)


def _simulated(pilot, plan, panel) -> dict:
    """The results of an in-memory pilot, with the information plan launch would have frozen from its pre-period."""
    return analyse_panel(pilot, plan, panel, fixed=frozen.from_json(frozen.freeze_panel(plan, panel)))


def test_primary_summary_never_shows_an_estimate_outside_its_interval_unexplained():
    # Bug 6: the demo team pilot read "+2.3 points, interval +0.8 to +1.7": the always-valid interval is the running
    # intersection over looks, the estimate today's.
    inside = verdicts.primary_status(_comparison("accuracy", True, _Outcome(0.012, 0.008, 0.017)), 1)
    assert inside.summary == "+1.2 points, interval +0.8 points to +1.7 points"
    above = verdicts.primary_status(_comparison("accuracy", True, _Outcome(0.023, 0.008, 0.017)), 1)
    assert above.summary.startswith("+2.3 points at the latest look, above the confidence sequence of +0.8 points")
    assert "consistent with every look so far" in above.summary
    below = verdicts.primary_status(_comparison("accuracy", True, _Outcome(0.001, 0.008, 0.017)), 1)
    assert "+0.1 points at the latest look, below the confidence sequence" in below.summary
    guard = verdicts.guardrail_result(
        _comparison("critical_error_rate", True, _Outcome(0.009, -0.004, 0.003)), 0.005, False, 1
    )
    assert (
        "+0.90 points at the latest look, above the confidence sequence of −0.40 points to +0.30 points"
        in guard.message
    )


def test_balance_with_four_teams_per_arm_reads_the_smd_against_t_not_the_normal():
    # 8-team pilots: a pre-period accuracy SMD of about 3 between 4 and 4 teams is z = 4.4 (p 1e-5 on the normal, a
    # "broken assignment") but t = 4.4 on 6 df (p 0.005): chance with so few teams. It flagged 1.7% of valid pilots.
    from pilots.results import checks

    k = 8
    arms = np.array(["control", "treatment"] * 4)
    attributes = {
        "site": np.array([""] * k, dtype=object),
        "language": np.array([""] * k, dtype=object),
        "tenure_months": np.full(k, np.nan),
    }
    units = Units(tuple(f"team{i}" for i in range(k)), arms, ("all",) * k, {}, attributes)
    pre = np.zeros((len(SUMS), k))
    pre[SUMS.index("audits")] = 100.0
    pre[SUMS.index("correct")] = np.where(arms == "control", [90, 90, 91, 91, 92, 92, 93, 93], [0] * k)
    pre[SUMS.index("correct")] += np.where(arms == "treatment", [94, 94, 95, 95, 96, 96, 97, 97], [0] * k)
    panel = Panel(units, TEAM_SIM.start_date, 1, np.zeros((len(SUMS), k, 1)), pre, 14)
    result, rows = checks.balance(panel, "control")
    assert rows[0]["attribute"] == "pre_period_accuracy" and abs(rows[0]["smd"]) > 3
    assert result.ok and rows[0]["p_value"] > 0.001
