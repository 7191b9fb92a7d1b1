"""The demo seeder stores realistic pilots through the real service functions, once."""

from datetime import date

from click.testing import CliRunner
from sqlmodel import func, select

from pilots import demo
from pilots.cli import cli
from pilots.commands import register
from pilots.models import Assignment, Outcome, Pilot, UnitDay, User
from pilots.results.document import build_document
from webui.database import sessions

TODAY = date(2026, 11, 25)


def test_seed_creates_users_and_five_pilots(app):
    with app.app_context():
        factory = sessions()
        summary = demo.seed_demo(factory, TODAY, moderators=60)
        with factory() as session:
            pilots = session.exec(select(Pilot).order_by(Pilot.id)).all()
            users = {user.name: user.role for user in session.exec(select(User))}
            outcomes = session.exec(select(func.count()).select_from(Outcome)).one()
            rollup_audits = session.exec(select(func.sum(UnitDay.audits))).one()
            assigned = session.exec(select(func.count()).select_from(Assignment)).one()
    assert summary.created and summary.token.startswith("plt_")
    assert users == demo.DEMO_USERS
    assert [pilot.status for pilot in pilots] == ["running"] * 4 + ["draft"]
    assert all(pilot.plan_hash for pilot in pilots[:4])
    # simulation mode: randomized at 00:00 UTC of their past start dates, so their whole history is pilot data
    assert [pilot.simulated for pilot in pilots] == [True] * 4 + [False]
    assert all(pilot.launched_at.date() == pilot.start_date for pilot in pilots[:4])
    assert outcomes == sum(count for *_, count in summary.pilots) > 0
    assert rollup_audits == outcomes
    assert assigned == 240  # the four running pilots' rosters
    assert max(pilot.start_date for pilot in pilots[:4]) < TODAY


def test_second_run_changes_nothing(app):
    with app.app_context():
        factory = sessions()
        demo.seed_demo(factory, TODAY, moderators=40)
        again = demo.seed_demo(factory, TODAY, moderators=40)
        with factory() as session:
            count = session.exec(select(func.count()).select_from(Pilot)).one()
    assert not again.created
    assert count == 5


def test_demo_command_prints_credentials_and_token(app, database_url):
    register(cli)
    result = CliRunner().invoke(
        cli, ["--database-url", database_url, "demo", "--moderators", "40", "--today", "2026-11-25"]
    )
    assert result.exit_code == 0, result.output
    assert demo.DEMO_PASSWORD in result.output
    assert result.output.strip().splitlines()[-1].startswith("plt_")


def test_demo_shows_double_audits_a_skewed_auditor_pilot_and_a_policy_harm(app):
    with app.app_context():
        factory = sessions()
        summary = demo.seed_demo(factory, TODAY, moderators=120)
        with factory() as session:
            documents = {
                name: build_document(session, pilot_id)
                for pilot_id, name, status, _ in summary.pilots
                if status == "running"
            }
    assistant = documents["AI assist in the review console"]
    assert assistant["qa_health"]["agreement"]["items"] > 100
    skewed = documents["Auto-translate for non-native queues"]
    balance = next(c for c in skewed["checks"] if c["name"] == "auditor_balance")
    assert not balance["ok"] and skewed["decision"]["recommendation"] == "invalid"
    harmed = documents["Context panel for escalations"]
    accuracy = harmed["metrics"][0]
    assert accuracy["comparisons"][0]["raw"]["difference"] > 0  # helps overall
    cell = next(row for row in accuracy["by_policy"] if row["value"] == "violent_extremism")
    assert cell["difference"] < 0  # hurts the critical policy
    assert accuracy["critical_policies"][0]["policy"] == "violent_extremism"
