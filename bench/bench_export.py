"""Export speed and memory: `GET /outcomes?format=csv` (and JSON) against the database's own bulk export.

Set-up (not timed): a migrated database (SQLite file, or `--database-url` for PostgreSQL) with one running pilot and
`--rows` outcome rows over `--moderators` moderators and 8 weeks, generated inside the database (a recursive CTE on
SQLite, `generate_series` on PostgreSQL), plus its daily rollups.

Timed in the same run, interleaved (`--repeats` rounds of baseline, then ours), each figure a ratio against the
baseline of its own round, reported as min / median / max:

* ours: the CSV export through Flask's test client, read chunk by chunk to the end (time to the first chunk and to
  the last byte);
* baseline on SQLite: a bare `sqlite3` cursor over the same rows and columns, ordered by audit id, into
  `csv.writer` (no formatting, no escaping: a ceiling, not a competitor);
* baseline on PostgreSQL: `COPY (SELECT the same columns ... ORDER BY audit_id) TO STDOUT (FORMAT CSV)` read to the
  end by psycopg.

Peak memory: each export (CSV, JSON) in a fresh spawned process, VmHWM reset just before the request, against the
RSS before it.

    .venv/bin/python bench/bench_export.py [--rows 2000000] [--moderators 2000] [--repeats 3]
        [--database-url postgresql+psycopg://...] [--reuse path/to/bench.sqlite3]
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from _harness import client_as, fresh_database, in_child, reset_peak, spread, status_mb
from sqlalchemy import text

from pilots.db import make_engine, session_factory
from pilots.models import Pilot

START = date(2026, 2, 2)
COLUMNS = (
    "audit_id, moderator_id, audited_at, correct, critical, handle_time_s, policy, queue, auditor_id, day, ingested_at"
)

_SQLITE_ROWS = """
WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k + 1 < :rows)
INSERT INTO outcome (pilot_id, audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, policy,
                     queue, auditor_id, ingested_at)
SELECT :pilot, printf('a%010d', (k * 7919) % :rows), printf('m%06d', k % :mods),
       date('2026-01-19', '+' || ((k / :mods) % 70) || ' days')
           || printf(' %02d:%02d:%02d.000000', k % 24, k % 60, k % 59),
       date('2026-01-19', '+' || ((k / :mods) % 70) || ' days'),
       (k % 10) > 0, CASE WHEN k % 3 = 0 THEN NULL ELSE (k % 50) = 0 END,
       CASE WHEN k % 7 = 0 THEN NULL ELSE 20.0 + (k % 400) * 0.25 END,
       'policy-' || (k % 12), 'queue-' || (k % 5), 'qa-' || (k % 300), '2026-04-01 12:00:00.000000'
FROM n
"""

_POSTGRES_ROWS = """
INSERT INTO outcome (pilot_id, audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, policy,
                     queue, auditor_id, ingested_at)
SELECT :pilot, 'a' || lpad(((k::bigint * 7919) % :rows)::text, 10, '0'), 'm' || lpad((k % :mods)::text, 6, '0'),
       timestamptz '2026-01-19 00:00:00+00' + ((k / :mods) % 70) * interval '1 day'
           + make_interval(hours => k % 24, mins => k % 60, secs => k % 59),
       date '2026-01-19' + ((k / :mods) % 70)::int,
       (k % 10) > 0, CASE WHEN k % 3 = 0 THEN NULL ELSE (k % 50) = 0 END,
       CASE WHEN k % 7 = 0 THEN NULL ELSE 20.0 + (k % 400) * 0.25 END,
       'policy-' || (k % 12), 'queue-' || (k % 5), 'qa-' || (k % 300), timestamptz '2026-04-01 12:00:00+00'
FROM generate_series(0, :rows - 1) AS k
"""

# Every moderator is assigned at launch, as in production (the export labels each audit's period from its
# moderator's `data_from`); every tenth joined two weeks late, so some pilot-period audits are set aside.
_ASSIGNMENTS = """
INSERT INTO assignment (pilot_id, moderator_id, unit_id, arm, stratum, sequence, late_joiner, assigned_at, data_from)
SELECT DISTINCT pilot_id, moderator_id, moderator_id, 'control', 'all', 0, false, :launched,
       CASE WHEN substr(moderator_id, -1) = '0' THEN :late ELSE :start END
FROM outcome WHERE pilot_id = :pilot
"""

_ROLLUPS = """
INSERT INTO unit_day (pilot_id, moderator_id, day, audits, correct, critical_audits, critical, handle_audits,
                      handle_sum, handle_sum2)
SELECT pilot_id, moderator_id, day, COUNT(*), SUM(CASE WHEN correct THEN 1 ELSE 0 END), COUNT(critical),
       SUM(CASE WHEN critical THEN 1 ELSE 0 END), COUNT(handle_time_s), COALESCE(SUM(handle_time_s), 0),
       COALESCE(SUM(handle_time_s * handle_time_s), 0)
