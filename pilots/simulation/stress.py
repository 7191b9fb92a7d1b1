"""The stress matrix: whole simulated pilots under each `Scenario`, read through the results engine of `GET /results`.

Each pilot is drawn by `pilots.simulation.scenarios`, turned into the in-memory `Panel` the loader would build from
its rollups (moderators, or teams with their members' audits summed), and analysed by
`pilots.results.document._document`, the function behind `GET /results`, at the design's reviews: every weekly look
(group-sequential reviews; always-valid pilots are read daily, and their crossings are sticky, so the last review's
document holds every daily crossing). With outcome delays each review sees only the audits that had arrived by then
(``as_of`` as it was), and always-valid pilots are then read every day. The data-quality checks are evaluated at every
planned look exactly as the document evaluates them.

Per pilot it records: a `go` (the treatment declared better on the primary at any review), harm (a downward primary
crossing or a guardrail beyond its margin at any review), `invalid` at any look, and the review at which each
happened. `run_cell` aggregates them with Monte Carlo standard errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal

import numpy as np

from analysis._planning_design import SequentialDesign, at_horizon
from pilots.assignment.blocks import reassign
from pilots.models import Pilot
from pilots.planning import small_sample
from pilots.results import checks, frozen, looks, safeguard
from pilots.results.document import _comparisons, _document
from pilots.results.loader import Panel
from pilots.results.units import Units
from pilots.rollups import SUMS
from pilots.schemas import plan_of
from pilots.simulation.generate import simple_assignment
from pilots.simulation.scenarios import Scenario, simulate_scenario_days
from pilots.simulation.settings import EffectShape, SimulatedRoster, SimulationSettings, simulate_roster

Method = Literal["always_valid", "group_sequential"]
UnitKind = Literal["moderator", "team"]
ALPHA = 0.05
WEEKS = 6
PRE_WEEKS = 2
CRITICAL_MARGIN = 0.005


SCENARIOS: dict[str, Scenario] = {
    "baseline": Scenario(),
    # 1. Busy Mondays, thin weekends (a little less accurate), two holidays in week 2 and one in week 5.
    "seasonality": Scenario(
        "seasonality",
        weekday_volume=(1.15, 1.1, 1.0, 1.0, 0.9, 0.45, 0.35),
        weekday_accuracy_points=(0.0, 0.0, 0.0, 0.0, -0.5, -1.5, -1.5),
        holidays=(10, 11, 31),
    ),
    # 2. One moderator in twenty gets ten times the audits.
    "heavy_tails": Scenario("heavy_tails", heavy_share=0.05, heavy_factor=10.0),
    # 4. Auditors grow stricter: accuracy falls half a point a week in both arms.
    "qa_drift": Scenario("qa_drift", drift_points_per_week=0.5),
    # 5. Audits arrive up to a week late; every review sees only what had arrived.
    "delays": Scenario("delays", delay_max_days=7),
    # 6. Half the treatment arm stops being audited after two weeks: the right answer is `invalid`.
    "attrition": Scenario("attrition", attrition_share=0.5, attrition_day=14),
    # 7. Three moderators in ten join during the first four weeks.
    "late_joiners": Scenario("late_joiners", late_share=0.3, late_window_days=28),
    # 8. Leave and sick weeks: each moderator is away in each pilot week with probability 0.15, in both arms. Near the
    # common silent rate at which the attrition test is closest to its level (a valid pilot: the right answer is not
    # `invalid`).
    "absences": Scenario("absences", absence_share=0.15),
}
"""The matrix's operating conditions (scenario 3, effects that ramp up or fade, is `Cell.effect_shape`)."""


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: the roster (``size`` moderators, or ``size`` teams), the design, the scenario and
    the accuracy effect in points (0: the null cell) with its shape over time (``ramp``: full after three weeks;
    ``fade``: half-life two weeks towards 30% of it)."""

    unit: UnitKind
    size: int
    method: Method
    scenario: Scenario
    effect_points: float = 0.0
    effect_shape: EffectShape = "constant"


@dataclass(frozen=True)
class PilotOutcome:
    go: bool
    harm: bool
    invalid: bool
    primary: bool = False  # a confirmed upward primary crossing (the plan's promise), guardrails aside
    flagged_by: frozenset[str] = frozenset()
    """The checks that failed at some look (`invalid` is set whenever one did)."""


@dataclass(frozen=True)
class CellResult:
    """Rates over the cell's pilots with their Monte Carlo standard errors."""

    cell: Cell
    pilots: int
    go: float
    harm: float
    invalid: float
    primary: float = math.nan
    flagged_by: dict[str, float] = field(default_factory=dict)
    """Share of the pilots each check flagged at some look (a pilot can be flagged by several)."""

    def se(self, rate: float) -> float:
        return math.sqrt(max(rate * (1.0 - rate), 1e-12) / self.pilots)


