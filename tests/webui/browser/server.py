"""Start gunicorn on 127.0.0.1 against a temporary SQLite database migrated and seeded with the demo (real pilots,
real randomization, simulated QA outcomes through the ingestion service), so the browser sees real results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pilots.db import make_engine, session_factory
from pilots.demo import DEMO_PASSWORD, seed_demo
from pilots.migrate import upgrade
from tests.serving import free_port, wait_until_up

REPO = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).with_name("gunicorn")
TODAY = date(2026, 11, 25)
USER = "demo-viewer"


@dataclass(frozen=True)
class Server:
    url: str
    pilots: dict[str, tuple[int, str]]  # "group_sequential", "always_valid", "skewed_auditors", ... -> (id, name)
    user: str = USER
    password: str = DEMO_PASSWORD


def seed(database_url: str) -> dict[str, tuple[int, str]]:
    """Migrate and seed the demo with 60 moderators; returns the pilots by design."""
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        summary = seed_demo(session_factory(engine), today=TODAY, moderators=60)
    finally:
        engine.dispose()
    running = [(pilot_id, name) for pilot_id, name, status, _ in summary.pilots if status == "running"]
    draft = next((pilot_id, name) for pilot_id, name, status, _ in summary.pilots if status == "draft")
    # The demo's first running pilot is the group-sequential one, the second the always-valid team pilot; then the
    # QA pilots: QA routing skewed towards lenient auditors, and a harm in a pre-registered critical policy.
    return {
        "group_sequential": running[0],
        "always_valid": running[1],
        "skewed_auditors": running[2],
        "policy_harm": running[3],
        "draft": draft,
    }


@contextmanager
def running_server(tmp_path: Path) -> Iterator[Server]:
    """gunicorn with one worker on a free port; stopped (by its own pid) when the block ends."""
    database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    pilots = seed(database_url)
    port = free_port()
    env = {
        **os.environ,
        "PILOTLAB_DATABASE_URL": database_url,
        "PILOTLAB_SECRET_KEY": "browser-test-secret",
        "PILOTLAB_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log = (tmp_path / "gunicorn.log").open("wb")  # a file, not a pipe nobody reads (which could fill and block)
    process = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--chdir", str(REPO), "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/login", process)
        yield Server(url=url, pilots=pilots)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
