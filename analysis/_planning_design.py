"""How a sequential design changes what a planned pilot can detect.

Three designs, matching the monitoring options of METHODS.md section 4:

* ``fixed``: one analysis at the horizon.
* ``group_sequential``: Lan-DeMets spending at the planned information fractions; the inflation factor and power
  come from `analysis.group_sequential` (recursive integration).
* ``always_valid``: the normal-mixture SPRT exactly as `analysis.always_valid` runs it: ``tau^2`` tuned to the
  planned final variance and the nominal level calibrated over the planned looks, so the per-look z thresholds are
  ``c(V_j)``. Power and the drift needed for the target power come from the same recursive integration, and the
  inflation factor is ``(drift / (z_{1-alpha/2} + z_{power}))^2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from analysis._recursive_integration import crossing_probabilities
from analysis.always_valid import design_mixture, mixture_threshold
from analysis.group_sequential import boundaries, inflation_factor, rejection_probability

Method = Literal["fixed", "group_sequential", "always_valid"]


@dataclass(frozen=True)
class SequentialDesign:
    """The monitoring plan: method, looks per week and (group sequential) the alpha-spending function."""

    method: Method = "fixed"
    looks_per_week: int = 1
    spending: Literal["obf", "pocock"] = "obf"

    def __post_init__(self) -> None:
        if self.method not in ("fixed", "group_sequential", "always_valid"):
            raise ValueError(f"unknown method {self.method!r}")
        if self.looks_per_week < 1:
            raise ValueError(f"looks_per_week must be >= 1, got {self.looks_per_week}")


def always_valid_z(alpha: float, rho: float) -> float:
    """|z| at which the normal-mixture likelihood ratio reaches ``1 / alpha``, for ``rho = tau^2 / V``.

    References
    ----------
    .. [1] Johari, R., Koomen, P., Pekelis, L., Walsh, D. (2022). Always Valid Inference: Continuous Monitoring of
       A/B Tests. Operations Research 70(3), 1806-1821.
    """
    if not 0.0 < alpha < 1.0 or rho <= 0.0:
        raise ValueError(f"need alpha in (0, 1) and rho > 0, got alpha={alpha}, rho={rho}")
    return float(mixture_threshold(1.0, rho, alpha))


@dataclass(frozen=True)
class DesignAtHorizon:
    """A design evaluated for a pilot ending at a given horizon: inflation and a power function."""

    design: SequentialDesign
    alpha: float
    fractions: np.ndarray
    thresholds: np.ndarray | None

    def power(self, drift: float) -> float:
        """Probability of a significant result (either direction) when ``E[z] = drift`` at the horizon."""
        if self.thresholds is not None:
            c = self.thresholds
            return crossing_probabilities(self.fractions, c, -c, drift).total
        if self.design.method == "group_sequential" and self.fractions.size > 1:
            bounds = boundaries(self.fractions, self.alpha, self.design.spending, final=True)
            up, low = rejection_probability(bounds, drift)
            return float(up + low)
        crit = stats.norm.isf(self.alpha / 2)
        return float(stats.norm.sf(crit - drift) + stats.norm.cdf(-crit - drift))

    def inflation(self, power: float) -> float:
        """Information inflation over the fixed design at the same alpha and power (1 for ``fixed``)."""
        if self.design.method == "fixed" or (self.fractions.size == 1 and self.thresholds is None):
            return 1.0
        if self.thresholds is None:
            return float(inflation_factor(self.alpha, power, self.fractions, self.design.spending))
        fixed = stats.norm.isf(self.alpha / 2) + stats.norm.ppf(power)
        c = self.thresholds
        drift = optimize.brentq(
            lambda th: crossing_probabilities(self.fractions, c, -c, th).upper.sum() - power,
            0.0,
            2 * float(c.max()) + 5.0,
            xtol=1e-10,
        )
        return float((drift / fixed) ** 2)


def at_horizon(design: SequentialDesign, alpha: float, fractions: np.ndarray, final_variance: float) -> DesignAtHorizon:
    """Evaluate the design for looks at planned ``fractions`` ending with variance ``final_variance``."""
    thresholds = None
    if design.method == "always_valid":
        mixture = design_mixture(final_variance, alpha, fractions)
        thresholds = mixture_threshold(final_variance / fractions, mixture.tau2, mixture.nominal_alpha)
    return DesignAtHorizon(design, alpha, np.asarray(fractions, dtype=float), thresholds)
