"""Real concurrency: gunicorn with 3 workers on the test database, the same and overlapping batches sent at once.

No audit may be lost or counted twice, and the rollups must equal an aggregation of the raw rows, on SQLite (one
writer at a time through BEGIN IMMEDIATE) and on PostgreSQL (pilot row lock + ON CONFLICT).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pilots import rollups
from pilots.models import Outcome, Pilot
from tests.pilots.ingestion_support import MODERATORS, audit, make_pilot
from tests.serving import free_port, wait_until_up
from webui.database import sessions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(database_url: str, tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "PILOTLAB_DATABASE_URL": database_url,
        "PILOTLAB_SECRET_KEY": "concurrency-test",
        "PILOTLAB_INSTANCE_PATH": str(tmp_path),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    command = [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}", "webui:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(base + "/api/v1/openapi.json", process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {(tmp_path / 'gunicorn.log').read_text()}") from None
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def post(base: str, token: str, pilot_id: int, records: list[dict]) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1/pilots/{pilot_id}/outcomes",
        data=json.dumps({"outcomes": records}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_concurrent_same_and_overlapping_batches(app, session, tokens, server):
    pilot = make_pilot(session)
    pool = [
        audit(
            f"c{k:05d}",
            MODERATORS[k % 8],
            f"2026-02-{1 + k % 28:02d}T{k % 24:02d}:{k % 60:02d}:00Z",
            correct=k % 4 > 0,
            handle_time_s=float(k % 97),
        )
        for k in range(1200)
    ]
    # Overlapping windows of 300 audits every 100, each sent twice: every audit travels in 4 to 6 requests.
    batches = [pool[start : start + 300] for start in range(0, 1000, 100)] * 2
    with ThreadPoolExecutor(max_workers=6) as executor:
        results = list(executor.map(lambda records: post(server, tokens["pm"], pilot, records), batches))

    unique = {r["audit_id"] for batch in batches for r in batch}
    assert sum(r["accepted"] for r in results) == len(unique)
    assert sum(r["accepted"] + r["duplicates"] for r in results) == sum(len(b) for b in batches)
    with app.app_context(), sessions()() as s:
        count = s.scalar(select(func.count()).select_from(Outcome).where(Outcome.pilot_id == pilot))
        assert count == len(unique)
        stored, direct = rollups.stored(s, pilot), rollups.from_outcomes(s, pilot)
        assert s.get(Pilot, pilot).data_version == sum(1 for r in results if r["accepted"])
    assert stored.keys() == direct.keys()
    for key, sums in direct.items():
        assert stored[key][:5] == sums[:5]
        assert stored[key][5:] == pytest.approx(sums[5:], rel=1e-12)
