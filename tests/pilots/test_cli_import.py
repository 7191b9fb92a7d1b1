"""`pilotlab outcomes import`: batches, progress, summary, a bad batch's report, and re-running safely; and
`pilotlab outcomes sample`, which makes a file that import accepts."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from pilots import rollups
from pilots.cli import cli
from pilots.commands import outcomes as outcomes_command
from pilots.commands import register
from pilots.models import Event, Outcome, Pilot
from pilots.simulation import write_audits_csv
from tests.pilots.ingestion_support import END, MODERATORS, audit, make_pilot
from webui.database import sessions


def rows(count: int, start: int = 0) -> list[dict]:
    return [
        audit(f"a{k:05d}", MODERATORS[k % 8], f"2026-02-{1 + k % 28:02d}T{k % 24:02d}:00:00Z", correct=k % 3 > 0)
        for k in range(start, start + count)
    ]


def run(database_url: str, pilot_id: int, path: Path, *extra: str):
    register(cli)
    args = ["--database-url", database_url, "outcomes", "import", str(pilot_id), str(path), "--batch-size", "10"]
    return CliRunner().invoke(cli, [*args, *extra])


def stored(app, pilot_id: int) -> tuple[int, dict]:
    with app.app_context(), sessions()() as s:
        count = s.scalar(select(func.count()).select_from(Outcome).where(Outcome.pilot_id == pilot_id))
        return count, rollups.stored(s, pilot_id)


@pytest.fixture
def pilot(session) -> int:
    return make_pilot(session)


def test_import_in_batches_with_progress_and_summary(app, database_url, pilot, tmp_path):
    path = tmp_path / "audits.csv"
    write_audits_csv(rows(35), path)
    result = run(database_url, pilot, path)
    assert result.exit_code == 0, result.output
    assert "35 rows in 4 batches; 35 accepted, 0 duplicates" in result.stdout
    assert "Re-running the same file is safe" in result.stdout
    assert "pilot" in result.stderr  # the progress bar's label
    count, sums = stored(app, pilot)
    assert count == 35
    with app.app_context(), sessions()() as s:
        assert sums == rollups.from_outcomes(s, pilot)
        events = s.scalars(select(Event).where(Event.action == "outcomes.ingested")).all()
    assert len(events) == 4
    assert events[0].details["source"] == "cli:audits.csv"


def test_bad_batch_stops_the_import_and_rerunning_after_the_fix_is_safe(app, database_url, pilot, tmp_path):
    good = rows(45)
    broken = [dict(r) for r in good]
    broken[24]["moderator_id"] = "nobody"  # row 25: in the third batch of 10
    path = tmp_path / "audits.csv"
    write_audits_csv(broken, path)
    result = run(database_url, pilot, path, "--no-progress")
    assert result.exit_code == 1
    assert "Batch 3 (from row 21) was rejected" in result.stderr
    assert "row 25, moderator_id: 'nobody' is not an assigned moderator" in result.stderr
    assert "2 earlier batches were committed (20 rows: 20 accepted, 0 duplicates)" in result.stderr
    assert "re-run the whole file" in result.stderr
    assert stored(app, pilot)[0] == 20

    write_audits_csv(good, path)
    result = run(database_url, pilot, path, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "45 rows in 5 batches; 25 accepted, 20 duplicates" in result.stdout
    count, sums = stored(app, pilot)
    assert count == 45
    with app.app_context(), sessions()() as s:
        assert sums == rollups.from_outcomes(s, pilot)


def test_header_problems_are_reported_before_anything_is_written(app, database_url, pilot, tmp_path):
    path = tmp_path / "audits.csv"
    path.write_text("audit_id,moderator,audited_at,correct\na1,m01,2026-02-03T00:00:00Z,true\n")
    result = run(database_url, pilot, path)
    assert result.exit_code == 1
    assert "The header was rejected" in result.stderr
    assert "unknown column 'moderator'" in result.stderr
    assert "required column 'moderator_id' is missing" in result.stderr
    assert stored(app, pilot)[0] == 0


def test_file_that_is_not_utf8_names_the_batch(app, database_url, pilot, tmp_path):
    path = tmp_path / "audits.csv"
    path.write_bytes(b"audit_id,moderator_id,audited_at,correct\na1,m01,2026-02-03T00:00:00Z,true\n\xff\xfe\n")
    result = run(database_url, pilot, path, "--no-progress")
    assert result.exit_code == 1
    assert "rejected" in result.stderr
    assert stored(app, pilot)[0] == 0


def test_concluded_pilot_is_refused(database_url, session, tmp_path):
    pilot = make_pilot(session, status="concluded")
    path = tmp_path / "audits.csv"
    write_audits_csv(rows(3), path)
    result = run(database_url, pilot, path)
    assert result.exit_code != 0
    assert "concluded" in str(result.exception)


def test_an_import_prepares_the_results_once(database_url, pilot, tmp_path, monkeypatch):
    """The first results request after a bulk load would fold all of its QA sums (`pilots.results.qa_levels`,
    tested there); the import builds the results once instead, and a failure to does not fail the import."""
    built: list[int] = []
    monkeypatch.setattr(outcomes_command, "results_document", lambda session, pilot_id: built.append(pilot_id))
    path = tmp_path / "audits.csv"
    write_audits_csv(rows(35), path)
    result = run(database_url, pilot, path)
    assert result.exit_code == 0, result.output
    assert built == [pilot] and "Results prepared in" in result.stdout

    def failing(session, pilot_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(outcomes_command, "results_document", failing)
    write_audits_csv(rows(5, start=35), path)
    result = run(database_url, pilot, path)
    assert result.exit_code == 0, result.output
    assert "5 accepted" in result.stdout
    assert "warning: results were not prepared (RuntimeError)" in result.stderr


def test_no_prepare_results_and_nothing_new_skip_the_build(database_url, pilot, tmp_path, monkeypatch):
    built: list[int] = []
    monkeypatch.setattr(outcomes_command, "results_document", lambda session, pilot_id: built.append(pilot_id))
    path = tmp_path / "audits.csv"
    write_audits_csv(rows(35), path)
    assert run(database_url, pilot, path, "--no-prepare-results").exit_code == 0
    assert run(database_url, pilot, path).exit_code == 0  # all duplicates: nothing new to prepare
    assert built == []


def test_sample_is_the_pilots_own_moderators_in_its_window_and_imports_whole(app, database_url, pilot, tmp_path):
    """`pilotlab outcomes sample`: simulated audits of the pilot's roster over the last 28 days of its data window
    (here its whole pilot period is past), which its own import accepts whole; an unknown pilot is a clear error."""
    register(cli)
    path = tmp_path / "sample.csv"
    made = CliRunner().invoke(cli, ["--database-url", database_url, "outcomes", "sample", str(pilot), "-o", str(path)])
    assert made.exit_code == 0, made.output
    assert "sample outcomes from" in made.stderr
    with path.open(newline="") as handle:
        sample = list(csv.DictReader(handle))
    assert sample and {row["moderator_id"] for row in sample} <= set(MODERATORS)
    days = sorted({row["audited_at"][:10] for row in sample})
    assert days[-1] <= END.isoformat() and days[0] >= (END - timedelta(days=27)).isoformat()
    result = run(database_url, pilot, path)
    assert result.exit_code == 0, result.output
    assert f"{len(sample):,} accepted, 0 duplicates" in result.stdout
    missing = CliRunner().invoke(cli, ["--database-url", database_url, "outcomes", "sample", "999"])
    assert missing.exit_code != 0 and "pilot 999 does not exist" in missing.output


def test_no_sample_for_a_real_pilot_with_outcomes(app, database_url, pilot, session):
    """A sample would mix simulated audits into real data: refused once a real pilot has outcomes."""
    stored = session.get(Pilot, pilot)
    stored.simulated, stored.data_version = False, 3
    session.commit()
    register(cli)
    refused = CliRunner().invoke(cli, ["--database-url", database_url, "outcomes", "sample", str(pilot)])
    assert refused.exit_code != 0 and "already has QA outcomes" in refused.output
