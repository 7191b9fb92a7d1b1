"""Helpers for the page tests: a pilot row, a signed-in test client, the CSRF token from a rendered form.

Setup opens its own short app context and session (not the `session` fixture, whose app context would stay pushed
for the whole test and make every request share one `g`, hiding per-request behaviour such as the user loader).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from pilots import accounts
from pilots.models import Pilot, User
from webui.database import sessions

PASSWORD = "correct horse battery"

PLAN_METRICS = [
    {"name": "accuracy", "role": "primary", "margin": None, "relative": False},
    {"name": "critical_error_rate", "role": "guardrail", "margin": 0.005, "relative": False},
    {"name": "handle_time", "role": "guardrail", "margin": 0.05, "relative": True},
]
DESIGN = {
    "method": "group_sequential",
    "alpha": 0.05,
    "power": 0.8,
    "looks": 4,
    "spending": "obrien_fleming",
    "min_days": 14,
}


@contextmanager
def db(app) -> Iterator[Any]:
    """A session in a short app context; commits on success."""
    with app.app_context(), sessions()() as session:
        yield session
        session.commit()


def make_pilot(app, **fields: Any) -> Pilot:
    """A running two-arm pilot (committed)."""
    values: dict[str, Any] = {
        "name": "Policy hints in the review tool",
        "kind": "tool",
        "hypothesis": "Inline policy hints raise decision accuracy without slowing moderators down.",
        "owner": "pm-user",
        "arms": [{"name": "control", "weight": 1}, {"name": "treatment", "weight": 1}],
        "seed": 20250303,
        "metrics": PLAN_METRICS,
        "design": DESIGN,
        "start_date": date(2025, 3, 3),
        "end_date": date(2025, 4, 13),
        "status": "running",
        "plan_hash": "a" * 64,
    }
    values.update(fields)
    with db(app) as session:
        pilot = Pilot(**values)
        session.add(pilot)
    return pilot


def make_user(app, role: str, name: str | None = None, password: str = PASSWORD, active: bool = True) -> User:
    with db(app) as session:
        user = accounts.create_user(session, name or f"{role}-person", role, password=password)
        user.active = active
    return user


def set_active(app, user_id: int, active: bool) -> None:
    with db(app) as session:
        session.get(User, user_id).active = active


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client, name: str, password: str = PASSWORD, next_url: str | None = None):
    """Sign in through the real form (with its CSRF token); returns the POST response."""
    path = "/login" + (f"?next={next_url}" if next_url else "")
    token = csrf_token(client.get(path).get_data(as_text=True))
    return client.post(path, data={"name": name, "password": password, "csrf_token": token})


@contextmanager
def another_app(database_url: str, **config: Any) -> Iterator[Any]:
    """A second app on the test database (another gunicorn worker, or other settings); its engine is disposed at
    the end so no connection outlives the test."""
    from webui import create_app
    from webui.database import engine

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", **config})
    try:
        yield app
    finally:
        with app.app_context():
            engine().dispose()
