"""Realistic simulated moderation operations: rosters, QA audits and aggregated per-moderator-day counts.

Pure Python and numpy, no database. Everything is driven by a `numpy.random.Generator`, so a seed reproduces a whole
operation. Two paths share one model (see `pilots.simulation.model` for the model itself):

* `simulate_audits` streams audit dicts with the ingestion field names, week by week, for demos, ingestion tests and
  benchmarks; memory stays flat however many rows are drawn.
* `simulate_unit_days` draws the per-moderator-per-day sums directly (binomial counts, summed handle times), which is
  what the statistics consume, fast enough to run thousands of simulated pilots.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from pilots.ingestion.fields import FIELDS
from pilots.simulation import qa as qa_model
from pilots.simulation.model import (
    cell_parameters,
    day_range,
    draw_audits,
    draw_handle_times,
    effect_scales,
)
from pilots.simulation.settings import SimulatedRoster, SimulationSettings

# The simulator writes exactly the columns ingestion reads, in the same order.
AUDIT_FIELDS: tuple[str, ...] = FIELDS


def simple_assignment(
    roster: Sequence[Mapping[str, Any]], arms: Sequence[str], rng: np.random.Generator
) -> dict[str, str]:
    """Complete randomization into equal-as-possible arms, for simulations (not the production randomizer)."""
    labels = np.resize(np.arange(len(arms)), len(roster))
    rng.shuffle(labels)
    return {row["moderator_id"]: arms[k] for row, k in zip(roster, labels.tolist(), strict=True)}


@lru_cache(maxsize=1)
def _times_of_day() -> tuple[str, ...]:
    """'HH:MM:SS+00:00' for every second of the day, so building a timestamp is one lookup."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}+00:00" for h in range(24) for m in range(60) for s in range(60))


