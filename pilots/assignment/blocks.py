"""Permuted blocks: the pure core of randomization, shared by launch, late joiners and permutation tests.

A stratum's assignment is a sequence of blocks. Each block is one or two *allocation cycles* (the arms repeated by
their reduced integer weights: 1:1 -> `[control, treatment]`, 2:1 -> `[control, control, treatment]`), the number of
cycles drawn at random per block, and the block's order shuffled. Every block is balanced, so at any point a stratum
is at most one (partial) block away from the planned ratio: arm `a` never deviates from its expected count by more
than `2 * weight(a)` units.

Reproducibility across machines and library versions: generators are PCG64 seeded through `SeedSequence` from a
SHA-256 digest of (seed, stratum key) -- never Python's `hash()` -- and only the generator's raw 64-bit output
(`bit_generator.random_raw`, whose stream NumPy keeps stable, NEP 19) is used: bounded integers and the shuffle are
implemented here, so a change in `Generator.permutation`'s algorithm cannot change an assignment.

Sequences are generated lazily in order, so the first `n` arms never depend on how many are requested. That prefix
property is what lets late joiners continue a stratum: position `k` gets element `k` of the same sequence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import reduce
from math import gcd

import numpy as np

_SEED_DOMAIN = "pilotlab-permuted-blocks-v1"
_TWO_64 = 1 << 64
MAX_CYCLE_LENGTH = 100


def allocation_cycle(weights: Sequence[tuple[str, int]] | Mapping[str, int]) -> tuple[str, ...]:
    """The arms repeated by their weights divided by the weights' greatest common divisor, in plan order.

    Raises ValueError for an empty plan, duplicate arm names, non-integer or non-positive weights, or a cycle longer
    than MAX_CYCLE_LENGTH (which would make blocks too long to keep strata balanced).
    """
    pairs = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
    if len(pairs) < 2:
        raise ValueError(f"weights must name at least two arms, got {len(pairs)}")
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"arm names must be unique, got {names}")
    counts = []
    for name, weight in pairs:
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0 or weight != int(weight):
            raise ValueError(f"weight of arm {name!r} must be a positive integer, got {weight!r}")
        counts.append(int(weight))
    divisor = reduce(gcd, counts)
    cycle = tuple(name for name, count in zip(names, counts, strict=True) for _ in range(count // divisor))
    if len(cycle) > MAX_CYCLE_LENGTH:
        raise ValueError(f"weights {counts} give an allocation cycle of {len(cycle)} (at most {MAX_CYCLE_LENGTH})")
    return cycle


def stratum_generator(seed: int, stratum: str) -> np.random.Generator:
    """A generator determined only by (seed, stratum key), identical on every machine and database."""
    digest = hashlib.sha256(f"{_SEED_DOMAIN}\x1f{int(seed)}\x1f{stratum}".encode()).digest()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int.from_bytes(digest, "big"))))


def _below(bit_generator: np.random.BitGenerator, n: int) -> int:
    """A uniform integer in [0, n) from raw 64-bit draws (rejection sampling, so unbiased)."""
    limit = _TWO_64 - (_TWO_64 % n)
    while True:
        value = int(bit_generator.random_raw())
        if value < limit:
            return value % n


def _blocks(cycle: Sequence[str], rng: np.random.Generator) -> Iterator[str]:
    """An endless stream of arms made of shuffled blocks of one or two cycles."""
    bit_generator = rng.bit_generator
    while True:
        block = list(cycle) * (1 + _below(bit_generator, 2))
        for i in range(len(block) - 1, 0, -1):  # Fisher-Yates
            j = _below(bit_generator, i + 1)
            block[i], block[j] = block[j], block[i]
        yield from block


def block_sequence(cycle: Sequence[str], rng: np.random.Generator, length: int) -> list[str]:
    """The first `length` arms of the stratum's block sequence drawn from `rng`."""
    stream = _blocks(cycle, rng)
    return [next(stream) for _ in range(length)]


def assign_strata(
    strata: Sequence[str], cycle: Sequence[str], generator_for: Callable[[str], np.random.Generator]
) -> tuple[list[str], list[int]]:
    """Arms and within-stratum positions for units given in canonical order with their stratum keys.

    Units of a stratum take consecutive elements of that stratum's sequence in the order given; strata are drawn
    in sorted key order (which matters only when `generator_for` returns one shared generator).
    """
    members: dict[str, list[int]] = {}
    for index, key in enumerate(strata):
        members.setdefault(key, []).append(index)
    arms = [""] * len(strata)
    positions = [0] * len(strata)
    for key in sorted(members):
        sequence = block_sequence(cycle, generator_for(key), len(members[key]))
        for position, (index, arm) in enumerate(zip(members[key], sequence, strict=True)):
            arms[index], positions[index] = arm, position
    return arms, positions


def reassign(
    units: Sequence[str],
    strata: Sequence[str],
    weights: Sequence[tuple[str, int]] | Mapping[str, int],
    rng: np.random.Generator,
) -> list[str]:
    """Replay the stratified permuted-block procedure with a fresh generator: one arm label per unit.

    `units` must be in canonical (sorted) order and `strata[i]` is unit i's stratum key. This is the callable a
    randomization (permutation) test uses to draw assignments from the design's own distribution; launch uses the
    same procedure with one generator per stratum derived from (seed, stratum key).
    """
    if len(units) != len(strata):
        raise ValueError(f"units and strata must have the same length, got {len(units)} and {len(strata)}")
    arms, _ = assign_strata(strata, allocation_cycle(weights), lambda _key: rng)
    return arms
