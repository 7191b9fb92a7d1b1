"""`pilotlab users create|list|role|password|deactivate`: people, from the command line.

Every change is recorded in the audit trail with the actor `cli`.
"""

import sys

import click

from pilots import accounts, settings
from pilots.accounts import users as accounts_users
from pilots.accounts.tokens import issue

ACTOR = "cli"


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\n")


@click.group()
def users() -> None:
    """People and their roles."""


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the sign-in password from standard input.")
@click.pass_obj
def create(ctx, name: str, role: str, password_stdin: bool) -> None:
    """Create user NAME with ROLE and print a new API token for them."""
    password = _read_password() if password_stdin else None
    with ctx.sessions() as session:
        user = accounts.create_user(session, name, role, password=password, actor=ACTOR)
        issued = issue(session, user, "cli", default_days=settings.token_default_days(), actor=ACTOR)
        session.commit()
    click.echo(f"Created {role} {name!r}. API token {issued.token.id} (shown once):")
    click.echo(issued.secret)


@users.command(name="list")
@click.pass_obj
def list_(ctx) -> None:
    """List every user: name, role, whether active, live tokens, latest sign-in."""
    with ctx.sessions() as session:
        rows = accounts_users.list_users(session)
    click.echo(f"{'name':<24} {'role':<8} {'state':<11} {'tokens':>6}  last sign-in")
    for row in rows:
        state = "active" if row.active else "deactivated"
        last = row.last_sign_in.strftime("%Y-%m-%d %H:%M") if row.last_sign_in else "never"
        click.echo(f"{row.name:<24} {row.role:<8} {state:<11} {row.live_tokens:>6}  {last}")


@users.command()
@click.argument("name")
@click.argument("role", type=click.Choice(accounts.ROLES))
@click.pass_obj
def role(ctx, name: str, role: str) -> None:
    """Give user NAME the role ROLE."""
    with ctx.sessions() as session:
        accounts_users.change_role(session, accounts_users.user_by_name(session, name), role, ACTOR)
        session.commit()
    click.echo(f"{name!r} is now {role}.")


@users.command()
@click.argument("name")
@click.pass_obj
def password(ctx, name: str) -> None:
    """Set user NAME's sign-in password, read from standard input (their signed-in sessions end)."""
    new_password = _read_password()
    with ctx.sessions() as session:
        accounts_users.reset_password(session, accounts_users.user_by_name(session, name), new_password, ACTOR)
        session.commit()
    click.echo(f"Password of {name!r} set; their sessions were ended.")


@users.command()
@click.argument("name")
@click.pass_obj
def deactivate(ctx, name: str) -> None:
    """Deactivate user NAME: no more sign-in, every session ended, every token revoked."""
    with ctx.sessions() as session:
        accounts_users.deactivate(session, accounts_users.user_by_name(session, name), ACTOR)
        session.commit()
    click.echo(f"{name!r} is deactivated; their tokens are revoked and their sessions ended.")
