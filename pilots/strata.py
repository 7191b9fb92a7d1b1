"""Strata: which attribute values put a unit in which stratum.

A stratum key joins `attribute=label` pairs in the plan's order with `|` (`site=Manila|tenure_months=6-12`); a plan
without strata puts every unit in the stratum `all`.

Labels. Numeric attributes with fixed, documented bands are banded, so strata never depend on the data:

- `tenure_months`: `<6`, `6-12`, `12-24`, `24+` (a band includes its lower edge: 6 is `6-12`, 24 is `24+`);
- `baseline_accuracy` (pre-period QA accuracy as a fraction in [0, 1]): `<0.80`, `0.80-0.90`, `0.90-0.95`, `0.95+`.

Any other attribute is used as a category: strings as they are, integral numbers as integers (`3.0` -> `3`),
booleans as `true`/`false`. A missing value (absent, null or empty string) is an error at launch.

Teams (`unit: team`). The team is the unit, so it gets exactly one stratum even when its moderators would span
several: a categorical attribute takes the team's most common value (ties go to the smallest label in code-point
order), a banded numeric attribute takes the band of the team's mean, any other numeric attribute its most common
label. Every moderator of the team needs a value.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from pilots.models import RosterEntry

CORE_ATTRIBUTES = ("team", "site", "language", "tenure_months")
NO_STRATA = "all"
MAX_STRATUM_KEY = 500

BANDS: dict[str, tuple[float, ...]] = {
    "tenure_months": (6, 12, 24),
    "baseline_accuracy": (0.80, 0.90, 0.95),
}


def _edge(value: float, fixed: bool) -> str:
    return f"{value:.2f}" if fixed else f"{value:g}"


def _band_labels(edges: tuple[float, ...]) -> list[str]:
    fixed = any(edge != int(edge) for edge in edges)
    text = [_edge(edge, fixed) for edge in edges]
    middle = [f"{low}-{high}" for low, high in pairwise(text)]
    return [f"<{text[0]}", *middle, f"{text[-1]}+"]


BAND_LABELS: dict[str, list[str]] = {name: _band_labels(edges) for name, edges in BANDS.items()}


def band(name: str, value: float) -> str:
    """The fixed band of a numeric value of a banded attribute."""
    edges = BANDS[name]
    index = sum(1 for edge in edges if value >= edge)
    return BAND_LABELS[name][index]


def attribute_value(entry: RosterEntry, name: str) -> Any:
    """A moderator's raw value of an attribute (core column or extra attribute); None when missing."""
    value = getattr(entry, name) if name in CORE_ATTRIBUTES else entry.attributes.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def label(name: str, value: Any) -> str:
    """The stratum label of one (present) value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if name in BANDS:
            return band(name, float(value))
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if name in BANDS:
        raise ValueError(f"{name} must be numeric to be banded, got {value!r}")
    return str(value)


def stratum_key(labels: Sequence[tuple[str, str]]) -> str:
    """`attribute=label|...` in plan order, or `all` without strata."""
    return "|".join(f"{_escape(name)}={_escape(text)}" for name, text in labels) or NO_STRATA


def _escape(text: str) -> str:
    # Keeps keys unambiguous when a value itself contains the separators.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("=", "\\=")


def moderator_labels(entry: RosterEntry, strata: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """The moderator's labels for the plan's strata, and the names of strata attributes it lacks."""
    labels, missing = [], []
    for name in strata:
        value = attribute_value(entry, name)
        if value is None or (name in BANDS and not _is_number(value)):
            missing.append(name)
        else:
            labels.append((name, label(name, value)))
    return labels, missing


def team_labels(members: Sequence[RosterEntry], strata: Sequence[str]) -> list[tuple[str, str]]:
    """A team's labels from its members (all of whom have every value; see the module docstring for the rule)."""
    labels = []
    for name in strata:
        values = [attribute_value(member, name) for member in members]
        if name in BANDS:
            labels.append((name, band(name, math.fsum(float(v) for v in values) / len(values))))
        else:
            labels.append((name, _mode([label(name, v) for v in values])))
    return labels


def _mode(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    top = max(counts.values())
    return min(text for text, count in counts.items() if count == top)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
