"""Launch randomization: reproducible, balanced within strata, weighted, team-level, late joiners, layer conflicts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pilots.assignment.blocks import allocation_cycle, assign_strata, block_sequence, reassign, stratum_generator
from pilots.assignment.randomization import assign_late_joiners, randomize
from pilots.errors import Conflict, ValidationFailed
from tests.pilots._roster_factories import add_roster, make_pilot, moderators


def _arms(assignments) -> dict[str, str]:
    return {a.moderator_id: a.arm for a in assignments}


def _launch(session, rows, **plan):
    pilot = make_pilot(session, **plan)
    add_roster(session, pilot, rows)
    assignments = randomize(session, pilot)
    session.flush()
    return pilot, assignments


def test_sequence_is_pinned_across_machines_and_versions():
    # A literal: if this changes, stored pilots could no longer be replayed or continued.
    sequence = block_sequence(("control", "treatment"), stratum_generator(42, "all"), 12)
    assert sequence == [
        "control", "treatment", "treatment", "control", "control", "treatment",
        "treatment", "control", "treatment", "control", "control", "control",
    ]  # fmt: skip


def test_allocation_cycle_reduces_weights():
    assert allocation_cycle([("a", 2), ("b", 2)]) == ("a", "b")
    assert allocation_cycle({"a": 2, "b": 1}) == ("a", "a", "b")
    for bad in ([("a", 1)], [("a", 0), ("b", 1)], [("a", 1.5), ("b", 1)], [("a", 1), ("a", 1)]):
        with pytest.raises(ValueError):
            allocation_cycle(bad)


def test_same_seed_same_assignment_whatever_the_row_order(session):
    rows = moderators(90)
    _, first = _launch(session, rows)
    _, second = _launch(session, list(reversed(rows)))
    assert _arms(first) == _arms(second)
    assert {a.moderator_id: (a.stratum, a.sequence) for a in first} == {
        a.moderator_id: (a.stratum, a.sequence) for a in second
    }


def test_different_seed_gives_a_different_assignment(session):
    rows = moderators(90)
    _, first = _launch(session, rows, seed=1)
    _, second = _launch(session, rows, seed=2)
    assert _arms(first) != _arms(second)


@pytest.mark.parametrize(("weights", "per_cycle"), [((1, 1), {"control": 1, "treatment": 1}), ((2, 1), None)])
def test_every_stratum_is_within_one_block_of_the_weights(session, weights, per_cycle):
    arms = [{"name": "control", "weight": weights[0]}, {"name": "treatment", "weight": weights[1]}]
    _, assignments = _launch(session, moderators(300), arms=arms)
    strata: dict[str, Counter] = {}
    for a in assignments:
        strata.setdefault(a.stratum, Counter())[a.arm] += 1
    assert len(strata) == 12  # 3 sites x 4 tenure bands
    total_weight = sum(weights)
    for counts in strata.values():
        n = sum(counts.values())
        for arm, weight in zip(("control", "treatment"), weights, strict=True):
            assert abs(counts[arm] - n * weight / total_weight) <= 2 * weight
    overall = Counter(a.arm for a in assignments)
    if weights == (2, 1):
        assert overall["control"] == pytest.approx(200, abs=12 * 2)


def test_team_randomization_gives_each_team_one_arm_and_stratum(session):
    rows = moderators(120, teams=20)
    _, assignments = _launch(session, rows, unit="team", strata=["site", "tenure_months"])
    by_team: dict[str, set] = {}
    for a in assignments:
        by_team.setdefault(a.unit_id, set()).add((a.arm, a.stratum, a.sequence))
    assert len(by_team) == 20
    assert all(len(values) == 1 for values in by_team.values())
    # Teams here mix sites (i % 3 vs i % 20); the team takes the most common site, ties to the smallest label.
    _, again = _launch(session, list(reversed(rows)), unit="team", strata=["site", "tenure_months"])
    assert _arms(assignments) == _arms(again)


def test_empty_roster_and_missing_stratum_values_are_rejected(session):
    pilot = make_pilot(session)
    with pytest.raises(ValidationFailed) as empty:
        randomize(session, pilot)
    assert empty.value.details[0]["field"] == "roster"
    rows = moderators(4)
    rows[1]["site"] = ""
    rows[2]["tenure_months"] = None
    add_roster(session, pilot, rows)
    with pytest.raises(ValidationFailed) as missing:
        randomize(session, pilot)
    assert {(d["field"], "m0001" in d["message"] or "m0002" in d["message"]) for d in missing.value.details} == {
        ("site", True),
        ("tenure_months", True),
    }


def test_extra_attribute_strata_and_baseline_accuracy_bands(session):
    _, assignments = _launch(session, moderators(40), strata=["baseline_accuracy", "language"])
    keys = {a.stratum for a in assignments}
    assert "baseline_accuracy=<0.80|language=en" in keys
    assert all(k.split("|")[0].split("=", 1)[1] in {"<0.80", "0.80-0.90", "0.90-0.95", "0.95+"} for k in keys)


def _scored(count: int, prefix: str = "m") -> list[dict]:
    rows = moderators(count, prefix=prefix)
    for i, row in enumerate(rows):
        row["score"] = round(0.5 + ((i * 37) % 101) / 250, 4)  # 40 distinct values, no natural categories
        row["shift"] = i % 3 + 1  # three values: a category
    return rows


def test_a_continuous_extra_attribute_is_banded_at_the_launch_rosters_quartiles(session):
    rows = _scored(40)
    _, assignments = _launch(session, rows, strata=["score"])
    scores = sorted(r["score"] for r in rows)
    edges = [scores[10], scores[20], scores[30]]  # smallest value at or above each quartile
    expected = {f"score=<{edges[0]:g}", f"score={edges[0]:g}-{edges[1]:g}", f"score={edges[1]:g}-{edges[2]:g}"}
    by_stratum = Counter(a.stratum for a in assignments)
    assert set(by_stratum) == expected | {f"score={edges[2]:g}+"}
    assert set(by_stratum.values()) == {10}
    arms = Counter((a.stratum, a.arm) for a in assignments)
    assert all(abs(arms[(key, "control")] - arms[(key, "treatment")]) <= 2 for key in by_stratum)
    _, shuffled = _launch(session, list(reversed(rows)), strata=["score"])
    assert _arms(shuffled) == _arms(assignments)


def test_a_numeric_attribute_with_few_values_stays_a_category(session):
    _, assignments = _launch(session, _scored(30), strata=["shift"])
    assert {a.stratum for a in assignments} == {"shift=1", "shift=2", "shift=3"}


def test_late_joiners_are_banded_with_the_launch_edges(session):
    pilot, first = _launch(session, _scored(40), strata=["score"], status="running")
    top = max(a.stratum for a in first if a.stratum.endswith("+"))
    late_rows = [dict(_scored(1, prefix="late")[0], score=5.0), dict(_scored(1, prefix="low")[0], score=-1.0)]
    late = add_roster(session, pilot, late_rows, late_joiner=True)
    added = {a.moderator_id: a.stratum for a in assign_late_joiners(session, pilot, late)}
    assert added["late0000"] == top  # the launch edges, not edges recomputed with the newcomers
    assert added["low0000"].startswith("score=<")


def test_team_pilots_band_team_means(session):
    rows = _scored(60)  # six teams of ten
    _, assignments = _launch(session, rows, strata=["score"], unit="team")
    means = {}
    for row in rows:
        means.setdefault(row["team"], []).append(row["score"])
    means = sorted(sum(v) / len(v) for v in means.values())
    edges = [means[2], means[3], means[5]]  # quartiles of six team means: positions ceil(6k/4)
    strata = {a.unit_id: a.stratum for a in assignments}
    assert len(set(strata.values())) == 4
    assert Counter(strata.values())[f"score={edges[2]:g}+"] == 1
    assert all(len({a.stratum for a in assignments if a.unit_id == team}) == 1 for team in strata)


def test_relaunch_is_refused(session):
    pilot, _ = _launch(session, moderators(10))
    with pytest.raises(Conflict):
        randomize(session, pilot)


def test_late_joiners_continue_the_sequence_deterministically(session):
    results = []
    for _ in range(2):
        pilot, first = _launch(session, moderators(60), status="running")
        late = add_roster(session, pilot, moderators(9, prefix="late"), late_joiner=True)
        added = assign_late_joiners(session, pilot, late)
        session.flush()
        results.append([(a.moderator_id, a.arm, a.stratum, a.sequence) for a in added])
        everyone = [*first, *added]
    assert results[0] == results[1]
    for _moderator_id, arm, stratum, sequence in results[0]:
        expected = block_sequence(("control", "treatment"), stratum_generator(pilot.seed, stratum), sequence + 1)
        assert arm == expected[sequence]
    # Positions in each stratum stay contiguous, so counts stay within one block.
    positions: dict[str, list[int]] = {}
    for a in everyone:
        positions.setdefault(a.stratum, []).append(a.sequence)
    assert all(sorted(p) == list(range(len(p))) for p in positions.values())


def test_late_joiner_to_existing_team_gets_the_team_arm(session):
    pilot, first = _launch(session, moderators(60, teams=10), unit="team", status="running")
    team_arm = {a.unit_id: (a.arm, a.stratum, a.sequence) for a in first}
    late = add_roster(
        session,
        pilot,
        [
            {"moderator_id": "new-1", "team": "team-3", "site": "Dublin", "tenure_months": 1.0},
            {"moderator_id": "new-2", "team": "team-new", "site": "Dublin", "tenure_months": 1.0},
        ],
        late_joiner=True,
    )
    added = {a.moderator_id: a for a in assign_late_joiners(session, pilot, late)}
    assert (added["new-1"].arm, added["new-1"].stratum, added["new-1"].sequence) == team_arm["team-3"]
    assert added["new-2"].unit_id == "team-new" and added["new-2"].late_joiner


def _running(session, rows, **plan):
    return _launch(session, rows, status="running", **plan)


def test_layer_conflicts_list_every_clash(session):
    other, _ = _running(session, moderators(10), layer="queue-tools", name="Other")
    pilot = make_pilot(session, layer="queue-tools")
    add_roster(session, pilot, moderators(12))
    with pytest.raises(Conflict) as error:
        randomize(session, pilot)
    details = error.value.details
    assert len(details) == 10
    assert details[0] == {
        "moderator_id": "m0000",
        "team": None,
        "pilot_id": other.id,
        "pilot_name": "Other",
        "layer": "queue-tools",
    }


@pytest.mark.parametrize(
    ("other_plan", "plan"),
    [
        ({"layer": "a", "status": "running"}, {"layer": "b"}),
        ({"layer": None, "status": "running"}, {"layer": None}),
        ({"layer": "a", "status": "concluded"}, {"layer": "a"}),
    ],
)
def test_no_conflict_across_layers_without_layer_or_after_conclusion(session, other_plan, plan):
    _launch(session, moderators(10), **other_plan)
    _, assignments = _launch(session, moderators(10), **plan)
    assert len(assignments) == 10


def test_team_pilot_conflicts_on_teams_and_late_joiners_conflict_too(session):
    other = [{"moderator_id": f"x{k}", "team": f"team-{k}", "site": "Dublin", "tenure_months": 3.0} for k in (1, 9)]
    _running(session, other, layer="L")  # two moderators: a launch needs a unit per arm
    pilot = make_pilot(session, layer="L", unit="team")
    add_roster(session, pilot, moderators(12, teams=3))
    with pytest.raises(Conflict) as error:
        randomize(session, pilot)
    assert error.value.details[0]["team"] == "team-1"
    solo = make_pilot(session, layer="L", status="running")
    add_roster(session, solo, moderators(6, prefix="s"))
    randomize(session, solo)
    late = add_roster(session, solo, [{"moderator_id": "x1", "site": "Dublin", "tenure_months": 3.0}], late_joiner=True)
    with pytest.raises(Conflict):
        assign_late_joiners(session, solo, late)


def test_reassign_matches_launch_distribution_shape():
    units = [f"u{i}" for i in range(40)]
    strata = ["a" if i % 2 else "b" for i in range(40)]
    first = reassign(units, strata, {"control": 1, "treatment": 1}, np.random.default_rng(7))
    second = reassign(units, strata, {"control": 1, "treatment": 1}, np.random.default_rng(7))
    assert first == second
    assert Counter(first) == {"control": 20, "treatment": 20}


@st.composite
def _rosters(draw):
    count = draw(st.integers(min_value=1, max_value=80))
    ids = sorted(
        draw(st.sets(st.text(alphabet="abcdefgh0123", min_size=1, max_size=6), min_size=count, max_size=count))
    )
    strata = [draw(st.sampled_from(["s=a", "s=b", "s=c|t=<6", "all"])) for _ in ids]
    weights = draw(st.sampled_from([{"c": 1, "t": 1}, {"c": 2, "t": 1}, {"a": 1, "b": 1, "c": 1}, {"c": 3, "t": 2}]))
    return ids, strata, weights, draw(st.integers(min_value=0, max_value=2**63))


@settings(max_examples=60, deadline=None)
@given(_rosters())
def test_property_every_unit_once_bounded_imbalance_deterministic(roster):
    units, strata, weights, seed = roster
    arms, positions = assign_strata(strata, allocation_cycle(weights), lambda key: stratum_generator(seed, key))
    again, _ = assign_strata(strata, allocation_cycle(weights), lambda key: stratum_generator(seed, key))
    assert arms == again and len(arms) == len(units) and set(arms) <= set(weights)
    total = sum(weights.values())
    for key in set(strata):
        members = [i for i, s in enumerate(strata) if s == key]
        assert sorted(positions[i] for i in members) == list(range(len(members)))
        counts = Counter(arms[i] for i in members)
        for arm, weight in weights.items():
            assert abs(counts[arm] - len(members) * weight / total) <= 2 * weight
    replayed = reassign(units, strata, weights, np.random.default_rng(seed))
    assert replayed == reassign(units, strata, weights, np.random.default_rng(seed))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=40), st.integers(1, 20))
def test_property_sequences_are_prefix_stable(seed, length, extra):
    cycle = ("c", "c", "t")
    short = block_sequence(cycle, stratum_generator(seed, "k"), length)
    assert block_sequence(cycle, stratum_generator(seed, "k"), length + extra)[:length] == short


@pytest.mark.parametrize(("unit", "rows"), [("moderator", moderators(2)), ("team", moderators(6, teams=2))])
def test_launch_needs_a_unit_for_every_arm(session, unit, rows):
    arms = [{"name": "control", "weight": 1}, {"name": "a", "weight": 1}, {"name": "b", "weight": 1}]
    pilot = make_pilot(session, arms=arms, strata=[], unit=unit)
    add_roster(session, pilot, rows)
    with pytest.raises(ValidationFailed) as error:
        randomize(session, pilot)
    [detail] = error.value.details
    noun = "moderators" if unit == "moderator" else "teams"
    assert detail["field"] == "roster" and f"has 2 {noun}" in detail["message"] and "at least 3" in detail["message"]


def test_a_draw_that_leaves_an_arm_empty_is_refused_and_names_the_arm(session):
    """One unit per arm is not always enough: three units in three strata each take their stratum's first arm."""
    arms = [{"name": "control", "weight": 1}, {"name": "a", "weight": 1}, {"name": "b", "weight": 1}]
    refused = 0
    for seed in range(1, 11):
        pilot = make_pilot(session, arms=arms, strata=["site"], seed=seed)
        add_roster(session, pilot, moderators(3, prefix=f"s{seed}-"))  # one moderator at each of three sites
        try:
            assignments = randomize(session, pilot)
        except ValidationFailed as error:
            refused += 1
            assert {d["field"] for d in error.details} == {"roster"}
            assert all("in 3 strata" in d["message"] and "without any" in d["message"] for d in error.details)
        else:
            assert {a.arm for a in assignments} == {"control", "a", "b"}
    assert refused > 0


def test_a_stratum_column_missing_from_the_whole_roster_is_one_problem(session):
    pilot = make_pilot(session, strata=["site", "shoe_size"])
    add_roster(session, pilot, moderators(40))
    with pytest.raises(ValidationFailed) as error:
        randomize(session, pilot)
    [detail] = error.value.details
    assert detail["field"] == "shoe_size" and detail["row"] is None
    assert "no column of the roster" in detail["message"] and "baseline_accuracy" in detail["message"]
