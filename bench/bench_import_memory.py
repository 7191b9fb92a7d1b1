"""Peak memory of `pilotlab outcomes import` on a large CSV: it must stay flat (target under 200 MB).

Writes a CSV of simulated audits (2,000,000 rows by default; `--csv` reuses a file), then runs the import in a child
process against a fresh SQLite database (or `--postgres-url`, whose public schema is dropped) and reports the
child's peak RSS (`getrusage(RUSAGE_CHILDREN).ru_maxrss`), its RSS sampled while it runs, and rows per second.

    .venv/bin/python bench/bench_import_memory.py --rows 2000000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import fresh_database
from _ingest_data import audits, seed_pilot, settings_for

from pilots.simulation import write_audits_csv


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--csv", type=Path, help="reuse (or create) this CSV file")
    parser.add_argument("--postgres-url")
    args = parser.parse_args()
    settings = settings_for(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = args.csv or Path(folder) / "audits.csv"
        if not path.exists():
            started = time.perf_counter()
            written = write_audits_csv(audits(settings, args.rows), path)
            print(
                f"wrote {written:,} rows ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.0f} s"
            )
        with path.open() as handle:
            rows = sum(1 for _ in handle) - 1
        url = args.postgres_url or f"sqlite:///{Path(folder) / 'import.sqlite3'}"
        fresh_database(url)
        pilot_id, _ = seed_pilot(url, settings)
        command = [
            str(Path(sys.executable).parent / "pilotlab"),
            "--database-url",
            url,
            "outcomes",
            "import",
            str(pilot_id),
            str(path),
            "--no-progress",
            # The import's own streaming; building the results afterwards is a results request (bench_results).
            "--no-prepare-results",
        ]
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
        samples = []
        while child.poll() is None:
            sample = rss_mb(child.pid)
            if sample is not None:
                samples.append(sample)
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        output = child.stdout.read().decode()
        child.stdout.close()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(output.strip())
    if child.returncode != 0:
        raise SystemExit(f"import failed with status {child.returncode}")
    quarter = max(1, len(samples) // 4)
    steps = ", ".join(f"{s:.0f}" for s in samples[quarter - 1 :: quarter])
    database = "PostgreSQL" if args.postgres_url else "SQLite"
    print(f"{database}: {rows:,} rows in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s")
    print(f"peak RSS of the import process: {peak:.0f} MB (target < 200 MB); RSS at each quarter: {steps} MB")


if __name__ == "__main__":
    main()
