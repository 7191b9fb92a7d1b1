"""The `pilotlab` command line: schema, users, the demo pilot and bulk imports.

A plain click group (the domain does not depend on Flask); it reads the same `PILOTLAB_*` settings as the app.
Subcommands live in small modules under `pilots/commands/` and are attached here.
"""

from __future__ import annotations

import sys

import click

from pilots import settings
from pilots.blas_threads import limit_blas_threads
from pilots.db import make_engine, session_factory
from pilots.errors import PilotLabError


class Context:
    """What every subcommand needs: the database URL and, on first use, an engine and session factory."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._engine = None
        self._factory = None

    @property
    def sessions(self):
        if self._factory is None:
            self._engine = make_engine(self.database_url)
            self._factory = session_factory(self._engine)
        return self._factory

    def close(self) -> None:
        """Close the engine's pooled connections when the command ends (no connection outlives the command)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = self._factory = None


@click.group()
@click.option(
    "--database-url", envvar="PILOTLAB_DATABASE_URL", default=None, help="Defaults to the instance SQLite file."
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """PilotLab: controlled pilots for content-moderation operations."""
    limit_blas_threads()
    ctx.obj = Context(database_url or settings.database_url())
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Console-script entry point: domain errors print as one clear line and exit 1."""
    from pilots.commands import register

    register(cli)
    try:
        cli.main(standalone_mode=False)
    except PilotLabError as error:
        click.echo(f"error: {error.message}", err=True)
        for detail in error.details if isinstance(error.details, list) else []:
            click.echo(f"  row {detail.get('row')}, {detail.get('field')}: {detail.get('message')}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
