"""Migration 0005 keeps every API token valid: `label` becomes `name`, old tokens get no expiry (valid until
revoked), and the new tables for sessions and failed attempts appear; the downgrade gives the label back."""

from __future__ import annotations

from sqlalchemy import inspect, text

from pilots.accounts.tokens import digest
from pilots.db import make_engine
from pilots.migrate import current_revision, downgrade, upgrade
from tests.pilots.test_migrations import scratch_url  # noqa: F401  (the scratch-database fixture)


def _execute(url: str, sql: str, **params):
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def test_old_tokens_survive_the_upgrade_and_the_downgrade(scratch_url):  # noqa: F811
    upgrade(scratch_url, "0004")
    _execute(
        scratch_url,
        "INSERT INTO \"user\" (name, role, active, created_at) VALUES ('old-admin', 'admin', true, '2026-01-01')",
    )
    _execute(
        scratch_url,
        "INSERT INTO api_token (user_id, token_hash, label, created_at) VALUES (1, :hash, 'nightly', '2026-01-02')",
        hash=digest("plt_old"),
    )
    upgrade(scratch_url, "0005")
    assert current_revision(scratch_url) == "0005"
    rows = _execute(scratch_url, "SELECT name, expires_at, last_used_at, pilot_id, revoked_at FROM api_token")
    assert rows == [("nightly", None, None, None, None)]
    engine = make_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"user_session", "auth_failure"} <= tables

    downgrade(scratch_url, "0004")
    assert _execute(scratch_url, "SELECT label FROM api_token") == [("nightly",)]
    engine = make_engine(scratch_url)
    assert not {"user_session", "auth_failure"} & set(inspect(engine).get_table_names())
    engine.dispose()
