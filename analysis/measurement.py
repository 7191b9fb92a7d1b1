"""What grading noise costs a pilot: the measurement-error share of the two-level variance model and the detectable
effect with and without it.

A grade is the truth plus the auditor's error. Double audits (the same item graded twice) estimate the reliability
``rho`` of one grade (Krippendorff's alpha), so the share of a single grade's variance that is grading noise is
``s = 1 - rho`` and the error variance per grade is ``e = s (sigma_b^2 + sigma_w^2)``, capped at ``sigma_w^2``:
the noise of single grades averages out within a unit, so it lives in the within-unit part (Fuller 1987, section 1.1,
the reliability ratio). Removing it gives the noise-free components ``(sigma_b^2, sigma_w^2 - e)``.

A unit's observed rate over ``m`` audits varies by ``sigma_b^2 + sigma_w^2 / m``, of which ``e / m`` is noise. The
fixed-horizon detectable effect of two arms of ``K_c`` and ``K_t`` units is
``(z_{1 - alpha/2} + z_{power}) sqrt((sigma_b^2 + sigma_w^2 / m) (1 / K_c + 1 / K_t))``; without the noise the same
with ``sigma_w^2 - e``. For a plan (`pilots.planning.service`) every week's detectable effect is scaled by the ratio of
the planned standard errors with and without the noise (`noise_free_scale`), exact for a fixed horizon; a sequential
design's information fractions would shift a little too, which the scaling leaves out.

References
----------
.. [1] Fuller, W. A. (1987). Measurement Error Models. Wiley, section 1.1 (reliability ratio).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scipy import stats

from analysis.variance_components import VarianceComponents


def noise_free(components: VarianceComponents, error_share: float) -> VarianceComponents:
    """The components with grading noise removed: ``e = min(sigma_w^2, s (sigma_b^2 + sigma_w^2))`` leaves the
    within part (module docstring). `error_share` ``s`` is the noisy share of one grade's variance, in [0, 1]."""
    if not (0.0 <= error_share <= 1.0):
        raise ValueError(f"error_share must be in [0, 1], got {error_share}")
    error = min(components.within, error_share * (components.between + components.within))
    return VarianceComponents(components.between, components.within - error)


def noise_free_scale(
    components: VarianceComponents, error_share: float, variance: Callable[[VarianceComponents], float]
) -> float:
    """``sqrt(V(noise-free) / V(components))`` for a planned variance function `V` of the components: the factor
    that turns a detectable effect into the one the same design would have with error-free grading."""
    total = variance(components)
    if not total > 0:
        return 1.0
    return math.sqrt(max(variance(noise_free(components, error_share)), 0.0) / total)


@dataclass(frozen=True)
class NoiseCost:
    """Grading noise in one pilot: ``error_share`` of one grade's variance, ``unit_error_share`` of a unit's observed
    rate over ``audits_per_unit`` audits, and the fixed-horizon detectable effect at ``alpha`` and ``power`` with the
    noise (``mde``) and without it (``mde_without_noise``)."""

    error_share: float
    unit_error_share: float
    audits_per_unit: float
    mde: float
    mde_without_noise: float

    @property
    def mde_ratio(self) -> float:
        """How many times larger the detectable effect is because of the noise (1.10: 10% larger)."""
        return self.mde / self.mde_without_noise if self.mde_without_noise > 0 else math.inf


def noise_cost(
    components: VarianceComponents,
    audits_per_unit: float,
    units_control: int,
    units_treatment: int,
    error_share: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> NoiseCost:
    """The cost of grading noise at a pilot's size (module docstring's closed form)."""
    if not (audits_per_unit > 0 and units_control >= 1 and units_treatment >= 1):
        raise ValueError("audits_per_unit must be > 0 and each arm needs at least one unit")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must be in (0, 1)")
    clean = noise_free(components, error_share)
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    arms = 1 / units_control + 1 / units_treatment
    total = components.unit_mean_variance(audits_per_unit)
    error = (components.within - clean.within) / audits_per_unit
    return NoiseCost(
        error_share=error_share,
        unit_error_share=error / total if total > 0 else 0.0,
        audits_per_unit=audits_per_unit,
        mde=z * math.sqrt(total * arms),
        mde_without_noise=z * math.sqrt(clean.unit_mean_variance(audits_per_unit) * arms),
    )