FROM outcome WHERE pilot_id = :pilot GROUP BY pilot_id, moderator_id, day
"""


def seed(url: str, rows: int, moderators: int) -> int:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        pilot = Pilot(
            name="export bench",
            kind="tool",
            owner="bench",
            arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
            seed=1,
            metrics=[{"name": "accuracy"}],
            design={"method": "always_valid"},
            start_date=START,
            end_date=date(2026, 3, 29),
            pre_period_start=date(2026, 1, 19),
            status="running",
        )
        session.add(pilot)
        session.commit()
        pilot_id = pilot.id
    generate = _SQLITE_ROWS if engine.dialect.name == "sqlite" else _POSTGRES_ROWS
    with engine.begin() as connection:
        connection.execute(text(generate), {"pilot": pilot_id, "rows": rows, "mods": moderators})
        connection.execute(text(_ROLLUPS), {"pilot": pilot_id})
        launched = datetime.combine(START, clock(0), tzinfo=UTC)
        late = START + timedelta(days=14)
        connection.execute(text(_ASSIGNMENTS), {"pilot": pilot_id, "launched": launched, "start": START, "late": late})
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE outcome"))
            connection.execute(text("VACUUM ANALYZE assignment"))
    engine.dispose()
    return pilot_id


def baseline(url: str, pilot_id: int) -> tuple[float, int]:
    """Seconds and bytes of the database's bare bulk export of the same rows and columns."""
    engine = make_engine(url)
    size = 0
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        start = time.perf_counter()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"SELECT {COLUMNS} FROM outcome WHERE pilot_id = ? ORDER BY pilot_id, audit_id", (pilot_id,))
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            while rows := cursor.fetchmany(1000):
                writer.writerows(rows)
                if buffer.tell() > 65536:
                    size += len(buffer.getvalue().encode())
                    buffer.seek(0)
                    buffer.truncate()
            size += len(buffer.getvalue().encode())
        else:
            select = f"SELECT {COLUMNS} FROM outcome WHERE pilot_id = %s ORDER BY pilot_id, audit_id"
            query = f"COPY ({select}) TO STDOUT (FORMAT CSV)"
            with cursor.copy(query, (pilot_id,)) as copy:
                for data in copy:
                    size += len(data)
        elapsed = time.perf_counter() - start
        cursor.close()
    engine.dispose()
    return elapsed, size


def ours(client, headers, pilot_id: int, fmt: str = "csv") -> tuple[float, float, int]:
    """Seconds to the first chunk and to the end, and bytes, of the export through the app."""
    start = time.perf_counter()
    response = client.get(f"/api/v1/pilots/{pilot_id}/outcomes?format={fmt}", headers=headers, buffered=False)
    chunks = iter(response.response)
    size = len(next(chunks))
    first = time.perf_counter() - start
    for chunk in chunks:
        size += len(chunk)
    response.close()
    assert response.status_code == 200
    return first, time.perf_counter() - start, size


def export_in_child(url: str, pilot_id: int, fmt: str) -> tuple[float, float, int, float, float]:
    """One export in a clean process: first chunk, total seconds, bytes, peak and kept RSS over the start (MB)."""
    client, headers = client_as(url, "analyst")
    client.get(f"/api/v1/pilots/{pilot_id}/outcomes?format={fmt}&until=2026-01-19", headers=headers)  # warm up
    before = reset_peak()
    first, total, size = ours(client, headers, pilot_id, fmt)
    return first, total, size, status_mb("VmHWM") - before, status_mb("VmRSS") - before


def stored_rows(url: str, pilot_id: int) -> int:
    """The pilot's stored audits (what an export writes)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM outcome WHERE pilot_id = :p"), {"p": pilot_id}).scalar()
    engine.dispose()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--moderators", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL URL of a scratch database (its tables are dropped)")
    parser.add_argument("--reuse", type=Path, help="an existing SQLite bench database (skips the set-up)")
    args = parser.parse_args()
    if args.reuse:
        url, pilot_id = f"sqlite:///{args.reuse}", 1
    else:
        url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-export-')) / 'bench.sqlite3'}"
        fresh_database(url)
        start = time.perf_counter()
        pilot_id = seed(url, args.rows, args.moderators)
        print(f"set-up: {args.rows:,} outcomes generated in {time.perf_counter() - start:.0f} s ({url.split(':')[0]})")
    rows = stored_rows(url, pilot_id)  # a reused database holds what its own run generated, not --rows
    client, headers = client_as(url, "analyst")
    ours(client, headers, pilot_id)  # warm up (and fill the page cache)
    ratios, rates, base_rates, firsts = [], [], [], []
    for _ in range(args.repeats):
        base, base_size = baseline(url, pilot_id)
        first, total, size = ours(client, headers, pilot_id)
        ratios.append(base / total)
        rates.append(rows / total)
        base_rates.append(rows / base)
        firsts.append(first)
    csv_mem = in_child(export_in_child, url, pilot_id, "csv")
    json_mem = in_child(export_in_child, url, pilot_id, "json")
    kind = "COPY TO STDOUT" if url.startswith("postgresql") else "sqlite3 cursor into csv.writer"
    print(f"\nGET /outcomes?format=csv, {rows:,} rows ({size / 2**20:.0f} MB; baseline {base_size / 2**20:.0f} MB)")
    print("min / median / max of", args.repeats, "interleaved rounds")
    print(f"  ours, rows/s:                         {spread(rates)}")
    print(f"  baseline ({kind}), rows/s: {spread(base_rates)}")
    print(f"  ours / baseline:                      {spread(ratios)}")
    print(f"  first chunk after (s):                {spread(firsts)}")
    for name, (first, total, size, peak, kept) in (("csv", csv_mem), ("json", json_mem)):
        print(
            f"  {name} in a fresh process: first chunk {first:.3f} s, done {total:.1f} s, {size / 2**20:.0f} MB sent, "
            f"peak RSS +{peak:.1f} MB, RSS kept afterwards +{kept:.1f} MB"
        )


if __name__ == "__main__":
    main()
