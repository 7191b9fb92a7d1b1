"""Bulk ingestion through `POST /api/v1/pilots/{id}/outcomes` against the raw-insert ceiling of the same database.

For every batch of simulated audits (10,000 by default), in the same run and alternating so both see the same
machine load:

* ours: the JSON body is posted through Flask's test client (in process: no network, but the whole request path:
  auth, body decoding, validation, ON CONFLICT insert, rollups, data_version, event, commit);
* ceiling (SQLite): `sqlite3.executemany` of the same rows, already converted to column values, into the `outcome`
  table of a second migrated database (same shape, indexes, foreign key and pragmas), one commit per batch;
* ceiling (PostgreSQL, with --postgres-url): `COPY` of the same rows into a table created `LIKE outcome INCLUDING
  ALL` (plus the foreign key), one commit per batch.

Only the insert calls are timed (simulating audits and serializing bodies are not). Prints rows/s and the ratio.

`--moderators N` fixes the roster size (ingestion should not slow down with it); `--body csv` posts each batch as a
CSV body instead; `--bodies` posts every batch both ways, into two databases, alternating, and reports the CSV rate
over the JSON rate of the same run.

    .venv/bin/python bench/bench_ingest.py --rows 1000000 [--moderators 2000] [--body json|csv] [--bodies]
        [--postgres-url postgresql+psycopg://.../bench_ingest]
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from _harness import fresh_database
from _ingest_data import audits, seed_pilot, settings_for

from pilots.ingestion.fields import FIELDS
from pilots.migrate import upgrade
from webui import create_app

COLUMNS = (
    "pilot_id, audit_id, moderator_id, audited_at, day, correct, critical, handle_time_s, policy, queue, auditor_id, "
    "item_id"
)


def raw_values(pilot_id: int, record: dict, sqlite: bool) -> tuple:
    """The stored column values of one audit (what the ceiling inserts)."""
    at = datetime.fromisoformat(record["audited_at"]).astimezone(UTC)
    stamp = datetime.now(UTC)
    return (
        pilot_id,
        record["audit_id"],
        record["moderator_id"],
        at.isoformat(" ", "microseconds")[:26] if sqlite else at,
        at.date().isoformat() if sqlite else at.date(),
        record["correct"],
        record["critical"],
        record["handle_time_s"],
        record["policy"],
        record["queue"],
        record["auditor_id"],
        record["item_id"],
        stamp.isoformat(" ", "microseconds")[:26] if sqlite else stamp,
    )


class SqliteCeiling:
    def __init__(self, folder: Path, settings) -> None:
        url = f"sqlite:///{folder / 'ceiling.sqlite3'}"
        upgrade(url)
        self.pilot_id, _ = seed_pilot(url, settings)
        self.connection = sqlite3.connect(folder / "ceiling.sqlite3", isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.statement = f"INSERT INTO outcome ({COLUMNS}, ingested_at) VALUES ({', '.join('?' * 13)})"

    def insert(self, batch: list[dict]) -> float:
        values = [raw_values(self.pilot_id, r, sqlite=True) for r in batch]
        started = time.perf_counter()
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.executemany(self.statement, values)
        self.connection.execute("COMMIT")
        return time.perf_counter() - started


class PostgresCeiling:
    def __init__(self, url: str, pilot_id: int) -> None:
        self.pilot_id = pilot_id
        self.connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        with self.connection.transaction():
            self.connection.execute("DROP TABLE IF EXISTS outcome_ceiling")
            self.connection.execute("CREATE TABLE outcome_ceiling (LIKE outcome INCLUDING ALL)")
            self.connection.execute("ALTER TABLE outcome_ceiling ADD FOREIGN KEY (pilot_id) REFERENCES pilot (id)")

    def insert(self, batch: list[dict]) -> float:
        values = [raw_values(self.pilot_id, r, sqlite=False) for r in batch]
        started = time.perf_counter()
        with (
            self.connection.transaction(),
            self.connection.cursor() as cursor,
            cursor.copy(f"COPY outcome_ceiling ({COLUMNS}, ingested_at) FROM STDIN") as copy,
        ):
            for row in values:
                copy.write_row(row)
        return time.perf_counter() - started

    def close(self) -> None:
        with self.connection.transaction():
            self.connection.execute("DROP TABLE outcome_ceiling")
        self.connection.close()


def body_of(batch: list[dict], kind: str) -> tuple[bytes, str]:
    """A batch as a request body of `kind` (json or csv) and its content type."""
    if kind == "json":
        return json.dumps({"outcomes": batch}).encode(), "application/json"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for r in batch:
        writer.writerow([_cell(r.get(name)) for name in FIELDS])
    return buffer.getvalue().encode(), "text/csv"


def _cell(value) -> object:
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else value


class Target:
    """A migrated database with a seeded pilot and a test client posting to it."""

    def __init__(self, database_url: str, settings) -> None:
        upgrade(database_url)
        self.pilot_id, token = seed_pilot(database_url, settings)
        self.client = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"}).test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, batch: list[dict], kind: str) -> float:
        body, content_type = body_of(batch, kind)
        started = time.perf_counter()
        response = self.client.post(
            f"/api/v1/pilots/{self.pilot_id}/outcomes", data=body, headers=self.headers, content_type=content_type
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert response.get_json()["accepted"] == len(batch), response.get_json()
        return elapsed


def run(
    database_url: str, rows: int, batch_size: int, ceiling_for, moderators: int | None = None, body: str = "json"
) -> tuple[float, float]:
    """Ingest `rows` audits through the API; returns (ours rows/s, ceiling rows/s)."""
    settings = settings_for(rows, moderators)
    target = Target(database_url, settings)
    ceiling = ceiling_for(settings, target.pilot_id)
    ours = theirs = 0.0
    done = 0
    stream = audits(settings, rows)
    while batch := list(itertools.islice(stream, batch_size)):
        ours += target.post(batch, body)
        theirs += ceiling.insert(batch)
        done += len(batch)
    if hasattr(ceiling, "close"):
        ceiling.close()
    if done < rows:
        print(f"  (the simulated operation yielded {done:,} audits)")
    return done / ours, done / theirs


def run_bodies(urls: tuple[str, str], rows: int, batch_size: int, moderators: int | None) -> tuple[float, float]:
    """Every batch posted as JSON into one database and as CSV into the other, alternating; (JSON, CSV) rows/s."""
    settings = settings_for(rows, moderators)
    json_target, csv_target = Target(urls[0], settings), Target(urls[1], settings)
    spent = {"json": 0.0, "csv": 0.0}
    done = 0
    stream = audits(settings, rows)
    while batch := list(itertools.islice(stream, batch_size)):
        spent["json"] += json_target.post(batch, "json")
        spent["csv"] += csv_target.post(batch, "csv")
        done += len(batch)
    return done / spent["json"], done / spent["csv"]


def report(name: str, ours: float, ceiling: float, what: str, batch_size: int) -> None:
    per_batch = f"{1000 * batch_size / ours:.0f} vs {1000 * batch_size / ceiling:.0f} ms per {batch_size:,}-row batch"
    print(
        f"{name}: ours {ours:,.0f} rows/s, ceiling ({what}) {ceiling:,.0f} rows/s, ratio {ours / ceiling:.2f} "
        f"({per_batch})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--postgres-url", help="a scratch PostgreSQL database (its public schema is dropped)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--moderators", type=int, help="roster size (default: grows with --rows, at most 8,000)")
    parser.add_argument("--body", choices=("json", "csv"), default="json")
    parser.add_argument("--bodies", action="store_true", help="CSV against JSON bodies (SQLite; no ceiling)")
    args = parser.parse_args()
    print(f"{args.rows:,} rows in batches of {args.batch_size:,}, through the Flask test client (in process)")
    settings = settings_for(args.rows, args.moderators)
    print(f"{settings.n_moderators:,} moderators, {args.body if not args.bodies else 'JSON and CSV'} bodies")
    if args.bodies:
        with tempfile.TemporaryDirectory() as folder:
            urls = (f"sqlite:///{Path(folder) / 'json.sqlite3'}", f"sqlite:///{Path(folder) / 'csv.sqlite3'}")
            as_json, as_csv = run_bodies(urls, args.rows, args.batch_size, args.moderators)
            rates = f"JSON bodies {as_json:,.0f} rows/s, CSV bodies {as_csv:,.0f} rows/s"
            print(f"SQLite: {rates}, CSV / JSON {as_csv / as_json:.2f}")
        return
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            ours, ceiling = run(
                url,
                args.rows,
                args.batch_size,
                lambda s, _pid: SqliteCeiling(Path(folder), s),
                args.moderators,
                args.body,
            )
            report("SQLite", ours, ceiling, "sqlite3.executemany", args.batch_size)
    if args.postgres_url:
        fresh_database(args.postgres_url)
        url = args.postgres_url
        ours, ceiling = run(
            url, args.rows, args.batch_size, lambda _s, pid: PostgresCeiling(url, pid), args.moderators, args.body
        )
        report("PostgreSQL", ours, ceiling, "COPY", args.batch_size)


if __name__ == "__main__":
    main()
