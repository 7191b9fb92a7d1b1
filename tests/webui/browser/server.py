"""Start gunicorn on 127.0.0.1 against a temporary, migrated and seeded SQLite database.

The results page is pointed at the sample results document (`PILOTLAB_RESULTS_SOURCE`), so the browser test draws
real charts whether or not the results service exists yet.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pilots import accounts, events
from pilots.db import make_engine, session_factory
from pilots.migrate import upgrade
from tests.webui.page_support import DESIGN, PASSWORD, PLAN_METRICS

REPO = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).with_name("gunicorn")
USER = "director"


@dataclass(frozen=True)
class Server:
    url: str
    pilot_id: int
    user: str = USER
    password: str = PASSWORD


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(database_url: str) -> int:
    """Migrate, then add a viewer and a running pilot with an audit trail; returns the pilot id."""
    from datetime import date

    from pilots.models import Pilot

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            accounts.create_user(session, USER, "viewer", password=PASSWORD)
            pilot = Pilot(
                name="Policy hints in the review tool",
                kind="tool",
                owner="pm-user",
                hypothesis="Inline policy hints raise decision accuracy without slowing moderators down.",
                arms=[{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
                seed=7,
                metrics=PLAN_METRICS,
                design=DESIGN,
                start_date=date(2025, 3, 3),
                end_date=date(2025, 4, 13),
                status="running",
                plan_hash="9f" * 32,
            )
            session.add(pilot)
            session.flush()
            events.record(session, "pm-user", "pilot_created", pilot.id)
            events.record(session, "pm-user", "pilot_launched", pilot.id, units=200)
            session.commit()
            return pilot.id
    finally:
        engine.dispose()


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not answer within 20 s")


@contextmanager
def running_server(tmp_path: Path) -> Iterator[Server]:
    """gunicorn with one worker on a free port; stopped (by its own pid) when the block ends."""
    database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    pilot_id = seed(database_url)
    port = free_port()
    env = {
        **os.environ,
        "PILOTLAB_DATABASE_URL": database_url,
        "PILOTLAB_SECRET_KEY": "browser-test-secret",
        "PILOTLAB_INSTANCE_PATH": str(tmp_path / "instance"),
        "PILOTLAB_RESULTS_SOURCE": "tests.webui.sample_results:results_document",
    }
    process = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--chdir", str(REPO), "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield Server(url=url, pilot_id=pilot_id)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()
