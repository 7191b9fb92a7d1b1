"""The balance report: counts per stratum x arm and standardized mean differences."""

from __future__ import annotations

import math

import pytest

from pilots.assignment.balance import balance_report, balance_table, mean_smd, proportion_smd
from pilots.assignment.randomization import randomize
from pilots.errors import Conflict
from tests.pilots._roster_factories import add_roster, make_pilot, moderators


def test_mean_smd_matches_hand_computation():
    # treated mean 3, var 1; control mean 2, var 1 -> (3 - 2) / sqrt((1 + 1) / 2) = 1
    assert mean_smd([2, 3, 4], [1, 2, 3]) == pytest.approx(1.0)
    # unequal variances: t = [0, 4] (mean 2, var 8), c = [0, 0, 3] (mean 1, var 3) -> 1 / sqrt(5.5)
    assert mean_smd([0, 4], [0, 0, 3]) == pytest.approx(1 / math.sqrt(5.5))
    assert mean_smd([1], [1, 2]) is None
    assert mean_smd([5, 5], [5, 5]) == 0.0
    assert mean_smd([5, 5], [4, 4]) is None


def test_proportion_smd_matches_hand_computation():
    # p_t = 0.5, p_c = 0.25 -> 0.25 / sqrt((0.25 + 0.1875) / 2)
    assert proportion_smd(0.5, 0.25) == pytest.approx(0.25 / math.sqrt(0.21875))
    assert proportion_smd(1.0, 1.0) == 0.0
    assert proportion_smd(1.0, 0.0) is None


def test_report_counts_every_unit_and_computes_smds(session):
    pilot = make_pilot(session, status="running")
    add_roster(session, pilot, moderators(120))
    randomize(session, pilot)
    session.flush()
    report = balance_report(session, pilot)
    totals = report.totals()
    assert sum(totals["units"].values()) == 120 and sum(totals["moderators"].values()) == 120
    assert abs(totals["units"]["control"] - totals["units"]["treatment"]) <= 2 * len(report.strata)
    attributes = {(s.attribute, s.level) for s in report.smds}
    assert ("tenure_months", None) in attributes and ("baseline_accuracy", None) in attributes
    assert {("site", site) for site in ("Austin", "Dublin", "Manila")} <= attributes
    # Stratifying on site and tenure keeps both close to balanced.
    tenure = next(s for s in report.smds if s.attribute == "tenure_months")
    assert tenure.n_arm + tenure.n_reference == 120 and abs(tenure.smd) < 0.2
    document = report.to_dict()
    assert document["reference_arm"] == "control" and document["smd_threshold"] == 0.1
    rows = list(balance_table(report).rows())
    assert len(rows) == 2 * len(report.strata)
    assert sum(r["units"] for r in rows) == 120


def test_team_report_counts_teams_as_units(session):
    pilot = make_pilot(session, status="running", unit="team", strata=["site"])
    add_roster(session, pilot, moderators(60, teams=12))
    randomize(session, pilot)
    session.flush()
    totals = balance_report(session, pilot).totals()
    assert sum(totals["units"].values()) == 12 and sum(totals["moderators"].values()) == 60


def test_no_report_before_launch(session):
    pilot = make_pilot(session)
    with pytest.raises(Conflict, match="after launch"):
        balance_report(session, pilot)
