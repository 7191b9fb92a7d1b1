"""Settings and roster generation for the PilotLab simulator.

The simulator's model, in one place (used by both the row generator and the aggregated path):

* Moderator i has a latent accuracy ``p_i`` drawn logit-normally, better with tenure, calibrated so that the roster
  mean and between-moderator standard deviation on the probability scale match the settings.
* Moderator i receives audits at a weekly rate ``lambda_i`` (log-normal, clipped), spread evenly over five working
  days; the daily count is Poisson.
* Each audit is correct with probability ``p_i`` (plus the treatment effect), is a critical error with probability
  ``critical_given_wrong`` or ``critical_given_correct`` (times the relative treatment effect), and takes a log-normal
  handle time ``exp(log(median) + f_i + e)`` with a per-moderator factor ``f_i``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from pilots.simulation.qa import QaScenario

EffectShape = Literal["constant", "ramp", "fade"]


@dataclass(frozen=True)
class SiteSpec:
    """A moderation site: its name, the languages it works in and its shift start in UTC hours."""

    name: str
    languages: tuple[str, ...]
    shift_start_utc: float
    weight: float = 1.0


DEFAULT_SITES: tuple[SiteSpec, ...] = (
    SiteSpec("Dublin", ("en", "de", "pt"), shift_start_utc=8.0),
    SiteSpec("Manila", ("en", "tl"), shift_start_utc=0.0, weight=1.5),
    SiteSpec("Austin", ("en", "es"), shift_start_utc=14.0),
    SiteSpec("Warsaw", ("de", "en", "pt"), shift_start_utc=6.5),
)


@dataclass(frozen=True)
class SimulationSettings:
    """Everything the simulator needs; the defaults describe a mid-sized moderation operation.

    Effects apply only to non-control arms during the pilot period. ``accuracy_effect_points`` is in percentage
    points (``1.5`` means +0.015 on the accuracy scale); ``critical_effect_relative`` and
    ``handle_time_effect_relative`` are relative changes (``-0.1`` means 10% fewer critical errors / faster handling).
    The effect follows ``effect_shape``: ``constant``; ``ramp`` grows linearly to full size over ``ramp_weeks``
    (training that improves with practice); ``fade`` starts at full size and decays towards ``fade_floor`` of it with
    half-life ``fade_half_life_weeks`` (novelty).
    """

    n_moderators: int = 240
    sites: tuple[SiteSpec, ...] = DEFAULT_SITES
    team_size_range: tuple[int, int] = (8, 15)
    tenure_shape: float = 1.4
    tenure_scale_months: float = 11.0
    tenure_range_months: tuple[int, int] = (1, 60)
    accuracy_mean: float = 0.93
    accuracy_between_sd: float = 0.03
    tenure_share_of_accuracy_variance: float = 0.3
    audits_per_week_median: float = 12.0
    audits_per_week_sigma: float = 0.35
    audits_per_week_range: tuple[float, float] = (5.0, 25.0)
    working_days_per_week: int = 5
    weekend_off_share: float = 0.7
    shift_hours: float = 8.5
    critical_given_wrong: float = 0.15
    critical_given_correct: float = 0.003
    handle_time_median_s: float = 45.0
    handle_time_sigma: float = 0.55
    handle_time_moderator_sigma: float = 0.25
    start_date: date = date(2026, 3, 2)
    pre_weeks: int = 4
    weeks: int = 8
    arms: tuple[str, ...] = ("control", "treatment")
    control_arm: str | None = None
    accuracy_effect_points: float = 0.0
    critical_effect_relative: float = 0.0
    handle_time_effect_relative: float = 0.0
    effect_shape: EffectShape = "constant"
    ramp_weeks: float = 4.0
    fade_half_life_weeks: float = 2.0
    fade_floor: float = 0.0
    policies: tuple[str, ...] = (
        "hate_speech",
        "harassment",
        "violent_extremism",
        "adult_content",
        "spam",
        "misinformation",
    )
    policy_weights: tuple[float, ...] = (0.22, 0.2, 0.08, 0.15, 0.25, 0.1)
    queues: tuple[str, ...] = ("general", "escalations", "live", "appeals")
    queue_weights: tuple[float, ...] = (0.6, 0.15, 0.15, 0.1)
    auditors_per_site: int = 4
    arm_effect_scale: tuple[tuple[str, float], ...] = field(default=())
    # The QA process (auditor leniency, routing, blinding, policy-specific effects, double audits), kept in its own
    # dataclass so its knobs combine with any other scenario setting.
    qa: QaScenario = field(default_factory=QaScenario)

    def __post_init__(self) -> None:
        _settings_iv(self)

    @property
    def control(self) -> str:
        """The control arm: ``control_arm`` when given, else the first of ``arms``."""
        return self.control_arm if self.control_arm is not None else self.arms[0]

    def effect_scale(self, arm: str | None) -> float:
        """How much of the configured effect an arm receives (0 for control and unassigned units)."""
        if arm is None or arm == self.control:
            return 0.0
        return dict(self.arm_effect_scale).get(arm, 1.0)

    def shape(self, weeks_since_start: np.ndarray) -> np.ndarray:
        """The effect multiplier (0 before launch) at the given times since launch, in weeks."""
        t = np.asarray(weeks_since_start, dtype=float)
        if self.effect_shape == "constant":
            s = np.ones_like(t)
        elif self.effect_shape == "ramp":
            s = np.clip(t / self.ramp_weeks, 0.0, 1.0)
        else:
            s = self.fade_floor + (1.0 - self.fade_floor) * 0.5 ** (t / self.fade_half_life_weeks)
        return np.where(t >= 0.0, s, 0.0)


def _settings_iv(s: SimulationSettings) -> None:
    checks = [
        (s.n_moderators >= 1, "n_moderators must be >= 1"),
        (len(s.sites) >= 1, "sites must not be empty"),
        (1 <= s.team_size_range[0] <= s.team_size_range[1], "team_size_range must be (low, high), low >= 1"),
        (0.5 < s.accuracy_mean < 1.0, "accuracy_mean must be in (0.5, 1)"),
        (0.0 <= s.accuracy_between_sd < 0.2, "accuracy_between_sd must be in [0, 0.2)"),
        (0.0 <= s.tenure_share_of_accuracy_variance <= 1.0, "tenure share must be in [0, 1]"),
        (1 <= s.working_days_per_week <= 7, "working_days_per_week must be in 1..7"),
        (0.0 < s.shift_hours <= 24.0, "shift_hours must be in (0, 24]"),
        (0.0 <= s.critical_given_correct <= 1.0, "critical_given_correct must be a probability"),
        (0.0 <= s.critical_given_wrong <= 1.0, "critical_given_wrong must be a probability"),
        (s.handle_time_median_s > 0, "handle_time_median_s must be > 0"),
        (s.pre_weeks >= 0 and s.weeks >= 0, "pre_weeks and weeks must be >= 0"),
        (len(s.arms) >= 1, "arms must not be empty"),
        (s.effect_shape in ("constant", "ramp", "fade"), f"unknown effect_shape {s.effect_shape!r}"),
        (s.ramp_weeks > 0 and s.fade_half_life_weeks > 0, "ramp_weeks and half-life must be > 0"),
        (len(s.policies) == len(s.policy_weights), "policies and policy_weights differ in length"),
        (len(s.queues) == len(s.queue_weights), "queues and queue_weights differ in length"),
        (s.auditors_per_site >= 1, "auditors_per_site must be >= 1"),
        (s.handle_time_effect_relative > -1.0, "handle_time_effect_relative must be > -1"),
        (s.critical_effect_relative >= -1.0, "critical_effect_relative must be >= -1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    for site in s.sites:
        if not site.languages or not 0.0 <= site.shift_start_utc + s.shift_hours <= 24.0:
            raise ValueError(f"site {site.name!r} needs languages and a shift inside the UTC day")


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _logit_normal_moments(center: float, scale: float) -> tuple[float, float]:
    """Mean and sd of expit(center + scale * Z), Z standard normal, by Gauss-Hermite quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    weights = weights / weights.sum()
    p = 1.0 / (1.0 + np.exp(-(center + scale * nodes)))
    mean = float(weights @ p)
    return mean, float(np.sqrt(max(weights @ (p - mean) ** 2, 0.0)))


