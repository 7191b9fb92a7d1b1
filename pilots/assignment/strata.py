"""Strata: which attribute values put a unit in which stratum.

A stratum key joins `attribute=label` pairs in the plan's order with `|` (`site=Manila|tenure_months=6-12`); a plan
without strata puts every unit in the stratum `all`.

Labels. Numeric attributes with fixed, documented bands are banded, so strata never depend on the data:

- `tenure_months`: `<6`, `6-12`, `12-24`, `24+` (a band includes its lower edge: 6 is `6-12`, 24 is `24+`);
- `baseline_accuracy` (pre-period QA accuracy as a fraction in [0, 1]): `<0.80`, `0.80-0.90`, `0.90-0.95`, `0.95+`.

Any other numeric attribute with more than four distinct values among the units randomized at launch (a score, a
productivity figure) is banded at the launch roster's quartiles: the edges are values of the roster itself (the
smallest value at or above each quartile), so they depend only on the set of values, never on upload order, and late
joiners are banded with the edges recomputed from the same launch roster. Labels read like the fixed bands
(`<0.61`, `0.61-0.74`, `0.74+`). Any other attribute is used as a category: strings as they are, integral numbers as
integers (`3.0` -> `3`), booleans as `true`/`false`. A missing value (absent, null or empty string) is an error at
launch.

Teams (`unit: team`). The team is the unit, so it gets exactly one stratum even when its moderators would span
several: a categorical attribute takes the team's most common value (ties go to the smallest label in code-point
order), a banded numeric attribute (fixed or quartile bands) takes the band of the team's mean (quartiles of team
means), any other numeric attribute its most common label. Every moderator of the team needs a value.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

from pilots.models import RosterEntry

CORE_ATTRIBUTES = ("team", "site", "language", "tenure_months")
NO_STRATA = "all"
MAX_STRATUM_KEY = 500
MAX_NUMERIC_CATEGORIES = 4

Edges = Mapping[str, tuple[float, ...]]

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
# Attributes whose labels never depend on the roster: the string core columns and the fixed-band numbers.
FIXED_LABEL_ATTRIBUTES = frozenset({"team", "site", "language", *BANDS})


def _data_band_labels(edges: tuple[float, ...]) -> list[str]:
    if not edges:
        return ["all"]
    text = [f"{edge:g}" for edge in edges]
    return [f"<{text[0]}", *(f"{low}-{high}" for low, high in pairwise(text)), f"{text[-1]}+"]


def band(name: str, value: float, edges: Edges | None = None) -> str:
    """The band of a numeric value: the attribute's fixed bands, or the launch roster's quartile `edges`."""
    if name in BANDS:
        return _fixed_band(name, value)
    cuts = (edges or {})[name]
    index = sum(1 for edge in cuts if value >= edge)
    return _data_band_labels(cuts)[index]


@lru_cache(maxsize=4096)
def _fixed_band(name: str, value: float) -> str:
    """`band` of an attribute with fixed bands (remembered: a roster has few distinct values, and the balance check
    bands every unit's)."""
    index = sum(1 for edge in BANDS[name] if value >= edge)
    return BAND_LABELS[name][index]


def quartile_edges(values: Sequence[float]) -> tuple[float, ...]:
    """Band edges at the quartiles of `values`: the smallest value at or above each quartile (inverted CDF), without
    repeats and above the minimum, so every band holds at least one of the values."""
    ordered = sorted(values)
    n = len(ordered)
    edges = []
    for k in (1, 2, 3):
        edge = ordered[min(n - 1, math.ceil(k * n / 4))]
        if edge > ordered[0] and edge not in edges:
            edges.append(edge)
    return tuple(edges)


def data_bands(unit_values: Mapping[str, Sequence[Any]]) -> dict[str, tuple[float, ...]]:
    """Quartile edges for each strata attribute that is numeric (every value a finite number) with more than
    `MAX_NUMERIC_CATEGORIES` distinct values among the units; `unit_values` maps attribute -> one value per unit."""
    bands = {}
    for name, values in unit_values.items():
        if name in BANDS or not values or not all(_is_number(v) for v in values):
            continue
        if len({float(v) for v in values}) > MAX_NUMERIC_CATEGORIES:
            bands[name] = quartile_edges([float(v) for v in values])
    return bands


def unit_values(entries: Sequence[RosterEntry], strata: Sequence[str], unit: str) -> dict[str, list[Any]]:
    """Each strata attribute's value per unit: per moderator, or the mean of a team's numeric values (teams whose
    members lack a value or are not all numeric give their members' raw values, which keeps the attribute
    categorical)."""
    out: dict[str, list[Any]] = {}
    for name in strata:
        raw = [attribute_value(entry, name) for entry in entries]
        if unit != "team" or not all(_is_number(v) for v in raw):
            out[name] = raw
            continue
        teams: dict[str, list[float]] = {}
        for entry, value in zip(entries, raw, strict=True):
            teams.setdefault(entry.team, []).append(float(value))
        out[name] = [math.fsum(v) / len(v) for v in teams.values()]
    return out


def absent_attributes(entries: Sequence[Any], strata: Sequence[str]) -> list[str]:
    """The strata attributes that no entry has a value for: the roster lacks the column (an unknown or misspelt
    name), so the stratum can never be filled. `entries` are roster entries or validated upload rows."""
    return [name for name in strata if all(attribute_value(entry, name) is None for entry in entries)]


def roster_columns(entries: Sequence[Any]) -> list[str]:
    """The attribute names the entries carry: the core columns, then the extra attributes in code-point order."""
    return [*CORE_ATTRIBUTES, *sorted({name for entry in entries for name in entry.attributes})]


def attribute_value(entry: RosterEntry, name: str) -> Any:
    """A moderator's raw value of an attribute (core column or extra attribute); None when missing."""
    value = getattr(entry, name) if name in CORE_ATTRIBUTES else entry.attributes.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def label(name: str, value: Any, edges: Edges | None = None) -> str:
    """The stratum label of one (present) value (`edges`: the launch roster's quartile bands)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if name in BANDS or name in (edges or {}):
            return band(name, float(value), edges)
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


def moderator_labels(
    entry: RosterEntry, strata: Sequence[str], edges: Edges | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The moderator's labels for the plan's strata, and the names of strata attributes it lacks."""
    edges = edges or {}
    labels, missing = [], []
    for name in strata:
        value = attribute_value(entry, name)
        if value is None or ((name in BANDS or name in edges) and not _is_number(value)):
            missing.append(name)
        else:
            labels.append((name, label(name, value, edges)))
    return labels, missing


def team_labels(
    members: Sequence[RosterEntry], strata: Sequence[str], edges: Edges | None = None
) -> list[tuple[str, str]]:
    """A team's labels from its members (all of whom have every value; see the module docstring for the rule)."""
    edges = edges or {}
    labels = []
    for name in strata:
        values = [attribute_value(member, name) for member in members]
        if name in BANDS or name in edges:
            labels.append((name, band(name, math.fsum(float(v) for v in values) / len(values), edges)))
        else:
            labels.append((name, _mode([label(name, v) for v in values])))
    return labels


def _mode(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    top = max(counts.values())
    return min(text for text, count in counts.items() if count == top)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