def _normalized(weights: Sequence[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return p / p.sum()


def simulate_audits(
    roster: SimulatedRoster,
    assignment: Mapping[str, str],
    settings: SimulationSettings,
    rng: np.random.Generator,
    *,
    until: date | None = None,
    first_audit_number: int = 1,
) -> Iterator[dict[str, Any]]:
    """Stream QA audits for the pre-period and the pilot, in time order, one week at a time.

    Parameters
    ----------
    roster : SimulatedRoster
        From `simulate_roster` with the same settings.
    assignment : Mapping[str, str]
        Moderator id to arm name. Units in a non-control arm get the configured effect during the pilot period;
        units in the control arm or missing from the mapping never do.
    settings : SimulationSettings
        The model; ``pre_weeks`` before ``start_date`` and ``weeks`` from it are simulated.
    rng : numpy.random.Generator
        Source of randomness.
    until : datetime.date, optional
        Last day to simulate (inclusive), e.g. today for a pilot in progress.
    first_audit_number : int
        Number of the first audit id (``"a000000001"`` by default).

    Yields
    ------
    dict
        Keys `AUDIT_FIELDS`: ``audited_at`` is ISO 8601 in UTC with an explicit ``+00:00`` offset,
        ``handle_time_s`` has one decimal.
    """
    days = day_range(settings, until)
    scales = effect_scales(roster, assignment, settings)
    ids = roster.moderator_ids
    times = _times_of_day()
    policy_p = _normalized(settings.policy_weights)
    queue_p = _normalized(settings.queue_weights)
    auditors = [
        f"qa-{site.name[:3].lower()}-{k + 1:02d}" for site in settings.sites for k in range(settings.auditors_per_site)
    ]
    number = first_audit_number
    qa = _QaProcess(settings, roster, scales, rng) if settings.qa.active else None
    for block_start in range(0, days.size, 7):
        block = days[block_start : block_start + 7]
        params = cell_parameters(roster, scales, settings, block)
        draws = draw_audits(params, roster, settings, rng)
        order = np.argsort(draws.day * 86400 + draws.seconds_of_day, kind="stable")
        n = order.size
        prefixes = [(settings.start_date + timedelta(days=int(d))).isoformat() + "T" for d in block]
        policy = rng.choice(len(policy_p), size=n, p=policy_p)
        queue = rng.choice(len(queue_p), size=n, p=queue_p)
        auditor = roster.site_index[draws.unit[order]] * settings.auditors_per_site + rng.integers(
            0, settings.auditors_per_site, n
        )
        correct, critical = draws.correct[order], draws.critical[order]
        double = np.zeros(n, dtype=bool)
        if qa is not None:
            graded = qa.block(params, block, draws.unit[order], draws.day[order], policy, rng)
            auditor, correct, critical, double, second, second_correct = graded
        columns = zip(
            draws.unit[order].tolist(),
            draws.day[order].tolist(),
            draws.seconds_of_day[order].tolist(),
            correct.tolist(),
            critical.tolist(),
            draws.handle_time_s[order].tolist(),
            policy.tolist(),
            queue.tolist(),
            auditor.tolist(),
            double.tolist(),
            strict=True,
        )
        policies, queues = settings.policies, settings.queues
        for k, (u, d, sec, ok, crit, handle, pol, que, aud, twice) in enumerate(columns, start=number):
            row = {
                "audit_id": f"a{k:09d}",
                "moderator_id": ids[u],
                "audited_at": prefixes[d] + times[sec],
                "correct": ok,
                "critical": crit,
                "handle_time_s": handle,
                "policy": policies[pol],
                "queue": queues[que],
                "auditor_id": auditors[aud],
                "item_id": f"i{k:09d}" if twice else None,
            }
            yield row
            if twice:
                j = k - number
                yield {
                    **row,
                    "audit_id": f"a{k:09d}b",
                    "correct": bool(second_correct[j]),
                    "auditor_id": auditors[int(second[j])],
                }
        number += n


class _QaProcess:
    """The QA process of `pilots.simulation.qa` applied to one block of drawn audits at a time."""

    def __init__(self, settings: SimulationSettings, roster: SimulatedRoster, scales: np.ndarray, rng) -> None:
        self.settings, self.roster, self.scales = settings, roster, scales
        self.pool = qa_model.auditor_pool(len(settings.sites), settings.auditors_per_site, settings.qa, rng)

    def block(self, params, block: np.ndarray, unit: np.ndarray, day: np.ndarray, policy: np.ndarray, rng):
        settings, scenario, per_site = self.settings, self.settings.qa, self.settings.auditors_per_site
        offsets = params.day_offsets[day]
        shape = settings.shape(np.where(offsets >= 0, (offsets + 0.5) / 7.0, -1.0))
        effect = self.scales[unit] * shape
        treated = effect > 0
        accuracy = params.accuracy[unit, day] + effect * qa_model.policy_shift(policy, settings.policies, scenario)
        difficulty = rng.random(unit.size)
        auditor = qa_model.allocate(self.roster.site_index[unit], treated, self.pool, per_site, scenario, rng)
        correct = qa_model.grade(accuracy, difficulty, auditor, treated, self.pool, scenario, rng)
        p_critical = np.where(correct, params.critical_if_correct[unit, day], params.critical_if_wrong[unit, day])
        critical = rng.random(unit.size) < p_critical
        double = rng.random(unit.size) < scenario.double_audit_share
        second = qa_model.second_auditor(auditor, per_site, rng) if double.any() else auditor
        second_correct = qa_model.grade(accuracy, difficulty, second, treated, self.pool, scenario, rng)
        return auditor, correct, critical, double, second, second_correct


def write_audits_csv(rows: Iterable[Mapping[str, Any]], file: str | Path | TextIO) -> int:
    """Write audits as CSV with a header in `AUDIT_FIELDS` order; booleans as ``true``/``false``.

    Returns the number of data rows written. ``file`` is a path or an open text file.
    """
    if isinstance(file, (str, Path)):
        with open(file, "w", newline="", encoding="utf-8") as handle:
            return write_audits_csv(rows, handle)
    writer = csv.writer(file)
    writer.writerow(AUDIT_FIELDS)
    count = 0
    for row in rows:
        writer.writerow(
            [
                ("true" if value else "false") if isinstance(value, bool) else value
                for value in (row.get(name) for name in AUDIT_FIELDS)
            ]
        )
        count += 1
    return count


@dataclass(frozen=True, eq=False)
class UnitDays:
    """Per-moderator-per-day sums, arrays of shape (units, days).

    ``day_offsets[j]`` is day j relative to the pilot start (negative in the pre-period). ``handle_sum`` and
    ``handle_sum2`` are sums of handle seconds and of their squares (zeros when handle times were not drawn).
    """

    moderator_ids: tuple[str, ...]
    arms: tuple[str | None, ...]
    start_date: date
    day_offsets: np.ndarray
    audits: np.ndarray
    correct: np.ndarray
    critical: np.ndarray
    handle_sum: np.ndarray
    handle_sum2: np.ndarray

    def totals(self, first_day: int = 0, stop_day: int | None = None) -> dict[str, np.ndarray]:
        """Per-unit sums over days ``first_day <= offset < stop_day`` (default: the whole pilot period)."""
        mask = self.day_offsets >= first_day
        if stop_day is not None:
            mask &= self.day_offsets < stop_day
        return {
            name: getattr(self, name)[:, mask].sum(axis=1)
            for name in ("audits", "correct", "critical", "handle_sum", "handle_sum2")
        }

    def arm_mask(self, arm: str) -> np.ndarray:
        """Boolean mask of the units assigned to ``arm``."""
        return np.array([a == arm for a in self.arms])


def simulate_unit_days(
    roster: SimulatedRoster,
    assignment: Mapping[str, str],
    settings: SimulationSettings,
    rng: np.random.Generator,
    *,
    until: date | None = None,
    handle_times: bool = True,
) -> UnitDays:
    """Draw per-moderator-per-day sums directly from the model used by `simulate_audits`.

    Counts are Poisson, correct audits binomial given the count, critical errors binomial given correct and wrong
    audits, so each cell has exactly the distribution of aggregating the row generator's audits. Handle times are
    drawn per audit (same rounding) and summed; pass ``handle_times=False`` to skip them when only rates matter.
    """
    days = day_range(settings, until)
    scales = effect_scales(roster, assignment, settings)
    params = cell_parameters(roster, scales, settings, days)
    audits = rng.poisson(params.expected_audits)
    correct = rng.binomial(audits, params.accuracy)
    critical = rng.binomial(correct, params.critical_if_correct) + rng.binomial(
        audits - correct, params.critical_if_wrong
    )
    handle_sum = np.zeros(audits.shape)
    handle_sum2 = np.zeros(audits.shape)
    if handle_times:
        flat_counts = audits.ravel()
        cell = np.repeat(np.arange(flat_counts.size), flat_counts)
        handle = draw_handle_times(params.log_handle_location.ravel()[cell], settings, rng)
        handle_sum = np.bincount(cell, weights=handle, minlength=flat_counts.size).reshape(audits.shape)
        handle_sum2 = np.bincount(cell, weights=handle**2, minlength=flat_counts.size).reshape(audits.shape)
    ids = tuple(roster.moderator_ids)
    return UnitDays(
        moderator_ids=ids,
        arms=tuple(assignment.get(mid) for mid in ids),
        start_date=settings.start_date,
        day_offsets=days,
        audits=audits,
        correct=correct,
        critical=critical,
        handle_sum=handle_sum,
        handle_sum2=handle_sum2,
    )
