"""`pilotlab outcomes import PILOT FILE`: stream a CSV of QA outcomes into a running pilot, batch by batch;
`pilotlab outcomes sample PILOT`: a sample CSV for the pilot's own roster and dates (`pilots.simulation.sample`).

The file is read in batches (10,000 rows by default), each validated and stored all-or-nothing in its own
transaction, so memory stays flat on files of millions of rows. On the first invalid batch the import stops and
says which rows were wrong and how many earlier batches were committed. Re-running the same file is safe: audits
already stored with identical content are counted as duplicates, never stored twice. After an import that stored
audits the pilot's results are built once (`--no-prepare-results` skips it), so the first page view does not pay
for folding a bulk load's QA sums.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import click
from tqdm import tqdm

from pilots import ingestion
from pilots.errors import PilotLabError
from pilots.ingestion.csv_input import read_rows
from pilots.models import Pilot
from pilots.models._time import utcnow
from pilots.results.service import results_document
from pilots.simulation import write_audits_csv
from pilots.simulation.sample import pilot_sample, sample_refusal

DEFAULT_BATCH = 10_000


@click.group()
def outcomes() -> None:
    """QA outcomes."""


@outcomes.command("import")
@click.argument("pilot_id", metavar="PILOT", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch-size",
    default=DEFAULT_BATCH,
    show_default=True,
    type=click.IntRange(1, ingestion.MAX_ROWS_PER_REQUEST),
    help="Rows per transaction.",
)
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit trail.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
@click.option(
    "--prepare-results/--no-prepare-results",
    "prepare",
    default=True,
    show_default=True,
    help="After the import, build the pilot's results once (folds the QA sums, fills the results cache).",
)
@click.pass_obj
def import_outcomes(ctx, pilot_id: int, file: Path, batch_size: int, actor: str, progress: bool, prepare: bool) -> None:
    """Import the CSV FILE of QA outcomes into pilot PILOT (header row with the ingestion field names)."""
    try:
        _import(ctx.sessions, pilot_id, file, batch_size, actor, progress, prepare)
    finally:
        # Close pooled connections now rather than at interpreter exit (PostgreSQL warns about open ones).
        ctx.sessions.kw["bind"].dispose()


def _import(
    factory, pilot_id: int, file: Path, batch_size: int, actor: str, progress: bool, prepare: bool = True
) -> None:
    context = ingestion.load(factory, pilot_id)
    totals = _Totals()
    with (
        file.open(encoding="utf-8-sig", newline="") as handle,
        tqdm(
            total=file.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=f"pilot {pilot_id}",
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        reader = csv.reader(handle)
        try:
            header = read_rows(reader, 0, 1)
            layout = ingestion.layout_for(header[0] if header else None)
        except PilotLabError as error:
            _fail(error, totals, None)
        position = 0
        batch_rows: list[list[str]] = []
        try:
            for first_row, batch_rows in ingestion.batches(reader, batch_size):
                with ingestion.collector_paused():
                    batch = ingestion.parse_csv_rows(batch_rows, layout, context.window, first_row)
                result = ingestion.store(factory, context, batch, actor=actor, source=f"cli:{file.name}")
                totals.add(len(batch_rows), result)
                now = handle.buffer.tell()
                bar.update(now - position)
                position = now
                bar.set_postfix(rows=totals.rows, accepted=totals.accepted, refresh=False)
        except PilotLabError as error:
            bar.close()
            _fail(error, totals, totals.rows + 1)
    click.echo(
        f"Imported {file.name} into pilot {pilot_id}: {totals.rows:,} rows in {totals.batches:,} batches; "
        f"{totals.accepted:,} accepted, {totals.duplicates:,} duplicates."
    )
    click.echo("Re-running the same file is safe: audits already stored are counted as duplicates, never twice.")
    if prepare and totals.accepted:
        _prepare_results(factory, pilot_id)


@outcomes.command("sample")
@click.argument("pilot_id", metavar="PILOT", type=int)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file (default: stdout)."
)
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1), help="Simulation seed.")
@click.pass_obj
def sample_outcomes(ctx, pilot_id: int, output: Path | None, seed: int) -> None:
    """Print a sample CSV of simulated QA outcomes for PILOT's own moderators, dated inside its data window (its
    pre-period or pilot days up to yesterday, at most the last 28), with no treatment effect: to try a pilot out
    (refused for a pilot that already has real QA outcomes)."""
    try:
        with ctx.sessions() as session:
            pilot = session.get(Pilot, pilot_id)
            if pilot is None:
                raise click.ClickException(f"pilot {pilot_id} does not exist")
            refusal = sample_refusal(pilot)
            if refusal is not None:
                raise click.ClickException(refusal)
            found = pilot_sample(session, pilot, utcnow().date(), seed)
            if found is None:
                raise click.ClickException(
                    f"pilot {pilot_id} has no roster yet, or no whole day of its pre-period or pilot period has passed"
                )
            if output is None:
                count = write_audits_csv(found.audits, click.get_text_stream("stdout"))
            else:
                count = write_audits_csv(found.audits, output)
        click.echo(f"{count:,} sample outcomes from {found.first} to {found.last}.", err=True)
    finally:
        ctx.sessions.kw["bind"].dispose()


def _prepare_results(factory, pilot_id: int) -> None:
    """Build the pilot's results once, so the first page view after a bulk import does not pay for it: the build
    folds the imported QA sums into `qa_level` (`pilots.results.qa_levels`; at 2 million audits that fold is most of
    a minute) and stores the document in the results cache. A failure here leaves the import as it is: the next
    results request builds them instead."""
    start = time.perf_counter()
    try:
        with factory() as session:
            results_document(session, pilot_id)
    except Exception as error:  # best effort: the audits are stored whatever happens here
        reason = error.message if isinstance(error, PilotLabError) else type(error).__name__
        click.echo(f"warning: results were not prepared ({reason}); the first results request builds them.", err=True)
        return
    click.echo(f"Results prepared in {time.perf_counter() - start:.1f} s.")


class _Totals:
    def __init__(self) -> None:
        self.rows = self.batches = self.accepted = self.duplicates = 0

    def add(self, rows: int, result: ingestion.IngestResult) -> None:
        self.rows += rows
        self.batches += 1
        self.accepted += result.accepted
        self.duplicates += result.duplicates


def _fail(error: PilotLabError, totals: _Totals, first_row: int | None) -> None:
    """Report the rejected batch and what was committed before it, then exit with status 1."""
    where = "The header" if first_row is None else f"Batch {totals.batches + 1} (from row {first_row:,})"
    click.echo(f"error: {where} was rejected: {error.message}", err=True)
    for detail in error.details if isinstance(error.details, list) else []:
        row = detail.get("row")
        click.echo(f"  row {row if row is not None else '-'}, {detail.get('field')}: {detail.get('message')}", err=True)
    click.echo(
        f"Nothing from that batch was written. {totals.batches:,} earlier batches were committed "
        f"({totals.rows:,} rows: {totals.accepted:,} accepted, {totals.duplicates:,} duplicates).",
        err=True,
    )
    click.echo(
        "Fix the rows listed and re-run the whole file: it is safe, committed audits count as duplicates.", err=True
    )
    raise SystemExit(1)