def settings_for(cell: Cell) -> SimulationSettings:
    """The operation behind a cell: a team pilot draws enough moderators for its teams (8-15 each)."""
    n = cell.size if cell.unit == "moderator" else 15 * cell.size
    return SimulationSettings(n_moderators=n, weeks=WEEKS, pre_weeks=PRE_WEEKS, accuracy_effect_points=0.0)


def pilot_for(cell: Cell) -> Pilot:
    """The registered pilot the engine reads: accuracy primary, critical-error-rate guardrail (0.5 points)."""
    start = SimulationSettings().start_date
    return Pilot(
        id=1,
        name="stress",
        kind="tool",
        owner="stress",
        unit=cell.unit,
        arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        strata=[],
        seed=1,
        metrics=[
            {"name": "accuracy", "role": "primary"},
            {"name": "critical_error_rate", "role": "guardrail", "margin": CRITICAL_MARGIN},
        ],
        design={"method": cell.method, "alpha": ALPHA, "power": 0.8, "looks": WEEKS, "min_days": 14},
        start_date=start,
        end_date=start + timedelta(days=7 * WEEKS - 1),
        pre_period_start=start - timedelta(days=7 * PRE_WEEKS),
        status="running",
    )


def _team_roster(roster: SimulatedRoster, teams: int) -> np.ndarray:
    """Mask of the moderators in the roster's first ``teams`` teams."""
    names = [row["team"] for row in roster]
    keep = list(dict.fromkeys(names))[:teams]
    return np.isin(np.array(names, dtype=object), np.array(keep, dtype=object))


def _assign(roster: SimulatedRoster, cell: Cell, rng: np.random.Generator) -> dict[str, str]:
    """Moderators by the simulator's simple assignment; teams by launch's own procedure (permuted blocks in one
    stratum, `pilots.assignment.blocks`), whose re-runs the randomization test replays: with 8 teams the blocks make
    some assignments far likelier than others, which decides whether that test can reach alpha at all."""
    arms = ("control", "treatment")
    if cell.unit == "moderator":
        return simple_assignment(roster, arms, rng)
    teams = tuple(sorted({row["team"] for row in roster}))
    labels = reassign(teams, ("all",) * len(teams), dict.fromkeys(arms, 1), rng)
    arm_of = dict(zip(teams, labels, strict=True))
    return {row["moderator_id"]: arm_of[row["team"]] for row in roster}


@dataclass(frozen=True, eq=False)
class _Drawn:
    units: Units
    unit_of: np.ndarray  # unit index of each moderator
    days: object  # ScenarioDays
    team: bool = False


def _draw(cell: Cell, rng: np.random.Generator) -> _Drawn:
    settings = replace(
        settings_for(cell),
        accuracy_effect_points=cell.effect_points,
        effect_shape=cell.effect_shape,
        ramp_weeks=3.0,
        fade_half_life_weeks=2.0,
        fade_floor=0.3,
    )
    roster = simulate_roster(settings, rng)
    if cell.unit == "team":
        keep = _team_roster(roster, cell.size)
        roster = SimulatedRoster(
            rows=tuple(r for r, k in zip(roster.rows, keep, strict=True) if k),
            accuracy=roster.accuracy[keep],
            audits_per_week=roster.audits_per_week[keep],
            handle_factor=roster.handle_factor[keep],
            working_days=roster.working_days[keep],
            site_index=roster.site_index[keep],
        )
    assignment = _assign(roster, cell, rng)
    days = simulate_scenario_days(roster, assignment, settings, cell.scenario, rng)
    key = [row["moderator_id"] if cell.unit == "moderator" else row["team"] for row in roster]
    ids = tuple(sorted(set(key)))
    index = {u: i for i, u in enumerate(ids)}
    unit_of = np.array([index[k] for k in key])
    arm_of = {index[k]: assignment[row["moderator_id"]] for k, row in zip(key, roster, strict=True)}
    members = np.bincount(unit_of, minlength=len(ids)).astype(float)

    sites = np.array([roster[k]["site"] for k in range(len(roster))], dtype=object)
    languages = np.array([roster[k]["language"] for k in range(len(roster))], dtype=object)
    tenure = np.array([roster[k]["tenure_months"] for k in range(len(roster))], dtype=float)
    first = {u: k for k, u in reversed(list(enumerate(unit_of.tolist())))}
    units = Units(
        ids=ids,
        arms=np.array([arm_of[i] for i in range(len(ids))], dtype=object),
        strata=tuple("all" for _ in ids),
        index_of_moderator={row["moderator_id"]: int(u) for row, u in zip(roster, unit_of, strict=True)},
        attributes={
            "site": np.array([sites[first[i]] for i in range(len(ids))], dtype=object),
            "language": np.array([languages[first[i]] for i in range(len(ids))], dtype=object),
            "tenure_months": np.bincount(unit_of, weights=tenure, minlength=len(ids)) / members,
        },
    )
    return _Drawn(units, unit_of, days, cell.unit == "team")


