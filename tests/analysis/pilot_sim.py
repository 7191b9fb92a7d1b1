"""A small, fast generator of whole pilots at the per-moderator-per-day count level.

Used only to validate the sequential procedures' operating characteristics. A fixed roster of
``moderators`` is split in half (control first); each moderator has a logit-normal accuracy
(mean ~0.93, between-moderator sd ~0.03) and a QA audit rate of 5-25 audits per week. Every day
each moderator gets Poisson audits, each correct with the moderator's probability plus, for
treatment, an effect that can ramp up or fade. The per-look summary is the delta-method
difference of arm ratios with Welch-Satterthwaite df, computed directly from the formula in
METHODS.md section 1 (checked against ``analysis.ratio.compare`` in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

_LOGIT_SD = 0.03 / (0.93 * 0.07)  # sd on the probability scale ~0.03 near 0.93


@dataclass(frozen=True)
class PilotSpec:
    moderators: int = 100
    days: int = 42
    effect: float = 0.0  # additive accuracy lift at full strength
    ramp_days: int = 0  # linear ramp to full strength over this many days
    fade_days: float = 0.0  # exponential fade time constant (0 = no fade)
    mean_accuracy: float = 0.93
    rate_low: float = 5.0
    rate_high: float = 25.0

    def effect_by_day(self) -> np.ndarray:
        day = np.arange(1, self.days + 1, dtype=float)
        shape = np.ones_like(day)
        if self.ramp_days > 0:
            shape = np.minimum(1.0, day / self.ramp_days)
        if self.fade_days > 0:
            shape = shape * np.exp(-day / self.fade_days)
        return self.effect * shape


@dataclass(frozen=True)
class PilotLooks:
    """Per pilot (rows) and day (columns): difference, its variance and Welch df."""

    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    y: np.ndarray  # cumulative per-unit correct audits on the last day, (pilots, moderators)
    x: np.ndarray  # cumulative per-unit audits on the last day


def _arm(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = y.shape[-1]
    sx = x.sum(-1)
    r = y.sum(-1) / sx
    resid = ((y - r[..., None] * x) ** 2).sum(-1)
    return r, k * resid / ((k - 1) * sx**2)


def simulate(spec: PilotSpec, n_pilots: int, rng: np.random.Generator) -> PilotLooks:
    """Simulate ``n_pilots`` independent pilots; daily cumulative arm comparisons."""
    k = spec.moderators
    half = k // 2
    logit = special.logit(spec.mean_accuracy) + _LOGIT_SD * rng.standard_normal((n_pilots, 1, k))
    p = special.expit(logit)
    lift = np.zeros((1, spec.days, k))
    lift[:, :, half:] = spec.effect_by_day()[None, :, None]
    p = np.clip(p + lift, 0.0, 1.0)
    rate = rng.uniform(spec.rate_low, spec.rate_high, (n_pilots, 1, k)) / 7.0
    audits = rng.poisson(np.broadcast_to(rate, (n_pilots, spec.days, k)))
    correct = rng.binomial(audits, p)
    x = np.cumsum(audits, axis=1, dtype=float)
    y = np.cumsum(correct, axis=1, dtype=float)
    r_c, v_c = _arm(y[..., :half], x[..., :half])
    r_t, v_t = _arm(y[..., half:], x[..., half:])
    v = v_c + v_t
    with np.errstate(divide="ignore", invalid="ignore"):
        df = v**2 / (v_c**2 / (half - 1) + v_t**2 / (k - half - 1))
    return PilotLooks(r_t - r_c, v, df, y[:, -1, :], x[:, -1, :])


def simulate_batched(spec: PilotSpec, n_pilots: int, seed: int, batch: int = 250) -> PilotLooks:
    """:func:`simulate` in batches to bound memory; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    parts = [simulate(spec, min(batch, n_pilots - i), rng) for i in range(0, n_pilots, batch)]
    return PilotLooks(*(np.concatenate([getattr(p, f) for p in parts]) for f in PilotLooks.__dataclass_fields__))


def planned_variances(spec: PilotSpec, seed: int = 999, n_pilots: int = 200) -> np.ndarray:
    """Registration-time plan of Var(estimate) by day: the average over independent null pilots.

    Stands in for the planning module's variance model fitted to historical audits.
    """
    null = PilotSpec(**{**spec.__dict__, "effect": 0.0})
    return simulate_batched(null, n_pilots, seed).variance.mean(axis=0)
