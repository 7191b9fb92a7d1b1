"""The retention policy: raw audits of pilots concluded long ago are deleted; rollups, units, results and the audit
trail stay; the outcome export then answers 410; `pilotlab retention purge` drives it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import select

from pilots import ingestion, retention, rollups
from pilots.cli import cli
from pilots.commands import register
from pilots.errors import ValidationFailed
from pilots.models import Event, Outcome, Pilot
from pilots.models._time import utcnow
from tests.pilots.ingestion_support import MODERATORS, audit, make_pilot
from webui.database import sessions


def _audits(count: int) -> list[dict]:
    return [audit(f"a{k:04d}", MODERATORS[k % 8], f"2026-02-{1 + k % 27:02d}T10:00:00Z") for k in range(count)]


def _body(count: int) -> bytes:
    return json.dumps({"outcomes": _audits(count)}).encode()


def _concluded_pilot(app, days_ago: int, count: int = 30) -> int:
    with app.app_context(), sessions()() as session:
        pilot_id = make_pilot(session)
    ingestion.ingest_json_body(sessions_of(app), pilot_id, _body(count), actor="tests")
    with app.app_context(), sessions()() as session:
        pilot = session.get(Pilot, pilot_id)
        pilot.status, pilot.concluded_at = "concluded", utcnow() - timedelta(days=days_ago)
        session.commit()
    return pilot_id


def sessions_of(app):
    with app.app_context():
        return sessions()


def _outcomes(session, pilot_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Outcome).where(Outcome.pilot_id == pilot_id))


def test_purge_deletes_only_old_concluded_pilots_audits_and_keeps_rollups(app, session):
    old = _concluded_pilot(app, days_ago=400)
    recent = _concluded_pilot(app, days_ago=10)
    with app.app_context(), sessions()() as s:
        running = make_pilot(s, name="still running")
    ingestion.ingest_json_body(sessions_of(app), running, _body(12), actor="tests")
    rollups_before = rollups.stored(session, old)

    done = retention.purge(session, days=365, actor="retention")

    assert [(item.pilot_id, item.outcomes) for item in done] == [(old, 30)]
    session.expire_all()
    assert _outcomes(session, old) == 0
    assert _outcomes(session, recent) == 30 and _outcomes(session, running) == 12
    assert rollups.stored(session, old) == rollups_before  # results and unit exports read these
    assert session.get(Pilot, old).outcomes_purged_at is not None
    event = session.exec(select(Event).where(Event.pilot_id == old, Event.action == "outcomes.purged")).one()
    assert event.details == {"outcomes": 30, "retention_days": 365} and event.actor == "retention"
    assert retention.purge(session, days=365, actor="retention") == []  # once only


def test_dry_run_counts_and_deletes_nothing(app, session):
    old = _concluded_pilot(app, days_ago=100)
    done = retention.purge(session, days=30, actor="retention", dry_run=True)
    assert [(item.pilot_id, item.outcomes) for item in done] == [(old, 30)]
    session.expire_all()
    assert _outcomes(session, old) == 30 and session.get(Pilot, old).outcomes_purged_at is None


def test_negative_period_is_refused(session):
    with pytest.raises(ValidationFailed) as error:
        retention.purge(session, days=-1, actor="retention")
    assert error.value.details[0]["field"] == "days"


def test_purged_outcome_export_is_gone_but_units_remain(app, client, tokens):
    old = _concluded_pilot(app, days_ago=400)
    with app.app_context(), sessions()() as s:
        retention.purge(s, days=30, actor="retention")
    headers = {"Authorization": f"Bearer {tokens['analyst']}"}
    gone = client.get(f"/api/v1/pilots/{old}/outcomes", headers=headers)
    assert gone.status_code == 410
    assert gone.json["error"]["code"] == "gone" and "retention" in gone.json["error"]["message"]
    units = client.get(f"/api/v1/pilots/{old}/units", headers=headers)
    assert units.status_code == 200 and sum(row["audits"] for row in units.json["units"]) == 30


def test_cli_purges_with_the_setting_or_days(app, database_url, monkeypatch):
    old = _concluded_pilot(app, days_ago=60)
    register(cli)
    runner = CliRunner()
    missing = runner.invoke(cli, ["--database-url", database_url, "retention", "purge"])
    assert missing.exit_code == 2 and "PILOTLAB_RETENTION_DAYS" in missing.output
    dry = runner.invoke(cli, ["--database-url", database_url, "retention", "purge", "--days", "30", "--dry-run"])
    assert dry.exit_code == 0 and f"Would purge 30 audits of pilot {old}" in dry.output
    monkeypatch.setenv("PILOTLAB_RETENTION_DAYS", "30")
    real = runner.invoke(cli, ["--database-url", database_url, "retention", "purge"])
    assert real.exit_code == 0 and "1 pilot(s) purged under a 30-day retention period" in real.output
    with app.app_context(), sessions()() as s:
        assert _outcomes(s, old) == 0