def _panel(drawn: _Drawn, day: int | None) -> Panel:
    """The panel as the loader would build it on pilot day ``day`` (None: with every audit that will arrive)."""
    counts = drawn.days.arrived_by(day)
    n_units = drawn.units.size
    columns = {
        "audits": counts["audits"],
        "correct": counts["correct"],
        "critical_audits": counts["audits"],
        "critical": counts["critical"],
        "handle_audits": np.zeros_like(counts["audits"]),
        "handle_sum": np.zeros(counts["audits"].shape),
        "handle_sum2": np.zeros(counts["audits"].shape),
    }
    stacked = np.zeros((len(SUMS), n_units, drawn.days.day_offsets.size))
    for k, name in enumerate(SUMS):
        np.add.at(stacked[k], drawn.unit_of, np.asarray(columns[name], dtype=float))
    pre = drawn.days.day_offsets < 0
    pilot_days = stacked[:, :, ~pre]
    if day is not None:
        pilot_days = pilot_days[:, :, : day + 1]
    members = None
    if drawn.team:  # team pilots keep each member's daily audits, as the loader does
        members = np.asarray(counts["audits"], dtype=float)[:, ~pre]
        if day is not None:
            members = members[:, : day + 1]
    return Panel(
        drawn.units,
        SimulationSettings().start_date,
        pilot_days.shape[2],
        pilot_days,
        stacked[:, :, pre].sum(axis=2),
        int(pre.sum()),
        member_audits=members,
        member_unit=drawn.unit_of if drawn.team else None,
    )


def _read(document: dict) -> tuple[bool, bool, bool, bool, set[str]]:
    metrics = {m["name"]: m for m in document["metrics"]}
    primary = metrics["accuracy"]["comparisons"][0]
    guard = metrics["critical_error_rate"]["comparisons"][0].get("non_inferiority") or {}
    # A crossing the small-sample safeguard does not confirm is not declared (the verdict keeps collecting).
    declared = primary.get("randomization", {}).get("confirms", True)
    up = primary["crossing"] == "up" and declared
    go = document["decision"]["recommendation"] == "go" or up
    harm = (primary["crossing"] == "down" and declared) or bool(guard.get("harmful"))
    failed = {c["name"] for c in document["checks"] if not c["ok"]}
    return go, harm, document["decision"]["recommendation"] == "invalid", up, failed


def run_pilot(cell: Cell, rng: np.random.Generator) -> PilotOutcome:
    """Draw one pilot of ``cell`` and read it at every review (module docstring)."""
    pilot = pilot_for(cell)
    plan = plan_of(pilot)
    drawn = _draw(cell, rng)
    total = looks.total_days(plan.start_date, plan.end_date)
    look_days = looks.planned_look_days(cell.method, plan.design.looks, total)
    delayed = cell.scenario.delay_max_days > 0
    if delayed:
        reviews = look_days  # each read as it was then: daily for always-valid, weekly for group-sequential
    elif cell.method == "group_sequential":
        reviews = look_days  # guardrail intervals are those of the latest review, so read every review
    elif small_sample.applies(cell.unit, drawn.units.size):
        # A crossing also needs the randomization test at the look it is read: read the reviews the plan counts.
        reviews = safeguard.review_days(cell.method, look_days)
    else:
        reviews = (look_days[-1],)  # always-valid crossings and confidence sequences are running: the last holds all
    go = harm = invalid = up = False
    flagged: set[str] = set()
    full = None if delayed else _panel(drawn, None)
    # What launch stores (`pilots.lifecycle` -> `frozen.freeze`): the information plan from the units and the
    # pre-period as they were at launch; `GET /results` reads it back with `frozen.read(pilot)`.
    fixed = frozen.from_json(frozen.freeze_panel(plan, full if full is not None else _panel(drawn, -1)))
    for day in reviews:
        panel = _panel(drawn, day) if delayed else full.through(day)
        document, _ = _document(pilot, plan, panel, plan.start_date + timedelta(days=day), fixed, descriptive=False)
        g, h, i, u, failed = _read(document)
        go, harm, invalid, up = go or g, harm or h, invalid or i, up or u
        flagged |= failed
    for day in look_days:  # the repeated data-quality checks, at every planned look
        panel = _panel(drawn, day) if delayed else full.through(day)
        failed = {c.name for c in checks.repeated(panel, plan.weights, day, plan.unit, look_days) if not c.ok}
        invalid |= bool(failed)
        flagged |= failed
    return PilotOutcome(go, harm, invalid, up, frozenset(flagged))


