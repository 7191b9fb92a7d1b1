"""The per-moderator-day model shared by the row generator and the aggregated path.

Both paths compute the same cell parameters here (expected audits, accuracy, critical-error probabilities and the
log-scale handle-time location for each moderator and day), so they simulate one model and differ only in whether
individual audits are materialized.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from pilots.simulation.settings import SimulatedRoster, SimulationSettings

MIN_HANDLE_TIME_S = 1.0


@dataclass(frozen=True, eq=False)
class CellParameters:
    """Arrays of shape (units, days) for a block of days; ``day_offsets`` are days since the pilot start."""

    day_offsets: np.ndarray
    expected_audits: np.ndarray
    accuracy: np.ndarray
    critical_if_correct: np.ndarray
    critical_if_wrong: np.ndarray
    log_handle_location: np.ndarray


def effect_scales(roster: SimulatedRoster, assignment: Mapping[str, str], settings: SimulationSettings) -> np.ndarray:
    """Per-unit share of the configured effect: 0 for control and unassigned units, else the arm's scale."""
    return np.array([settings.effect_scale(assignment.get(mid)) for mid in roster.moderator_ids], dtype=float)


def cell_parameters(
    roster: SimulatedRoster,
    scales: np.ndarray,
    settings: SimulationSettings,
    day_offsets: np.ndarray,
) -> CellParameters:
    """Model parameters for every unit and each day in ``day_offsets`` (days since ``settings.start_date``)."""
    days = np.asarray(day_offsets, dtype=np.int64)
    weekday = (settings.start_date.weekday() + days) % 7
    works = roster.working_days[:, weekday]
    expected = roster.audits_per_week[:, None] / settings.working_days_per_week * works

    # Effects switch on at launch; "weeks since launch" is taken at midday.
    shape = settings.shape(np.where(days >= 0, (days + 0.5) / 7.0, -1.0))
    effect = scales[:, None] * shape[None, :]
    accuracy = np.clip(roster.accuracy[:, None] + effect * settings.accuracy_effect_points / 100.0, 0.0, 1.0)
    critical_factor = 1.0 + effect * settings.critical_effect_relative
    critical_if_correct = np.clip(settings.critical_given_correct * critical_factor, 0.0, 1.0)
    critical_if_wrong = np.clip(settings.critical_given_wrong * critical_factor, 0.0, 1.0)
    log_handle = (
        np.log(settings.handle_time_median_s)
        + roster.handle_factor[:, None]
        + np.log1p(effect * settings.handle_time_effect_relative)
    )
    return CellParameters(
        day_offsets=days,
        expected_audits=expected,
        accuracy=accuracy,
        critical_if_correct=critical_if_correct,
        critical_if_wrong=critical_if_wrong,
        log_handle_location=log_handle,
    )


def draw_handle_times(location: np.ndarray, settings: SimulationSettings, rng: np.random.Generator) -> np.ndarray:
    """Per-audit handle times in seconds, log-normal around ``exp(location)``, recorded to 0.1 s, at least 1 s."""
    seconds = np.exp(location + settings.handle_time_sigma * rng.standard_normal(location.shape))
    return np.maximum(np.round(seconds, 1), MIN_HANDLE_TIME_S)


@dataclass(frozen=True, eq=False)
class AuditDraws:
    """Materialized audits of one block: cell index (unit * days + day), outcome and time of day."""

    unit: np.ndarray
    day: np.ndarray
    correct: np.ndarray
    critical: np.ndarray
    handle_time_s: np.ndarray
    seconds_of_day: np.ndarray


def draw_audits(
    params: CellParameters,
    roster: SimulatedRoster,
    settings: SimulationSettings,
    rng: np.random.Generator,
) -> AuditDraws:
    """Draw individual audits for a block of cells: Poisson counts, Bernoulli outcomes, log-normal handle times."""
    n_units, n_days = params.expected_audits.shape
    counts = rng.poisson(params.expected_audits).ravel()
    cell = np.repeat(np.arange(n_units * n_days), counts)
    correct = rng.random(cell.size) < params.accuracy.ravel()[cell]
    p_critical = np.where(correct, params.critical_if_correct.ravel()[cell], params.critical_if_wrong.ravel()[cell])
    critical = rng.random(cell.size) < p_critical
    handle = draw_handle_times(params.log_handle_location.ravel()[cell], settings, rng)
    unit, day = np.divmod(cell, n_days)
    shift_start = np.array([site.shift_start_utc for site in settings.sites]) * 3600.0
    seconds = shift_start[roster.site_index[unit]] + rng.random(cell.size) * settings.shift_hours * 3600
    seconds = np.minimum(seconds.astype(np.int64), 86399)
    return AuditDraws(
        unit=unit,
        day=day,
        correct=correct,
        critical=critical,
        handle_time_s=handle,
        seconds_of_day=seconds,
    )


def day_range(settings: SimulationSettings, until: date | None) -> np.ndarray:
    """Day offsets from the first pre-period day to the last pilot day, cut at ``until`` (inclusive)."""
    first, stop = -7 * settings.pre_weeks, 7 * settings.weeks
    if until is not None:
        stop = min(stop, (until - settings.start_date).days + 1)
    return np.arange(first, max(first, stop), dtype=np.int64)
