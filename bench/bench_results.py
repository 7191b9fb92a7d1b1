"""Results speed and memory: `GET /api/v1/pilots/{id}/results` against loading the raw audits with pandas.

Set-up (not timed): a migrated SQLite database with a running always-valid pilot of 5,000 moderators (accuracy
primary, critical error rate and handle time guardrails), ~2,000,000 simulated audits over 2 pre-period weeks and 8
pilot weeks, written through the ingestion write path (parse + store: outcomes and rollups). How the time grows
with moderators and with audits per moderator (more active moderator-days, as in production) is
`bench/bench_scaling.py`.

Timed, in the same run:

* ours: the results request through Flask's test client with the cache off (`RESULTS_CACHE = False`), median of
  `--repeats` after a first one (reported apart: after the bulk load it folds every QA batch);
* baseline: `pandas.read_sql` of the pilot's outcome rows, grouped by moderator (sum of correct, count), which is
  the least any raw-audit implementation must do;
* peak memory of one request in a child process: peak RSS (VmHWM) over the RSS before it, and tracemalloc.

    .venv/bin/python bench/bench_results.py [--moderators 5000] [--repeats 3] [--reuse path/to/bench.sqlite3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import client_as, in_child, reset_peak, status_mb
from sqlalchemy import text

from pilots import ingestion
from pilots.db import make_engine, session_factory
from pilots.migrate import upgrade
from pilots.models import Assignment, Pilot, RosterEntry
from pilots.planning.canonical import plan_hash
from pilots.results import frozen
from pilots.simulation import SimulationSettings, simple_assignment, simulate_audits, simulate_roster

SEED = 20261125
METRICS = [
    {"name": "accuracy", "role": "primary"},
    {"name": "critical_error_rate", "role": "guardrail", "margin": 0.005},
    {"name": "handle_time", "role": "guardrail", "margin": 0.05, "relative": True},
]


def simulation(moderators: int) -> SimulationSettings:
    # 2M audits over 10 weeks for 5,000 moderators: ~40 audits per moderator per week.
    return replace(
        SimulationSettings(n_moderators=moderators, pre_weeks=2, weeks=8),
        audits_per_week_median=40.0,
        audits_per_week_range=(15.0, 90.0),
        accuracy_effect_points=0.5,
    )


def seed(database_url: str, sim: SimulationSettings, name: str) -> tuple[int, dict[str, str], object]:
    rng = np.random.default_rng(SEED)
    roster = simulate_roster(sim, rng)
    assignment = simple_assignment(roster, sim.arms, rng)
    engine = make_engine(database_url)
    launched = datetime.combine(sim.start_date, clock(0), tzinfo=UTC)  # simulation mode: history from the start
    with session_factory(engine)() as session:
        pilot = Pilot(
            name=name,
            simulated=True,
            launched_at=launched,
            kind="tool",
            owner="bench",
            arms=[{"name": arm, "weight": 1} for arm in sim.arms],
            seed=SEED,
            metrics=METRICS,
            design={"method": "always_valid", "alpha": 0.05, "power": 0.8, "looks": 5, "min_days": 14},
            start_date=sim.start_date,
            end_date=sim.start_date + timedelta(weeks=sim.weeks) - timedelta(days=1),
            pre_period_start=sim.start_date - timedelta(weeks=sim.pre_weeks),
            status="running",
        )
        session.add(pilot)
        session.flush()
        for k, row in enumerate(roster):
            moderator = row["moderator_id"]
            session.add(
                RosterEntry(
                    pilot_id=pilot.id,
                    moderator_id=moderator,
                    team=row["team"],
                    site=row["site"],
                    language=row["language"],
                    tenure_months=row["tenure_months"],
                )
            )
            session.add(
                Assignment(
                    pilot_id=pilot.id,
                    moderator_id=moderator,
                    unit_id=moderator,
                    arm=assignment[moderator],
                    stratum="all",
                    sequence=k,
                    assigned_at=launched,
                )
            )
        session.commit()
        pilot_id = pilot.id
    engine.dispose()
    return pilot_id, assignment, roster


def freeze_plans(database_url: str, pilot_ids: tuple[int, ...]) -> None:
    """Freeze each pilot's information plan from its pre-period, as a simulated launch with its history in place
    would (`pilots.results.frozen`), so the timed requests run the same path as launched pilots."""
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        for pilot_id in pilot_ids:
            pilot = session.get(Pilot, pilot_id)
            pilot.information_plan = frozen.freeze(session, pilot)
            pilot.plan_hash = plan_hash(pilot)
        session.commit()
    engine.dispose()


def ingest(database_url: str, pilot_id: int, roster, assignment, sim: SimulationSettings) -> int:
    engine = make_engine(database_url)
    factory = session_factory(engine)
    context = ingestion.load(factory, pilot_id)
    stream = simulate_audits(roster, assignment, sim, np.random.default_rng(SEED + 1))
    total, batch = 0, []
    for record in stream:
        batch.append(record)
        if len(batch) == 50_000:
            total += ingestion.store(
                factory, context, ingestion.parse_json_records(batch, context.window), actor="bench", source="bench"
            ).accepted
            batch = []
    if batch:
        total += ingestion.store(
            factory, context, ingestion.parse_json_records(batch, context.window), actor="bench", source="bench"
        ).accepted
    engine.dispose()
    return total


def build_database(moderators: int, prefix: str) -> tuple[Path, str, int, int]:
    """A new SQLite bench database in a temporary folder: the running pilot of `simulation(moderators)` with its
    audits ingested and its information plan frozen as at launch. Returns the folder, URL, pilot id and audits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    sim = simulation(moderators)
    pilot_id, assignment, roster = seed(url, sim, f"bench {moderators} moderators")
    start = time.perf_counter()
    audits = ingest(url, pilot_id, roster, assignment, sim)
    print(f"set-up: {audits:,} audits ingested in {time.perf_counter() - start:.0f} s; database {folder}")
    freeze_plans(url, (pilot_id,))
    return folder, url, pilot_id, audits