def run_cell(cell: Cell, pilots: int, seed: int) -> CellResult:
    """``pilots`` seeded pilots of ``cell``: the share that went `go`, showed harm, and were flagged invalid."""
    rng = np.random.default_rng(seed)
    outcomes = [run_pilot(cell, rng) for _ in range(pilots)]
    rate = lambda field: float(np.mean([getattr(o, field) for o in outcomes]))  # noqa: E731
    names = sorted(set().union(*(o.flagged_by for o in outcomes)))
    by_check = {name: float(np.mean([name in o.flagged_by for o in outcomes])) for name in names}
    return CellResult(cell, pilots, rate("go"), rate("harm"), rate("invalid"), rate("primary"), by_check)


@dataclass(frozen=True)
class Promise:
    """What the plan promises for a cell: ``power`` at ``effect_points`` (points of accuracy). For moderator cells
    the normal-theory detectable effect at 80%; for team cells the small-sample plan (`pilots.planning.small_sample`):
    its detectable effect at 80%, or, when no effect reaches 80%, the normal-theory effect and the power the plan
    says the procedure delivers there."""

    effect_points: float
    power: float
    normal_effect_points: float


def promise(cell: Cell, seed: int = 7, pilots: int = 20) -> Promise:
    """The plan's promise for a cell from the information plan the engine itself freezes (averaged over null
    pilots): the design's drift for 80% power times the planned final standard deviation, and for pilots under the
    small-sample safeguard the simulated procedure on the same planned variance curve."""
    rng = np.random.default_rng(seed)
    null = replace(cell, effect_points=0.0, scenario=Scenario())
    pilot = pilot_for(null)
    plan = plan_of(pilot)
    total = looks.total_days(plan.start_date, plan.end_date)
    look_days = looks.planned_look_days(null.method, plan.design.looks, total)
    curves, raw_curves, fractions, units = [], [], None, None
    for _ in range(pilots):
        drawn = _draw(null, rng)
        document_panel = _panel(drawn, None)
        fixed = frozen.from_json(frozen.freeze_panel(plan, document_panel))
        comparison = _comparisons(
            document_panel, plan, look_days, look_days, total - 1, "control", ("treatment",), fixed
        )[0]
        if comparison.plan.planned_variance is not None:
            curves.append(np.asarray(comparison.plan.planned_variance, dtype=float))
            raw_curves.append(small_sample.unadjusted_variance(comparison.plan))
            fractions = comparison.plan.planned_fractions()
            units = drawn.units
    curve = np.mean(curves, axis=0)
    final = float(curve[-1])
    method = "group_sequential" if null.method == "group_sequential" else "always_valid"
    design = SequentialDesign(method, looks_per_week=1 if method == "group_sequential" else 7)
    normal = 100.0 * at_horizon(design, ALPHA, np.asarray(fractions), final).drift(0.8) * math.sqrt(final)
    if units is None or not small_sample.applies(cell.unit, units.size):
        return Promise(normal, 0.8, normal)
    half = units.size // 2
    procedure = small_sample.procedure(
        method, plan.design.spending, ALPHA, look_days, curve, (units.size - half, half), np.mean(raw_curves, axis=0)
    )
    roster = small_sample.Roster(
        units.ids, units.strata, tuple(plan.weights.items()), plan.seed, "control", "treatment"
    )
    found = small_sample.promise(procedure, roster, 0.8)
    if found.detectable_effect is not None:
        return Promise(100.0 * found.detectable_effect, 0.8, normal)
    return Promise(normal, small_sample.power_at(procedure, roster, normal / 100.0), normal)


def detectable_effect(cell: Cell, seed: int = 7, pilots: int = 20) -> float:
    """The effect (points of accuracy) at which a cell's power is measured: the plan's promise (`promise`)."""
    return promise(cell, seed, pilots).effect_points


__all__ = ["Cell", "CellResult", "Promise", "detectable_effect", "promise", "run_cell", "run_pilot"]
