"""How results scale with the size of the operation: `GET /results` time and peak memory by roster size and by
audits per moderator, with the fitted growth exponent.

Set-up (not timed): one migrated database (SQLite file, or `--database-url` for PostgreSQL) with a running
always-valid pilot per case (accuracy primary, critical error rate and handle time guardrails; 2 pre-period weeks,
8 pilot weeks, all of them past). Results read only the daily rollups (`unit_day`), the roster and the assignments,
so those are generated inside the database. They look like production: at 1x a moderator audits on about 45% of the
days (about 2 audits a day); more audits per moderator mean more active moderator-days first (3x: 85% of the days,
10x: every day), then more audits a day, never just bigger counts in the same rows.

Timed, in the same run, `--repeats` interleaved rounds over all cases (min / median / max):

* ours: the results request through Flask's test client, cache off, reading the per-moderator rollup series
  (`pilots.results.unit_series`), which the first request of each pilot builds (its time is printed: set-up);
* direct: the same request with the series switched off in-process (every `unit_day` row of the pilot period read,
  as before migration 0012);
* baseline: reading the same pilot's rollup rows with a bare cursor (`SELECT * FROM unit_day WHERE pilot_id = ?`,
  fetchall), the floor of any implementation that reads one row per unit-day. It runs in a spawned process: the 1.6
  million tuples it frees left the heap of the process that timed the requests in a state where the next request's
  panel writes took three times as long (0.05 -> 0.17 s at 50,000 moderators, SQLite).

Peak memory: one request per case in a fresh spawned process (VmHWM reset just before it, against the RSS before).
The growth exponent is the least-squares slope of log(time) on log(moderators) at 1x.

    .venv/bin/python bench/bench_scaling.py [--sizes 1000,5000,20000,50000] [--factors 1,3,10] [--factor-size 5000]
        [--repeats 3] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from _harness import client_as, fresh_database, in_child, reset_peak, spread, status_mb
from bench_results import METRICS
from sqlalchemy import text

from pilots.db import make_engine, session_factory
from pilots.models import Pilot
from pilots.results import unit_series

PRE_START, START, END = date(2026, 1, 19), date(2026, 2, 2), date(2026, 3, 29)
DAYS = (END - PRE_START).days + 1
# Share of active moderator-days (per mille) and mean audits on an active day, by audits-per-moderator factor.
ACTIVITY = {1: (450, 2), 3: (850, 3), 10: (1000, 9)}

_NUMBERS = {
    "sqlite": "WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k + 1 < :count) SELECT k FROM n",
    "postgresql": "SELECT k FROM generate_series(0, :count - 1) AS k",
}
_DAY = {
    "sqlite": "date('2026-01-19', '+' || d.k || ' days')",
    "postgresql": "date '2026-01-19' + d.k::int",
}


def seed(url: str, moderators: int, factor: int) -> int:
    engine = make_engine(url)
    dialect = engine.dialect.name
    with session_factory(engine)() as session:
        pilot = Pilot(
            name=f"scaling {moderators} x{factor}",
            kind="tool",
            owner="bench",
            arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
            seed=1,
            metrics=METRICS,
            design={"method": "always_valid", "alpha": 0.05, "power": 0.8, "looks": 5, "min_days": 14},
            start_date=START,
            end_date=END,
            pre_period_start=PRE_START,
            status="running",
        )
        session.add(pilot)
        session.commit()
        pilot_id = pilot.id
    numbers = _NUMBERS[dialect].replace(":count", ":moderators")
    active, mean = ACTIVITY[factor]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO roster_entry (pilot_id, moderator_id, team, site, language, tenure_months, attributes, "
                "late_joiner, added_at) SELECT :pilot, 'm' || (100000 + k), 't' || (k % 200), 's' || (k % 5), "
                f"'l' || (k % 3), k % 40, '{{}}', false, :now FROM ({numbers}) AS m"
            ),
            {"pilot": pilot_id, "moderators": moderators, "now": "2026-01-01 00:00:00.000000"},
        )
        connection.execute(
            text(
                "INSERT INTO assignment (pilot_id, moderator_id, unit_id, arm, stratum, sequence, late_joiner, "
                "assigned_at, data_from) SELECT :pilot, 'm' || (100000 + k), 'm' || (100000 + k), CASE WHEN "
                f"k % 2 = 0 THEN 'control' ELSE 'treatment' END, 'all', k, false, :now, :start FROM ({numbers}) AS m"
            ),
            {"pilot": pilot_id, "moderators": moderators, "now": "2026-01-01 00:00:00.000000", "start": START},
        )
        connection.execute(
            text(_plain_rollups(dialect)),
            {"pilot": pilot_id, "moderators": moderators, "days": DAYS, "active": active, "mean": mean},
        )
        connection.execute(text("UPDATE pilot SET data_version = 1 WHERE id = :p"), {"p": pilot_id})
    engine.dispose()
    return pilot_id


def _plain_rollups(dialect: str) -> str:
    """The rollup generator with the audits-per-day expression written out (both dialects)."""
    a = "(1 + ((m.k * 31 + d.k * 17) % (2 * :mean - 1)))"
    h = "(40.0 + (m.k % 23))"
    numbers_m = _NUMBERS[dialect].replace(":count", ":moderators")
    numbers_d = _NUMBERS[dialect].replace(":count", ":days")
    return (
        "INSERT INTO unit_day (pilot_id, moderator_id, day, audits, correct, critical_audits, critical, "
        "handle_audits, handle_sum, handle_sum2) "
        f"SELECT :pilot, 'm' || (100000 + m.k), {_DAY[dialect]}, {a}, "
        f"{a} - (CASE WHEN (m.k * 7 + d.k * 3) % 9 = 0 THEN 1 ELSE 0 END), {a}, "
        f"CASE WHEN (m.k + d.k * 5) % 97 = 0 THEN 1 ELSE 0 END, {a}, {a} * {h}, {a} * {h} * {h} + {a} * 25.0 "
        f"FROM ({numbers_m}) AS m CROSS JOIN ({numbers_d}) AS d "
        "WHERE ((m.k * 2654435761 + d.k * 40503) % 1000) < :active"
    )


def ours(client, headers, pilot_id: int, *, series: bool = True) -> float:
    """One results request (with `series` False: reading `unit_day` directly, as before the series)."""
    saved = unit_series.read_state, unit_series.BUILD_ROWS
    if not series:
        unit_series.read_state, unit_series.BUILD_ROWS = (lambda *args: None), 10**12
    try:
        start = time.perf_counter()
        response = client.get(f"/api/v1/pilots/{pilot_id}/results", headers=headers)
        elapsed = time.perf_counter() - start
    finally:
        unit_series.read_state, unit_series.BUILD_ROWS = saved
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return elapsed


def baseline(url: str, pilot_id: int) -> tuple[float, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        start = time.perf_counter()
        cursor.execute(f"SELECT * FROM unit_day WHERE pilot_id = {mark}", (pilot_id,))
        rows = len(cursor.fetchall())
        elapsed = time.perf_counter() - start
        cursor.close()
    engine.dispose()
    return elapsed, rows


def results_peak_in_child(url: str, pilot_id: int, series: bool = True, build: bool = False) -> float:
    """Peak RSS over the start of one results request in a clean process (MB); with `build`, of the request that
    builds the series (the pilot's series are dropped first)."""
    client, headers = client_as(url)
    client.get(f"/api/v1/pilots/{pilot_id}/results?as_of=2026-02-05", headers=headers)  # imports, scipy, numpy
    if build:
        engine = make_engine(url)
        with engine.begin() as connection:
            for table in ("unit_series", "unit_fold"):
                connection.execute(text(f"DELETE FROM {table} WHERE pilot_id = :p"), {"p": pilot_id})
        engine.dispose()
    before = reset_peak()
    ours(client, headers, pilot_id, series=series)
    return status_mb("VmHWM") - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000,50000")
    parser.add_argument("--factors", default="1,3,10")
    parser.add_argument("--factor-size", type=int, default=5000, help="roster size of the 3x and 10x cases")
    parser.add_argument("--grid", action="store_true", help="every factor at every size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL URL of a scratch database (its tables are dropped)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    factors = [int(f) for f in args.factors.split(",")]
    cases = [(n, 1) for n in sizes] + [
        (n, f) for f in factors if f != 1 for n in (sizes if args.grid else [args.factor_size])
    ]
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-scaling-')) / 'bench.sqlite3'}"
    fresh_database(url)
    pilots = {}
    for case in cases:
        start = time.perf_counter()
        pilots[case] = seed(url, *case)
        print(f"set-up {case[0]:,} moderators x{case[1]}: {time.perf_counter() - start:.0f} s", flush=True)
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    client, headers = client_as(url)
    for case, pilot_id in pilots.items():
        ours(client, headers, pilot_id, series=False)  # warm up
        built = ours(client, headers, pilot_id)  # builds the series
        print(f"first request with the series, {case[0]:,} moderators x{case[1]} (builds them): {built:.2f} s")
    times = {case: [] for case in cases}
    ratios = {case: [] for case in cases}
    direct = {case: [] for case in cases}
    direct_ratios = {case: [] for case in cases}
    rows = {}
    for _ in range(args.repeats):
        for case, pilot_id in pilots.items():
            base, rows[case] = in_child(baseline, url, pilot_id)
            elapsed = ours(client, headers, pilot_id)
            times[case].append(elapsed)
            ratios[case].append(elapsed / base)
            elapsed = ours(client, headers, pilot_id, series=False)
            direct[case].append(elapsed)
            direct_ratios[case].append(elapsed / base)
    peaks = {case: in_child(results_peak_in_child, url, pilot_id) for case, pilot_id in pilots.items()}
    direct_peaks = {case: in_child(results_peak_in_child, url, pilot_id, False) for case, pilot_id in pilots.items()}
    build_peaks = {case: in_child(results_peak_in_child, url, p, True, True) for case, p in pilots.items()}
    print(f"\n{url.split(':')[0]}; GET /results, cache off; min / median / max of {args.repeats} interleaved rounds")
    head = f"{'moderators':>10} {'audits':>6} {'rollup rows':>12} {'seconds':>24} {'ours / bare read':>24}"
    print(f"{head} {'peak RSS':>10} {'direct: seconds':>24} {'direct / bare read':>24} {'direct RSS':>10}")
    for case in cases:
        print(
            f"{case[0]:>10,} {f'x{case[1]}':>6} {rows[case]:>12,} {spread(times[case]):>24} "
            f"{spread(ratios[case]):>24} {f'+{peaks[case]:.0f} MB':>10} {spread(direct[case]):>24} "
            f"{spread(direct_ratios[case]):>24} {f'+{direct_peaks[case]:.0f} MB':>10}"
        )
    ones = [n for n in sizes if (n, 1) in times]
    if len(ones) >= 2:
        medians = [statistics.median(times[(n, 1)]) for n in ones]
        slope = np.polyfit(np.log(ones), np.log(medians), 1)[0]
        top = np.log(medians[-1] / medians[-2]) / np.log(ones[-1] / ones[-2])
        print(f"growth exponent (time ~ moderators^k), 1x: k = {slope:.2f} overall, {top:.2f} between the two largest")
    for f in factors:
        if f != 1 and (args.factor_size, f) in times and (args.factor_size, 1) in times:
            ratio = statistics.median(times[(args.factor_size, f)]) / statistics.median(times[(args.factor_size, 1)])
            before = statistics.median(direct[(args.factor_size, f)]) / statistics.median(direct[(args.factor_size, 1)])
            print(f"{args.factor_size:,} moderators, x{f} audits / x1: {ratio:.2f} the time (direct: {before:.2f})")
    for case in cases:
        speedup = statistics.median(direct[case]) / statistics.median(times[case])
        print(
            f"{case[0]:,} moderators x{case[1]}: direct / ours {speedup:.2f} (medians); peak RSS of the request "
            f"that builds the series +{build_peaks[case]:.0f} MB"
        )


if __name__ == "__main__":
    main()
