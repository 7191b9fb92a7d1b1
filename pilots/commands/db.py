"""`pilotlab db upgrade`: create or migrate the schema."""

import click

from pilots import migrate


@click.group()
def db() -> None:
    """Database schema."""


@db.command()
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def upgrade(ctx, revision: str) -> None:
    """Create or migrate the schema to REVISION."""
    migrate.upgrade(ctx.database_url, revision)
    click.echo(f"Database at revision {migrate.current_revision(ctx.database_url)}.")
