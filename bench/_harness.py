"""What the bench scripts share: a fresh database, a signed-in test client, peak memory of one call in a clean child
process, and the min / median / max spread every figure is printed with."""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from pilots import accounts
from pilots.db import make_engine
from pilots.migrate import upgrade
from webui import create_app


def fresh_database(url: str) -> None:
    """Migrate `url` to head; a PostgreSQL database's public schema is dropped first (scratch databases only)."""
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def client_as(url: str, role: str = "viewer", cache: bool = False):
    """A Flask test client of the app on `url` (results cache off unless asked) and the bearer header of a new user
    with `role` (exports need an analyst)."""
    app = create_app({"TESTING": True, "DATABASE_URL": url, "RESULTS_CACHE": cache})
    with app.app_context():
        from webui.database import sessions

        with sessions()() as session:
            user = accounts.create_user(session, f"bench-{time.monotonic_ns()}", role)
            token = accounts.issue_token(session, user)
            session.commit()
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def status_mb(field: str) -> float:
    """A memory field of this process from /proc/self/status (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> float:
    """Reset the peak-RSS mark (VmHWM) to the current RSS and return that RSS in MB.

    ru_maxrss survives execve on Linux (a spawned child would inherit its parent's high-water mark), so peaks are read
    from VmHWM after writing 5 to /proc/self/clear_refs."""
    before = status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    return before


def _child(function: Callable[..., Any], arguments: tuple, queue) -> None:
    queue.put(function(*arguments))


def in_child(function: Callable[..., Any], *arguments: Any) -> Any:
    """`function(*arguments)` in a freshly spawned process (a clean heap for memory figures); returns its result.
    `function` must be a module-level function of the bench script."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(function, arguments, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def spread(values: list[float], digits: int = 3) -> str:
    """min / median / max with `digits` significant digits."""
    return " / ".join(f"{value:.{digits}g}" for value in (min(values), statistics.median(values), max(values)))
