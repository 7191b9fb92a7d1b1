"""The stress matrix of issue 10: operating characteristics of the results engine under real operating conditions.

Every cell is a seeded simulation of whole pilots through the function behind `GET /results`
(`pilots.simulation.stress`): 6 weeks with a 2-week pre-period, accuracy primary and a critical-error-rate guardrail
(margin 0.5 points), both designs (always-valid read daily, group-sequential at 6 weekly reviews), 40, 100 and 400
moderators and team-randomized pilots of 8 and 20 teams, under each scenario of `SCENARIOS`. Null cells (no effect)
give the false-go rate (a `go` or an upward primary crossing at any review) and the false-harm rate (a downward
primary crossing or a guardrail beyond its margin at any review), each against its one-sided level alpha / 2 = 0.025,
and the share flagged `invalid` at any look. Effect cells run at the plan's detectable effect (80% power by the
engine's own information plan and the design's inflation; for team pilots the small-sample plan's promise,
`pilots.planning.small_sample`, printed beside it) and report the share that reached `go`.

Prints one markdown row per cell as it finishes (so a partial run is still usable), with Monte Carlo standard errors
``sqrt(p (1 - p) / n)`` and a `!` where a rate exceeds its level by more than two of them; the last column names the
checks that flagged pilots and the share of pilots each flagged.

    .venv/bin/python bench/validate_stress.py [--pilots 2000] [--power-pilots 1000] [--sizes m40,m100,m400,t8,t20]
        [--designs always_valid,group_sequential] [--scenarios baseline,...] [--power-scenarios baseline,...]
        [--pilots-for baseline=2000,delays=200] [--skip m40:group_sequential:baseline,...] [--seed 2026]

A cell's seed is ``seed + 1000 * size + 100 * design + 10 * scenario`` (indexes in `SIZES`, `DESIGNS`, `SCENARIOS`);
its effect cells use the next seeds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pilots.simulation.stress import SCENARIOS, Cell, promise, run_cell

SIZES = {
    "m40": ("moderator", 40),
    "m100": ("moderator", 100),
    "m400": ("moderator", 400),
    "t8": ("team", 8),
    "t20": ("team", 20),
}
LEVEL = 0.025
DESIGNS = ["always_valid", "group_sequential"]


def _rate(p: float, n: int, level: float | None = None) -> str:
    se = math.sqrt(max(p * (1 - p), 1e-12) / n) if n else math.nan
    flag = ""
    if level is not None and p > level + 2 * math.sqrt(level * (1 - level) / n):
        flag = " !"
    return f"{p:.3f} ({se:.3f}){flag}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=2000)
    parser.add_argument("--power-pilots", type=int, default=1000)
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--designs", default="always_valid,group_sequential")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--power-scenarios", default=",".join(SCENARIOS), help="scenarios that also run effect cells")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--pilots-for",
        default="",
        help="null pilots for some scenarios, e.g. baseline=2000,delays=200 (the rest get --pilots)",
    )
    parser.add_argument("--skip", default="", help="cells to leave out, e.g. m40:group_sequential:baseline,...")
    args = parser.parse_args()
    pilots_for = dict(item.split("=") for item in args.pilots_for.split(",") if item)
    skip = set(args.skip.split(",")) - {""}
    print(f"{args.pilots} null / {args.power_pilots} effect pilots per cell, 6 weeks, two-sided alpha 0.05, seeded.\n")
    print(
        "| units | design | scenario | false-go (MC se) | false-harm (MC se) | flagged invalid | "
        "effect (pts) | power: constant / ramp / fade | pilots | seed | s | flagged by |"
    )
    print("|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    for size_key in args.sizes.split(","):
        unit, size = SIZES[size_key]
        for method in args.designs.split(","):
            mde = None
            for name in args.scenarios.split(","):
                if f"{size_key}:{method}:{name}" in skip:
                    continue
                start = time.perf_counter()
                # The seed names the cell (not its place in this run's lists), so any subset reruns the same pilots.
                seed = args.seed + 1000 * list(SIZES).index(size_key) + 100 * DESIGNS.index(method)
                seed += 10 * list(SCENARIOS).index(name)
                cell = Cell(unit, size, method, SCENARIOS[name])
                null = run_cell(cell, int(pilots_for.get(name, args.pilots)), seed)
                power = "-"
                effect = "-"
                if name != "attrition" and args.power_pilots > 0 and name in args.power_scenarios.split(","):
                    mde = mde if mde is not None else promise(cell)
                    shapes = ("constant", "ramp", "fade") if name == "baseline" else ("constant",)
                    powers = [
                        run_cell(
                            Cell(unit, size, method, SCENARIOS[name], mde.effect_points, shape),
                            args.power_pilots,
                            seed + 1 + j,
                        )
                        for j, shape in enumerate(shapes)
                    ]
                    power = " / ".join(_rate(p.go, p.pilots) for p in powers)
                    if unit == "team":  # the small-sample plan's promise, and the confirmed primary crossings
                        power += f" (promised {mde.power:.3f}; primary {_rate(powers[0].primary, powers[0].pilots)})"
                    effect = f"{mde.effect_points:.2f}"
                label = f"{size} {'moderators' if unit == 'moderator' else 'teams'}"
                invalid = _rate(null.invalid, null.pilots)
                by_check = ", ".join(f"{name} {share:.3f}" for name, share in null.flagged_by.items()) or "-"
                if name == "attrition" and null.invalid < 0.9:
                    invalid += " (< 0.90)"
                print(
                    f"| {label} | {method} | {name} | {_rate(null.go, null.pilots, LEVEL)} | "
                    f"{_rate(null.harm, null.pilots, LEVEL)} | {invalid} | {effect} | {power} | {null.pilots} | "
                    f"{seed} | {time.perf_counter() - start:.0f} | {by_check} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
