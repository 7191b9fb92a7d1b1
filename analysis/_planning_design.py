"""How a sequential design changes what a planned pilot can detect.

Three designs, matching the monitoring options of METHODS.md section 4:

* ``fixed``: one analysis at the horizon.
* ``group_sequential``: Lan-DeMets spending at the planned information fractions; the inflation factor and power
  come from `analysis.group_sequential` (recursive integration).
* ``always_valid``: a normal-mixture sequential test with mixing variance ``tau^2``. At an estimate with variance
  ``V`` it rejects when ``Lambda >= 1 / alpha``, i.e. when ``|z|`` exceeds
  ``sqrt((1 + rho) / rho * (2 log(1 / alpha) + log(1 + rho)))`` with ``rho = tau^2 / V``. The planner uses that
  threshold at the horizon in place of the fixed ``z_{1 - alpha/2}``; power is read at the horizon only, which
  ignores earlier crossings and so slightly understates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

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
    .. [2] Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm. Annals of
       Mathematical Statistics 41(5), 1397-1409.
    """
    if not 0.0 < alpha < 1.0 or rho <= 0.0:
        raise ValueError(f"need alpha in (0, 1) and rho > 0, got alpha={alpha}, rho={rho}")
    return float(np.sqrt((1.0 + rho) / rho * (2.0 * np.log(1.0 / alpha) + np.log1p(rho))))


def inflation(design: SequentialDesign, alpha: float, power: float, fractions: np.ndarray, rho: float) -> float:
    """Information inflation over the fixed design at the same alpha and power (1 for ``fixed``)."""
    if design.method == "fixed" or (design.method == "group_sequential" and fractions.size == 1):
        return 1.0
    if design.method == "group_sequential":
        return float(inflation_factor(alpha, power, fractions, design.spending))
    z_fixed = stats.norm.isf(alpha / 2) + stats.norm.ppf(power)
    return ((always_valid_z(alpha, rho) + stats.norm.ppf(power)) / z_fixed) ** 2


def design_power(design: SequentialDesign, drift: float, alpha: float, fractions: np.ndarray, rho: float) -> float:
    """Probability of a significant result (either direction) when ``E[z] = drift`` at the horizon."""
    if design.method == "group_sequential" and fractions.size > 1:
        up, low = rejection_probability(boundaries(fractions, alpha, design.spending, final=True), drift)
        return float(up + low)
    crit = always_valid_z(alpha, rho) if design.method == "always_valid" else stats.norm.isf(alpha / 2)
    return float(stats.norm.sf(crit - drift) + stats.norm.cdf(-crit - drift))
