"""Account rules in the domain: user validation, the last admin, what deactivation and password resets end, and
the throttle's sliding window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from pilots.accounts import throttle, users
from pilots.accounts.sessions import load_session, start_session
from pilots.accounts.throttle import Limit
from pilots.accounts.tokens import issue, list_tokens, token_state
from pilots.errors import Conflict, ValidationFailed
from pilots.models import AuthFailure, Event
from pilots.models._time import utcnow

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("", "pm", None, "name"),
        (" padded", "pm", None, "name"),
        ("x" * 101, "pm", None, "name"),
        ("ok", "boss", None, "role"),
        ("ok", "pm", "short", "password"),
    ],
)
def test_invalid_users_are_refused_naming_the_field(session, name, role, password, field):
    with pytest.raises(ValidationFailed) as raised:
        users.create_user(session, name, role, password)
    assert [problem["field"] for problem in raised.value.details] == [field]


def test_names_are_unique(session):
    users.create_user(session, "priya", "pm")
    with pytest.raises(Conflict):
        users.create_user(session, "priya", "viewer")


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(session):
    root = users.create_user(session, "root", "admin")
    with pytest.raises(Conflict):
        users.change_role(session, root, "pm", "cli")
    with pytest.raises(Conflict):
        users.deactivate(session, root, "cli")
    second = users.create_user(session, "second", "admin")
    users.change_role(session, root, "pm", "second")
    assert root.role == "pm"
    with pytest.raises(Conflict):
        users.deactivate(session, second, "cli")


def test_deactivation_revokes_every_token_and_ends_every_session(session):
    priya = users.create_user(session, "priya", "pm", "long enough")
    issue(session, priya, "a")
    issue(session, priya, "b")
    secret = start_session(session, priya, "127.0.0.1")
    users.deactivate(session, priya, "admin-user")
    session.flush()
    assert {token_state(token) for token, _ in list_tokens(session, priya)} == {"revoked"}
    assert load_session(session, secret, HOUR) is None
    event = session.exec(select(Event).where(Event.action == "user.deactivated")).one()
    assert event.details == {"name": "priya", "tokens_revoked": 2, "sessions_ended": 1}
    with pytest.raises(ValidationFailed):
        issue(session, priya, "c")


def test_role_changes_are_recorded_and_validated(session):
    priya = users.create_user(session, "priya", "pm")
    with pytest.raises(ValidationFailed):
        users.change_role(session, priya, "boss", "admin-user")
    users.change_role(session, priya, "viewer", "admin-user")
    event = session.exec(select(Event).where(Event.action == "user.role_changed")).one()
    assert (event.actor, event.details) == ("admin-user", {"name": "priya", "before": "pm", "after": "viewer"})


def test_the_throttle_window_slides(session):
    limit = Limit(3, timedelta(minutes=10))
    now = utcnow()
    for minutes_ago in (9, 5, 1):
        session.add(AuthFailure(scope="s", key="k", at=now - timedelta(minutes=minutes_ago)))
    session.flush()
    wait = throttle.retry_after(session, "s", "k", limit)
    assert 55 <= wait <= 60  # the oldest of the three leaves the window in about a minute
    assert throttle.retry_after(session, "s", "other", limit) is None
    throttle.record_failure(session, "s", "k", Limit(3, timedelta(minutes=6)))  # prunes the 9-minute-old one
    session.flush()
    assert len(session.exec(select(AuthFailure).where(AuthFailure.key == "k")).all()) == 3
    throttle.clear(session, "s", "k")
    assert throttle.retry_after(session, "s", "k", limit) is None
