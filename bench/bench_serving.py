"""Load test of the served app: mixed traffic against a real gunicorn on loopback, before and after the serving
configuration, on SQLite and PostgreSQL; then the slow-client figure.

Mixed traffic: `--clients` (8) closed-loop clients for `--seconds` (30) each pick, at random (seeded), a results
request (70%), a batch of 1,000 new outcomes (20%) or a CSV export of the pilot's outcomes (10%), against a running
pilot preloaded with `--rows` audits. Two servers run in turn on the same data, same machine, same run:

* before: today's documented command without a configuration file, 4 sync workers;
* after: `gunicorn.conf.py` (4 threaded workers with idle timeouts and request deadlines).

Printed per server and request kind: requests, throughput, p50 / p95 / p99 latency and errors. The slow-client figure
opens `--slow` connections that declare a body and send a few bytes (sign-in forms and anonymous API uploads), more
than there are workers, then times authenticated `GET /api/v1/me` requests (each bounded by a 40 s socket timeout).

    python bench/bench_serving.py [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/scratch]

Everything is bounded: `--seconds` per server, at most `--max-requests` per client, one 40 s timeout per request.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.serving

from _harness import fresh_database  # bench/ is the script's folder, first on sys.path
from _ingest_data import audits, seed_pilot, settings_for
from sqlalchemy import text

from pilots.db import make_engine, session_factory
from pilots.migrate import upgrade
from pilots.models import Pilot
from tests.serving import free_port, wait_until_up
from webui import create_app

ROOT = Path(__file__).resolve().parents[1]
KINDS = (("results", 0.7), ("batch", 0.2), ("export", 0.1))
BATCH = 1_000
TIMEOUT_S = 40.0


@dataclass
class Sample:
    kind: str
    seconds: float
    ok: bool


@dataclass
class Load:
    """What the clients share: the pilot, the token, and the pool of outcome batches still to send."""

    base: str
    pilot_id: int
    token: str
    batches: list[bytes]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_batch(self) -> bytes:
        with self.lock:
            return self.batches.pop() if self.batches else b'{"outcomes": []}'


def _request(load: Load, kind: str) -> bool:
    headers = {"Authorization": f"Bearer {load.token}"}
    pilot = f"{load.base}/api/v1/pilots/{load.pilot_id}"
    if kind == "results":
        request = urllib.request.Request(f"{pilot}/results", headers=headers)
    elif kind == "batch":
        headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{pilot}/outcomes", data=load.next_batch(), headers=headers, method="POST")
    else:
        request = urllib.request.Request(f"{pilot}/outcomes?format=csv", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            while response.read(1 << 20):
                pass
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _client(load: Load, seed: int, stop_at: float, max_requests: int, samples: list[Sample]) -> None:
    rng = random.Random(seed)
    names, weights = zip(*KINDS, strict=True)
    for _ in range(max_requests):
        if time.monotonic() >= stop_at:
            return
        kind = rng.choices(names, weights)[0]
        started = time.perf_counter()
        ok = _request(load, kind)
        samples.append(Sample(kind, time.perf_counter() - started, ok))


def mixed_load(load: Load, clients: int, seconds: float, max_requests: int) -> tuple[list[Sample], float]:
    samples: list[Sample] = []
    stop_at = time.monotonic() + seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_client, args=(load, 1000 + k, stop_at, max_requests, samples)) for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(label: str, samples: list[Sample], elapsed: float) -> None:
    print(f"  {label}: {len(samples)} requests in {elapsed:.1f} s, {len(samples) / elapsed:.2f} requests/s")
    for kind, _ in KINDS:
        times = sorted(s.seconds for s in samples if s.kind == kind)
        errors = sum(not s.ok for s in samples if s.kind == kind)
        if not times:
            print(f"    {kind:8s} none")
            continue
        print(
            f"    {kind:8s} n={len(times):4d}  {len(times) / elapsed:6.2f}/s  p50 {_percentile(times, 50):6.2f} s  "
            f"p95 {_percentile(times, 95):6.2f} s  p99 {_percentile(times, 99):6.2f} s  errors {errors}"
        )


def _slow_connection(port: int, data: bytes) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    connection.sendall(data)
    return connection


def slow_clients(port: int, token: str, count: int, probes: int) -> None:
    """Latency of authenticated /me requests while `count` slow clients hold their connections open."""
    login = (
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 60000\r\n\r\nname=x&pass"
    )
    upload = (
        b"POST /api/v1/pilots/1/outcomes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 60000000\r\n\r\n{"outcomes": ['
    )
    stalled = [_slow_connection(port, login if k % 2 == 0 else upload) for k in range(count)]
    time.sleep(0.5)
    latencies, errors = [], 0
    try:
        for _ in range(probes):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                    response.read()
            except (urllib.error.URLError, OSError):
                errors += 1
            latencies.append(time.perf_counter() - started)
    finally:
        for connection in stalled:
            connection.close()
    shown = ", ".join(f"{value:.2f}" for value in latencies)
    print(f"    GET /api/v1/me with {count} slow clients: {shown} s (errors {errors})")


class Server:
    """gunicorn on a free loopback port, started from the repository folder."""

    def __init__(self, database_url: str, arguments: list[str], folder: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "PILOTLAB_DATABASE_URL": database_url,
            "PILOTLAB_SECRET_KEY": "bench",
            "PILOTLAB_INSTANCE_PATH": str(folder),
            "PILOTLAB_BIND": f"127.0.0.1:{self.port}",
        }
        command = [sys.executable, "-m", "gunicorn", *arguments, "--bind", f"127.0.0.1:{self.port}", "wsgi:app"]
        self.log = (folder / f"gunicorn-{self.port}.log").open("w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_up(f"http://127.0.0.1:{self.port}/api/v1/openapi.json", self.process, timeout=180)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


CONFIGURATIONS = {
    "before (4 sync workers, no configuration file)": ["-c", "/dev/null", "--workers", "4"],
    "after (gunicorn.conf.py, 4 threaded workers)": ["-c", str(ROOT / "gunicorn.conf.py"), "--workers", "4"],
}


def prepare(database_url: str, rows: int, batches: int) -> tuple[int, str, list[bytes]]:
    """A running pilot with `rows` audits stored, and `batches` further 1,000-audit batches to send."""
    settings = settings_for(rows + batches * BATCH)
    upgrade(database_url)
    pilot_id, token = seed_pilot(database_url, settings)
    engine = make_engine(database_url)
    with session_factory(engine)() as session:  # the ingestion benchmark's pilot has no analysable design
        pilot = session.get(Pilot, pilot_id)
        pilot.metrics = [{"name": "accuracy", "role": "primary", "margin": None, "relative": False}]
        pilot.design = {"method": "always_valid", "alpha": 0.05, "power": 0.8, "looks": 5, "min_days": 14}
        session.commit()
    engine.dispose()
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "bench"})
    client = app.test_client()
    stream = audits(settings, rows + batches * BATCH)
    headers = {"Authorization": f"Bearer {token}"}
    loaded = 0
    while loaded < rows and (chunk := list(itertools.islice(stream, min(10_000, rows - loaded)))):
        response = client.post(f"/api/v1/pilots/{pilot_id}/outcomes", json={"outcomes": chunk}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        loaded += len(chunk)
    pool = [
        json.dumps({"outcomes": chunk}).encode() for chunk in iter(lambda: list(itertools.islice(stream, BATCH)), [])
    ]
    with app.app_context():
        from webui.database import engine

        engine().dispose()
    if database_url.startswith("postgresql"):  # statistics as autovacuum keeps them in a running service
        engine = make_engine(database_url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    return pilot_id, token, pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="audits stored before the load starts")
    parser.add_argument("--batches", type=int, default=200, help="1,000-audit batches available to send")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-requests", type=int, default=500, help="per client")
    parser.add_argument("--slow", type=int, default=8, help="slow clients for the slow-client figure")
    parser.add_argument("--probes", type=int, default=2, help="timed /me requests among the slow clients")
    parser.add_argument("--postgres-url", help="a scratch PostgreSQL database (its public schema is dropped)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if not args.skip_sqlite:
            print("SQLite")
            for k, (label, arguments) in enumerate(CONFIGURATIONS.items()):
                run(f"sqlite:///{folder / f'serving-{k}.sqlite3'}", args, folder, label, arguments)
        if args.postgres_url:
            print("PostgreSQL")
            for label, arguments in CONFIGURATIONS.items():
                fresh_database(args.postgres_url)
                run(args.postgres_url, args, folder, label, arguments)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def run(database_url: str, args: argparse.Namespace, folder: Path, label: str, arguments: list[str]) -> None:
    """One server configuration on a freshly prepared database: the mixed load, then the slow-client figure."""
    pilot_id, token, pool = prepare(database_url, args.rows, args.batches)
    server = Server(database_url, arguments, folder)
    try:
        load = Load(f"http://127.0.0.1:{server.port}", pilot_id, token, pool)
        _request(load, "results")  # a first request, so no worker is measured while still importing
        samples, elapsed = mixed_load(load, args.clients, args.seconds, args.max_requests)
        report(label, samples, elapsed)
        slow_clients(server.port, token, args.slow, args.probes)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
