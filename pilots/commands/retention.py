"""`pilotlab retention purge [--days N] [--dry-run]`: delete the raw audits of pilots concluded long ago."""

import os

import click

from pilots import retention


@click.group()
def retention_group() -> None:
    """The retention policy for raw QA audits."""


@retention_group.command()
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=lambda: os.environ.get("PILOTLAB_RETENTION_DAYS"),
    help="Purge pilots concluded more than this many days ago (default: PILOTLAB_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be purged.")
@click.pass_obj
def purge(ctx, days: int | None, dry_run: bool) -> None:
    """Delete the raw outcome rows of pilots concluded more than DAYS ago (rollups, results and decisions stay)."""
    if days is None:
        raise click.UsageError("Set PILOTLAB_RETENTION_DAYS or pass --days.")
    with ctx.sessions() as session:
        done = retention.purge(session, days, actor="retention", dry_run=dry_run)
    verb = "Would purge" if dry_run else "Purged"
    for item in done:
        click.echo(
            f"{verb} {item.outcomes} audits of pilot {item.pilot_id} ({item.name}), "
            f"concluded {item.concluded_at:%Y-%m-%d}."
        )
    click.echo(f"{len(done)} pilot(s) {'due' if dry_run else 'purged'} under a {days}-day retention period.")


retention_group.name = "retention"
