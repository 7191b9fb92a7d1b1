"""The results loader's fast read (packed rows on SQLite, scatter per unit) and the one-pass breakdown helpers give
exactly the panel and labels of the plain computation, including the rows that force the fallback read."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import update
from sqlmodel import select

from pilots import rollups
from pilots.assignment.strata import band
from pilots.catalog import METRICS
from pilots.models import Assignment, Pilot
from pilots.results import loader, looks
from pilots.results.breakdowns import _levels, segment_labels
from pilots.results.loader import COLUMN, Panel, load_panel
from pilots.results.units import Units
from pilots.rollups import SUMS
from tests.pilots.results_support import START, assignment, make_pilot, settings

PRE_START = START - timedelta(days=21)  # settings(): three pre-period weeks


def _write(session, pilot_id: int, sums: dict) -> None:
    rollups.add(session.connection(), pilot_id, sums)
    session.execute(update(Pilot).where(Pilot.id == pilot_id).values(data_version=Pilot.data_version + 1))
    session.commit()


def _rows(moderators: list[str], rng: np.random.Generator, first: date, days: int) -> dict:
    """Random rollups (every count below 1,024) for some moderator-days; half-second handle times."""
    sums = {}
    for moderator in moderators:
        for offset in range(days):
            if rng.random() < 0.3:
                continue
            audits = int(rng.integers(1, 40))
            handle = float(rng.integers(1, 4000)) / 2
            sums[(moderator, (first + timedelta(days=offset)).isoformat())] = [
                audits,
                int(rng.integers(0, audits + 1)),
                audits - 1,
                int(rng.integers(0, 3)),
                audits,
                handle,
                handle * handle,
            ]
    return sums


def _expected(sums: dict, unit_of: dict[str, int], units: int, start: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    values, pre = np.zeros((len(SUMS), units, days)), np.zeros((len(SUMS), units))
    for (moderator, day), acc in sums.items():
        if moderator not in unit_of:
            continue
        offset = (date.fromisoformat(day) - start).days
        if offset < 0:
            pre[:, unit_of[moderator]] += acc
        elif offset < days:
            values[:, unit_of[moderator], offset] += acc
    return values, pre


def _pilot(session, **overrides) -> tuple[int, list[str]]:
    pilot_id, _ = make_pilot(session, settings(n_moderators=12), **overrides)
    return pilot_id, sorted(assignment(session, pilot_id))


@pytest.mark.parametrize("large", [False, True], ids=["packed", "fallback"])
def test_panel_holds_exactly_the_written_rollups(session, large):
    pilot_id, moderators = _pilot(session)
    rng = np.random.default_rng(7)
    sums = _rows(moderators, rng, PRE_START, 21 + 28)
    sums[("not-enrolled", START.isoformat())] = [5, 5, 5, 0, 5, 10.0, 20.0]  # no assignment: ignored
    if large:  # more than 1,023 audits of one moderator in one day do not fit the packed row: the plain read
        sums[(moderators[3], (START + timedelta(days=2)).isoformat())] = [5000, 4800, 5000, 12, 4990, 1e5, 3e7]
    _write(session, pilot_id, sums)
    through = START + timedelta(days=20)
    panel = load_panel(session, pilot_id, "moderator", START, through, PRE_START)
    assert panel.units.ids == tuple(moderators)
    values, pre = _expected(sums, {m: k for k, m in enumerate(moderators)}, len(moderators), START, 21)
    np.testing.assert_array_equal(panel.daily(), values)
    np.testing.assert_array_equal(panel.pre, pre)
    assert panel.days == 21 and panel.pre_days == 21


def test_day_beyond_the_packed_range_falls_back_to_the_plain_read(session):
    pilot_id, moderators = _pilot(session)
    late = START + timedelta(days=9000)
    sums = {(moderators[0], START.isoformat()): [3, 2, 3, 1, 3, 9.5, 31.25]}
    sums[(moderators[1], late.isoformat())] = [4, 4, 4, 0, 4, 12.0, 40.0]
    _write(session, pilot_id, sums)
    panel = load_panel(session, pilot_id, "moderator", START, late, None)
    assert panel.days == 9001 and panel.pre_days == 0
    np.testing.assert_array_equal(panel.daily()[:, 0, 0], [3, 2, 3, 1, 3, 9.5, 31.25])
    np.testing.assert_array_equal(panel.daily()[:, 1, 9000], [4, 4, 4, 0, 4, 12.0, 40.0])
    assert panel.daily().sum() == 52.75 + 68


def test_team_units_sum_their_moderators_rows(session):
    pilot_id, _ = make_pilot(session, settings(n_moderators=24), unit="team", strata=[])
    teams = dict(
        session.exec(select(Assignment.moderator_id, Assignment.unit_id).where(Assignment.pilot_id == pilot_id)).all()
    )
    sums = _rows(sorted(teams), np.random.default_rng(3), PRE_START, 21 + 14)
    _write(session, pilot_id, sums)
    panel = load_panel(session, pilot_id, "team", START, START + timedelta(days=13), PRE_START)
    ids = sorted(set(teams.values()))
    assert panel.units.ids == tuple(ids) and len(ids) < len(teams)
    values, pre = _expected(sums, {m: ids.index(t) for m, t in teams.items()}, len(ids), START, 14)
    np.testing.assert_array_equal(panel.daily(), values)  # half-second sums: exact in any order
    np.testing.assert_array_equal(panel.pre, pre)
    # Each member's own daily audits are kept too (the attrition check counts silent moderators within teams).
    members = sorted(teams)
    expected = np.zeros((len(members), 14))
    for (moderator, day), acc in sums.items():
        offset = (date.fromisoformat(day) - START).days
        if 0 <= offset < 14:
            expected[members.index(moderator), offset] += acc[0]
    np.testing.assert_array_equal(panel.member_audits, expected)
    assert [ids[u] for u in panel.member_unit] == [teams[m] for m in members]
    np.testing.assert_array_equal(panel.through(6).member_audits, expected[:, :7])
    np.testing.assert_array_equal(panel.member_audits.sum(axis=0), panel.daily()[COLUMN["audits"]].sum(axis=0))


def test_pilot_without_rows_loads_zeros(session):
    pilot_id, moderators = _pilot(session)
    panel = load_panel(session, pilot_id, "moderator", START, START + timedelta(days=6), PRE_START)
    assert panel.daily().shape == (len(SUMS), len(moderators), 7) and not panel.daily().any() and not panel.pre.any()
    assert panel.last_day_with_audits() is None


def _random_panel(rng: np.random.Generator, units: int, days: int) -> Panel:
    values = rng.standard_normal((len(SUMS), units, days)) * 10.0 ** rng.integers(-6, 7, (len(SUMS), units, days))
    values[rng.random(values.shape) < 0.3] = 0.0
    ids = tuple(f"u{k}" for k in range(units))
    return Panel(
        Units(ids, np.array(["control"] * units), ("all",) * units, {}, {}), START, days, values, values[:, :, 0], 0
    )


@pytest.mark.parametrize("days", [1, 6, 7, 8, 13, 14, 20, 56])
def test_weeks_are_the_week_windows_bit_for_bit(days):
    panel = _random_panel(np.random.default_rng(days), 37, days)
    for through in range(days):
        weeks = panel.weeks("handle_sum", through)
        assert len(weeks) == through // 7 + 1
        for w, got in enumerate(weeks):
            expected = panel.window("handle_sum", 7 * w, min(7 * w + 6, through))
            assert got.tobytes() == expected.tobytes()


def _count_panel(rng: np.random.Generator, units: int, days: int) -> Panel:
    """Integer counts (as rollups hold them) and float handle-time sums, daily."""
    values = rng.poisson(3.0, (len(SUMS), units, days)).astype(float)
    values[:, :, rng.random(days) < 0.2] = 0.0  # whole silent days
    values[COLUMN["handle_sum"]] = rng.gamma(2.0, 40.0, (units, days)) * (values[COLUMN["handle_audits"]] > 0)
    values[COLUMN["handle_sum2"]] = values[COLUMN["handle_sum"]] ** 2 / 3.0
    ids = tuple(f"u{k}" for k in range(units))
    return Panel(
        Units(ids, np.array(["control"] * units), ("all",) * units, {}, {}), START, days, values, values[:, :, 0], 0
    )


@pytest.mark.parametrize("days", [1, 7, 15, 56])
def test_counts_kept_cumulative_answer_every_question_with_the_same_bits(days):
    """The loader keeps the count columns as running sums (`counts_cumulative`); every accessor answers exactly as
    the daily panel does, at every cut."""
    daily = _count_panel(np.random.default_rng(days), 23, days)
    values = daily.values.copy()
    for name in ("audits", "correct", "critical_audits", "critical", "handle_audits"):
        values[COLUMN[name]] = np.cumsum(values[COLUMN[name]], axis=1)
    kept = Panel(daily.units, START, days, values, daily.pre, 0, counts_cumulative=True)
    np.testing.assert_array_equal(kept.daily(), daily.values, strict=True)
    for cut in {0, days // 2, days - 1}:
        a, b = daily.through(cut), kept.through(cut)
        assert a.last_day_with_audits() == b.last_day_with_audits()
        for name in SUMS:
            assert a.column(name).tobytes() == b.column(name).tobytes()
            assert (
                a.cumulative_at(name, tuple(range(a.days))).tobytes()
                == b.cumulative_at(name, tuple(range(b.days))).tobytes()
            )
            for through in range(a.days):
                assert a.cumulative(name, through).tobytes() == b.cumulative(name, through).tobytes()
                assert [w.tobytes() for w in a.weeks(name, through)] == [w.tobytes() for w in b.weeks(name, through)]
                for first in range(0, through + 1, 3):
                    assert a.window(name, first, through).tobytes() == b.window(name, first, through).tobytes()


@pytest.mark.parametrize("large", [False, True], ids=["packed", "fallback"])
def test_reading_in_small_chunks_gives_the_same_panel(session, monkeypatch, large):
    """Rows are read and placed a chunk at a time; with chunks of 7 rows (a team's moderators and the row that
    forces the plain read falling in different chunks) the panel is the same to the bit."""
    pilot_id, _ = make_pilot(session, settings(n_moderators=24), unit="team", strata=[])
    teams = dict(
        session.exec(select(Assignment.moderator_id, Assignment.unit_id).where(Assignment.pilot_id == pilot_id)).all()
    )
    sums = _rows(sorted(teams), np.random.default_rng(11), PRE_START, 21 + 14)
    if large:
        sums[(sorted(teams)[5], (START + timedelta(days=9)).isoformat())] = [5000, 4800, 5000, 12, 4990, 1e5, 3e7]
    _write(session, pilot_id, sums)
    whole = load_panel(session, pilot_id, "team", START, START + timedelta(days=13), PRE_START)
    monkeypatch.setattr(loader, "CHUNK_ROWS", 7)
    chunked = load_panel(session, pilot_id, "team", START, START + timedelta(days=13), PRE_START)
    for field in ("values", "pre", "set_aside", "member_audits"):
        np.testing.assert_array_equal(getattr(chunked, field), getattr(whole, field), strict=True)


def test_segment_labels_and_levels_match_the_per_unit_computation():
    rng = np.random.default_rng(5)
    k = 500
    tenure = rng.choice([0.0, 3.0, 5.5, 6.0, 11.9, 12.0, 30.0, math.nan], k)
    sites = np.array(rng.choice(["Manila", "Austin", "", "Dublin"], k), dtype=object)
    units = Units(
        tuple(f"m{i:04d}" for i in range(k)),
        np.array(["control"] * k, dtype=object),
        ("all",) * k,
        {},
        {"site": sites, "language": np.array([""] * k, dtype=object), "tenure_months": tenure},
    )
    panel = Panel(units, START, 1, np.zeros((len(SUMS), k, 1)), np.zeros((len(SUMS), k)), 0)
    bands = segment_labels(panel, "tenure_band")
    assert list(bands) == [band("tenure_months", v) if math.isfinite(v) else "" for v in tenure]
    for labels in (bands, sites, units.attributes["language"]):
        naive = [(level, labels == level) for level in sorted({str(v) for v in labels if v})]
        fast = _levels(labels)
        assert [level for level, _ in fast] == [level for level, _ in naive]
        for (_, got), (_, expected) in zip(fast, naive, strict=True):
            np.testing.assert_array_equal(got, expected)
    assert COLUMN["handle_sum"] == SUMS.index("handle_sum")


def test_columns_left_out_are_not_read_and_refused(session):
    pilot_id, moderators = _pilot(session)
    sums = _rows(moderators, np.random.default_rng(11), PRE_START, 21 + 14)
    _write(session, pilot_id, sums)
    through = START + timedelta(days=13)
    full = load_panel(session, pilot_id, "moderator", START, through, PRE_START)
    asked = []

    def columns(pre_only: Panel) -> set[str]:
        asked.append(pre_only)
        return {"correct", "handle_sum"}

    part = load_panel(session, pilot_id, "moderator", START, through, PRE_START, columns=columns)
    assert asked[0].days == 0 and asked[0].pre.tobytes() == full.pre.tobytes()
    assert part.loaded == {"audits", "correct", "handle_sum"}
    for name in SUMS:
        if name in part.loaded:
            assert part.column(name).tobytes() == full.column(name).tobytes()
            assert part.cumulative(name, 13).tobytes() == full.cumulative(name, 13).tobytes()
        else:
            with pytest.raises(KeyError):
                part.column(name)
            with pytest.raises(KeyError):
                part.cumulative_at(name, (3, 5))
    np.testing.assert_array_equal(part.pre, full.pre)


@pytest.mark.parametrize("pre_period", [True, False])
def test_pilot_squares_are_read_only_without_a_pre_period_model(session, pre_period):
    pilot_id, moderators = _pilot(session, pre_period=pre_period)
    _write(session, pilot_id, _rows(moderators, np.random.default_rng(13), PRE_START, 21 + 7))
    start = PRE_START if pre_period else None
    pre_only = load_panel(session, pilot_id, "moderator", START, START - timedelta(days=1), start)
    wanted = looks.pilot_columns(pre_only, [METRICS["accuracy"], METRICS["handle_time"]])
    expected = {"audits", "correct", "handle_sum", "handle_audits"}
    assert wanted == (expected if pre_period else expected | {"handle_sum2"})