@lru_cache(maxsize=256)
def calibrate_logit_normal(mean: float, sd: float) -> tuple[float, float]:
    """Center and scale on the logit scale whose expit has the given mean and sd (fixed-point iteration)."""
    center, scale = _logit(mean), sd / (mean * (1.0 - mean))
    if sd == 0.0:
        return center, 0.0
    for _ in range(100):
        m, s = _logit_normal_moments(center, scale)
        center += _logit(mean) - _logit(m)
        scale *= sd / s
        if abs(m - mean) < 1e-10 and abs(s - sd) < 1e-10:
            break
    return center, scale


@dataclass(frozen=True, eq=False)
class SimulatedRoster(Sequence[dict[str, Any]]):
    """The roster rows (what an operations team would upload) plus the latent parameters the simulator uses.

    Behaves as a sequence of the roster dicts; the latent arrays are aligned with it.
    """

    rows: tuple[dict[str, Any], ...]
    accuracy: np.ndarray
    audits_per_week: np.ndarray
    handle_factor: np.ndarray
    working_days: np.ndarray
    site_index: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):  # type: ignore[override]
        return self.rows[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)

    @property
    def moderator_ids(self) -> list[str]:
        return [row["moderator_id"] for row in self.rows]


def _team_sites(settings: SimulationSettings, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Team sizes and sites until the roster is filled; each team belongs to one site."""
    weights = np.array([site.weight for site in settings.sites], dtype=float)
    weights /= weights.sum()
    low, high = settings.team_size_range
    teams: list[tuple[int, int]] = []
    filled = 0
    while filled < settings.n_moderators:
        size = min(int(rng.integers(low, high + 1)), settings.n_moderators - filled)
        teams.append((size, int(rng.choice(len(weights), p=weights))))
        filled += size
    return teams


def _work_schedule(n: int, settings: SimulationSettings, rng: np.random.Generator) -> np.ndarray:
    """Boolean (n, 7) working-day masks by ISO weekday (0 = Monday); days off are consecutive."""
    off_days = 7 - settings.working_days_per_week
    first_off = np.where(rng.random(n) < settings.weekend_off_share, 5, rng.integers(0, 7, n))
    weekday = np.arange(7)
    off = ((weekday[None, :] - first_off[:, None]) % 7) < off_days
    return ~off


def simulate_roster(settings: SimulationSettings, rng: np.random.Generator) -> SimulatedRoster:
    """Draw a roster of moderators with teams, sites, languages, tenure and latent performance.

    Parameters
    ----------
    settings : SimulationSettings
        The operation to simulate.
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same roster.

    Returns
    -------
    SimulatedRoster
        A sequence of dicts with keys ``moderator_id``, ``team``, ``site``, ``language``, ``tenure_months``, and the
        latent arrays (accuracy, weekly audit rate, handle-time factor, working days) aligned with it.
    """
    n = settings.n_moderators
    rows: list[dict[str, Any]] = []
    site_index = np.empty(n, dtype=np.int64)
    team_counter: dict[int, int] = {}
    for size, site in _team_sites(settings, rng):
        spec = settings.sites[site]
        team_counter[site] = team_counter.get(site, 0) + 1
        team = f"{spec.name[:3].upper()}-{team_counter[site]:02d}"
        # Teams usually work one queue language; a few members cover a second one.
        team_language = spec.languages[int(rng.integers(len(spec.languages)))]
        for _ in range(size):
            language = team_language if rng.random() < 0.85 else spec.languages[int(rng.integers(len(spec.languages)))]
            site_index[len(rows)] = site
            rows.append(
                {
                    "moderator_id": f"m{len(rows) + 1:05d}",
                    "team": team,
                    "site": spec.name,
                    "language": language,
                }
            )
    low, high = settings.tenure_range_months
    tenure = np.clip(
        np.rint(low + rng.gamma(settings.tenure_shape, settings.tenure_scale_months, n)), low, high
    ).astype(int)
    for row, months in zip(rows, tenure.tolist(), strict=True):
        row["tenure_months"] = months

    center, scale = calibrate_logit_normal(settings.accuracy_mean, settings.accuracy_between_sd)
    log_tenure = np.log(tenure)
    spread = log_tenure.std()
    z_tenure = (log_tenure - log_tenure.mean()) / spread if spread > 0 else np.zeros(n)
    share = settings.tenure_share_of_accuracy_variance
    latent = center + scale * (math.sqrt(share) * z_tenure + math.sqrt(1.0 - share) * rng.standard_normal(n))
    accuracy = 1.0 / (1.0 + np.exp(-latent))

    lo_rate, hi_rate = settings.audits_per_week_range
    rate = np.clip(
        settings.audits_per_week_median * np.exp(settings.audits_per_week_sigma * rng.standard_normal(n)),
        lo_rate,
        hi_rate,
    )
    handle_factor = settings.handle_time_moderator_sigma * rng.standard_normal(n)
    return SimulatedRoster(
        rows=tuple(rows),
        accuracy=accuracy,
        audits_per_week=rate,
        handle_factor=handle_factor,
        working_days=_work_schedule(n, settings, rng),
        site_index=site_index,
    )