def time_results(database_url: str, pilot_id: int, repeats: int) -> tuple[float, float]:
    """The first results request (cache off) and the median of `repeats` more. The first one after the bulk load
    reads every QA batch as unfolded and folds them (`pilots.results.qa_levels`); the others read the folded sums."""
    client, headers = client_as(database_url)
    client.get("/api/v1/openapi.json")  # warm imports
    start = time.perf_counter()
    response = client.get(f"/api/v1/pilots/{pilot_id}/results", headers=headers)
    first = time.perf_counter() - start
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(f"/api/v1/pilots/{pilot_id}/results", headers=headers)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return first, statistics.median(timings)


def time_baseline(database_url: str, pilot_id: int, repeats: int) -> float:
    engine = make_engine(database_url)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        with engine.connect() as connection:
            frame = pd.read_sql(text("SELECT * FROM outcome WHERE pilot_id = :p"), connection, params={"p": pilot_id})
        frame.groupby("moderator_id").agg(correct=("correct", "sum"), audits=("audit_id", "size"))
        timings.append(time.perf_counter() - start)
    engine.dispose()
    return statistics.median(timings)


def time_qa(database_url: str, pilot_id: int, repeats: int) -> tuple[float, float]:
    """Median times of the QA read alone, the part of the results request that grew with the number of audits: the
    latest read (`pilots.results.qa_levels`: the folded per-dimension sums and the unfolded batches) and the direct
    read an `as_of` request makes (`pilots.results.qa_data`: the GROUP BY over `qa_day`), each with the double-audit
    read."""
    from pilots.lookup import get_pilot
    from pilots.results import qa_levels
    from pilots.results.qa_data import load_cells, load_ratings
    from pilots.results.units import load_units
    from pilots.schemas import plan_of

    factory = session_factory(make_engine(database_url))
    latest, direct = [], []
    with factory() as session:
        plan = plan_of(get_pilot(session, pilot_id))
        units = load_units(session, pilot_id, plan.unit)
        first = plan.pre_period_start or plan.start_date
        for _ in range(repeats):
            start = time.perf_counter()
            end = plan.end_date
            cells = qa_levels.load_folded(session, pilot_id, units, plan.start_date, end, end)
            load_ratings(session, pilot_id, units, plan.start_date, first, plan.end_date)
            latest.append(time.perf_counter() - start)
            assert cells is not None
            session.info.pop(qa_levels.PENDING, None)
            start = time.perf_counter()
            load_cells(session, pilot_id, units, plan.start_date, first, plan.end_date)
            load_ratings(session, pilot_id, units, plan.start_date, first, plan.end_date)
            direct.append(time.perf_counter() - start)
    return statistics.median(latest), statistics.median(direct)


def results_memory_in_child(database_url: str, pilot_id: int) -> tuple[int, float, float, float]:
    """One results request in a clean process: status, peak RSS over the start, tracemalloc peak, peak RSS (MB)."""
    client, headers = client_as(database_url)
    client.get("/api/v1/openapi.json")
    client.get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-03-05", headers=headers)  # imports, scipy, numpy
    before = reset_peak()
    tracemalloc.start()
    response = client.get(f"/api/v1/pilots/{pilot_id}/results", headers=headers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = status_mb("VmHWM")
    return response.status_code, after - before, peak / 2**20, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moderators", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reuse", type=Path, help="an existing bench database (skips the set-up)")
    args = parser.parse_args()
    if args.reuse:
        folder, url = args.reuse.parent, f"sqlite:///{args.reuse}"
        pilot_id = 1
        engine = make_engine(url)
        with engine.connect() as connection:
            audits = connection.execute(text("SELECT count(*) FROM outcome WHERE pilot_id = 1")).scalar_one()
        engine.dispose()
    else:
        folder, url, pilot_id, audits = build_database(args.moderators, "bench-results-")

    first, ours = time_results(url, pilot_id, args.repeats)
    baseline = time_baseline(url, pilot_id, args.repeats)
    qa_latest, qa_direct = time_qa(url, pilot_id, args.repeats)
    status, rss_mb, traced_mb, total_mb = in_child(results_memory_in_child, url, pilot_id)
    print()
    print(f"{'measure':<52}{'value':>12}")
    print(f"{'GET /results, ' + f'{args.moderators:,} moderators, {audits:,} audits (s)':<52}{ours:>12.3f}")
    print(f"{'baseline: pandas read_sql + groupby moderator (s)':<52}{baseline:>12.3f}")
    print(f"{'speed-up over baseline (target >= 20x)':<52}{baseline / ours:>11.1f}x")
    print(f"{'first request after the load (folds the QA sums) (s)':<52}{first:>12.3f}")
    print(f"{'of which the QA read, folded sums (latest) (s)':<52}{qa_latest:>12.3f}")
    print(f"{'the QA read of an as_of request, qa_day (s)':<52}{qa_direct:>12.3f}")
    print(f"{'peak memory of one request, peak RSS delta (MB)':<52}{rss_mb:>12.1f}")
    print(f"{'peak memory of one request, tracemalloc peak (MB)':<52}{traced_mb:>12.1f}")
    print(f"{'peak RSS of the child process during it (MB)':<52}{total_mb:>12.1f}")
    print(f"(memory child answered {status}; database in {folder})")


if __name__ == "__main__":
    main()
