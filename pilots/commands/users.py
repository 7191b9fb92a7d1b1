"""`pilotlab users create NAME --role ROLE [--password-stdin]`: prints an API token as the last line."""

import sys

import click

from pilots import accounts, events


@click.group()
def users() -> None:
    """People and API tokens."""


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the sign-in password from standard input.")
@click.pass_obj
def create(ctx, name: str, role: str, password_stdin: bool) -> None:
    """Create user NAME with ROLE and print a new API token for them."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with ctx.sessions() as session:
        user = accounts.create_user(session, name, role, password=password)
        token = accounts.issue_token(session, user, label="cli")
        events.record(session, actor="cli", action="user.created", name=name, role=role)
        session.commit()
    click.echo(f"Created {role} {name!r}. API token (shown once):")
    click.echo(token)
