"""Subcommands of `pilotlab`, one module per group."""

import click


def register(cli: click.Group) -> None:
    """Attach every subcommand group to `cli` (idempotent)."""
    from pilots.commands import db, demo, outcomes, retention, tokens, users

    for command in (db.db, users.users, tokens.tokens, demo.demo, outcomes.outcomes, retention.retention_group):
        if command.name not in cli.commands:
            cli.add_command(command)
