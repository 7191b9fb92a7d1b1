"""Operating conditions real moderation pilots meet, as knobs on top of the simulator's model (issue 10's matrix).

A `Scenario` changes the per-moderator-day cells of `pilots.simulation.model.cell_parameters` (expected audits and
accuracy) and how audits reach PilotLab, never the statistics. Every knob is common to both arms except
`attrition_share`, the one condition whose right answer is `invalid`:

1. ``weekday_volume`` / ``weekday_accuracy_points`` and ``holidays``: day-of-week and holiday seasonality in audit
   volume and accuracy;
2. ``heavy_share`` / ``heavy_factor``: heavy-tailed audit rates (a few moderators with ten times the audits);
3. effects that ramp up or fade are `SimulationSettings.effect_shape` (``ramp`` / ``fade``) already;
4. ``drift_points_per_week``: QA drift, auditors getting stricter over time (accuracy falls in both arms);
5. ``delay_max_days``: each audit arrives 0..``delay_max_days`` days after it happened (uniformly), so a look on day
   d sees only what had arrived by then (`arrived_by`);
6. ``attrition_share`` / ``attrition_day``: that share of the treatment arm stops being audited from that day;
7. ``late_share`` / ``late_window_days``: that share of moderators joins the pilot at a uniform day within the window
   (no pilot audits before; their pre-period history is kept, as for a moderator who moves into the pilot's queue);
8. ``absence_share``: each moderator is away (no audits) in each pilot week with that probability, independently, in
   both arms: leave and sick weeks, the silences a valid pilot has and the attrition check must not flag.

These are separate from `SimulationSettings` (which describes the operation) so that scenario knobs and the
operation's own settings evolve independently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pilots.simulation.model import cell_parameters, day_range, effect_scales
from pilots.simulation.settings import SimulatedRoster, SimulationSettings

NO_WEEKDAY_EFFECT = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Scenario:
    """Knobs of one operating condition (defaults: none of them, the plain model). See the module docstring."""

    name: str = "baseline"
    weekday_volume: tuple[float, ...] = NO_WEEKDAY_EFFECT
    weekday_accuracy_points: tuple[float, ...] = (0.0,) * 7
    holidays: tuple[int, ...] = ()
    holiday_volume: float = 0.15
    holiday_accuracy_points: float = -1.0
    heavy_share: float = 0.0
    heavy_factor: float = 10.0
    drift_points_per_week: float = 0.0
    delay_max_days: int = 0
    attrition_share: float = 0.0
    attrition_day: int = 14
    late_share: float = 0.0
    late_window_days: int = 28
    absence_share: float = 0.0
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        checks = [
            (len(self.weekday_volume) == 7 and min(self.weekday_volume) >= 0, "weekday_volume needs 7 values >= 0"),
            (len(self.weekday_accuracy_points) == 7, "weekday_accuracy_points needs 7 values"),
            (self.holiday_volume >= 0, "holiday_volume must be >= 0"),
            (0.0 <= self.heavy_share <= 1.0 and self.heavy_factor > 0, "heavy_share in [0, 1], heavy_factor > 0"),
            (self.delay_max_days >= 0, "delay_max_days must be >= 0"),
            (0.0 <= self.attrition_share <= 1.0 and self.attrition_day >= 0, "attrition_share in [0, 1]"),
            (0.0 <= self.late_share <= 1.0 and self.late_window_days >= 1, "late_share in [0, 1], window >= 1"),
            (0.0 <= self.absence_share <= 1.0, "absence_share in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True, eq=False)
class ScenarioDays:
    """Per-moderator-per-day counts under a scenario, shape (moderators, days), and when they arrive.

    ``day_offsets`` as in `pilots.simulation.UnitDays`. ``audits_by_delay[k]`` / ``correct_by_delay[k]`` /
    ``critical_by_delay[k]`` hold the audits of each cell that arrive ``k`` days late (one slice when nothing is
    late); `arrived_by` sums what had arrived by a given pilot day.
    """

    day_offsets: np.ndarray
    audits_by_delay: np.ndarray
    correct_by_delay: np.ndarray
    critical_by_delay: np.ndarray
    join_day: np.ndarray

    def arrived_by(self, day: int | None = None) -> dict[str, np.ndarray]:
        """Counts per cell that had arrived by the end of pilot day ``day`` (None: everything, eventually)."""
        out = {}
        for name, stack in (
            ("audits", self.audits_by_delay),
            ("correct", self.correct_by_delay),
            ("critical", self.critical_by_delay),
        ):
            if day is None:
                out[name] = stack.sum(axis=0)
                continue
            lag = np.arange(stack.shape[0])[:, None, None]
            arrived = self.day_offsets[None, None, :] + lag <= day
            out[name] = np.where(arrived, stack, 0).sum(axis=0)
        return out


def simulate_scenario_days(
    roster: SimulatedRoster,
    assignment: Mapping[str, str],
    settings: SimulationSettings,
    scenario: Scenario,
    rng: np.random.Generator,
) -> ScenarioDays:
    """Draw per-moderator-day audits, correct and critical counts under ``scenario`` (handle times are not drawn)."""
    days = day_range(settings, None)
    params = cell_parameters(roster, effect_scales(roster, assignment, settings), settings, days)
    n = len(roster)
    weekday = (settings.start_date.weekday() + days) % 7
    volume = np.asarray(scenario.weekday_volume)[weekday] * np.ones(days.size)
    shift = np.asarray(scenario.weekday_accuracy_points)[weekday] / 100.0
    holiday = np.isin(days, np.asarray(scenario.holidays, dtype=np.int64))
    volume = np.where(holiday, volume * scenario.holiday_volume, volume)
    shift = np.where(holiday, shift + scenario.holiday_accuracy_points / 100.0, shift)
    shift = shift - scenario.drift_points_per_week / 100.0 * (days - days[0]) / 7.0
    expected = params.expected_audits * volume[None, :]
    if scenario.heavy_share > 0:
        heavy = rng.random(n) < scenario.heavy_share
        expected = np.where(heavy[:, None], expected * scenario.heavy_factor, expected)
    arms = np.array([assignment.get(mid) for mid in roster.moderator_ids], dtype=object)
    if scenario.attrition_share > 0:
        treated = (arms != settings.control) & (arms != None)  # noqa: E711 (elementwise on an object array)
        gone = treated & (rng.random(n) < scenario.attrition_share)
        expected = np.where(gone[:, None] & (days >= scenario.attrition_day)[None, :], 0.0, expected)
    join = np.zeros(n, dtype=np.int64)
    if scenario.late_share > 0:
        late = rng.random(n) < scenario.late_share
        join = np.where(late, rng.integers(1, scenario.late_window_days + 1, n), 0)
        expected = np.where((days[None, :] >= 0) & (days[None, :] < join[:, None]), 0.0, expected)
    if scenario.absence_share > 0:
        week = np.floor_divide(days, 7)
        away = rng.random((n, int(week.max() - week.min()) + 1)) < scenario.absence_share
        expected = np.where((days >= 0)[None, :] & away[:, week - week.min()], 0.0, expected)
    accuracy = np.clip(params.accuracy + shift[None, :], 0.0, 1.0)
    audits = rng.poisson(expected)
    correct = rng.binomial(audits, accuracy)
    critical = rng.binomial(correct, params.critical_if_correct) + rng.binomial(
        audits - correct, params.critical_if_wrong
    )
    lags = scenario.delay_max_days + 1
    if lags == 1:
        stacks = [a[None] for a in (audits, correct, critical)]
    else:
        # Split each cell's audits over the delays (uniform), keeping correct and critical counts consistent.
        share = np.full(lags, 1.0 / lags)
        stacks = [np.moveaxis(rng.multinomial(audits, share), -1, 0)]
        correct_split = np.zeros_like(stacks[0])
        critical_split = np.zeros_like(stacks[0])
        left_audits, left_correct, left_critical = audits.copy(), correct.copy(), critical.copy()
        for k in range(lags - 1):
            take = stacks[0][k]
            correct_split[k] = rng.hypergeometric(left_correct, left_audits - left_correct, take)
            critical_split[k] = rng.hypergeometric(left_critical, left_audits - left_critical, take)
            left_audits -= take
            left_correct -= correct_split[k]
            left_critical -= critical_split[k]
        correct_split[-1], critical_split[-1] = left_correct, left_critical
        stacks += [correct_split, critical_split]
    return ScenarioDays(days, *stacks, join_day=join)
