"""`pilotlab tokens create|list|revoke`: API tokens, from the command line (recorded with the actor `cli`)."""

import click

from pilots import settings
from pilots.accounts import tokens as api_tokens
from pilots.accounts.users import user_by_name

ACTOR = "cli"


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@click.group()
def tokens() -> None:
    """API tokens: issue, list, revoke."""


@tokens.command()
@click.argument("user")
@click.option("--name", default="cli", show_default=True, help="What the token is for, e.g. 'nightly import'.")
@click.option("--expires-in-days", type=int, default=None, help="Default: PILOTLAB_TOKEN_DEFAULT_DAYS (90).")
@click.option("--pilot", "pilot_id", type=int, default=None, help="Scope the token to this pilot's ingestion only.")
@click.pass_obj
def create(ctx, user: str, name: str, expires_in_days: int | None, pilot_id: int | None) -> None:
    """Issue a token for USER and print it (shown once)."""
    with ctx.sessions() as session:
        issued = api_tokens.issue(
            session,
            user_by_name(session, user),
            name,
            expires_in_days=expires_in_days,
            default_days=settings.token_default_days(),
            pilot_id=pilot_id,
            actor=ACTOR,
        )
        session.commit()
    scope = f", pilot {pilot_id} ingestion only" if pilot_id is not None else ""
    click.echo(f"Token {issued.token.id} for {user!r}, expires {_when(issued.token.expires_at)}{scope} (shown once):")
    click.echo(issued.secret)


@tokens.command(name="list")
@click.option("--user", default=None, help="Only this user's tokens.")
@click.pass_obj
def list_(ctx, user: str | None) -> None:
    """List tokens (never their secrets): id, owner, name, state, scope, expiry, last use."""
    with ctx.sessions() as session:
        rows = api_tokens.list_tokens(session, user_by_name(session, user) if user else None)
    click.echo(f"{'id':>5} {'user':<20} {'name':<20} {'state':<8} {'pilot':>5}  {'expires':<16}  last used")
    for token, owner in rows:
        pilot = "-" if token.pilot_id is None else str(token.pilot_id)
        state = api_tokens.token_state(token)
        click.echo(
            f"{token.id:>5} {owner:<20} {token.name:<20} {state:<8} {pilot:>5}  {_when(token.expires_at):<16}  "
            f"{_when(token.last_used_at)}"
        )


@tokens.command()
@click.argument("token_id", type=int)
@click.pass_obj
def revoke(ctx, token_id: int) -> None:
    """Revoke token TOKEN_ID (refused with 401 from then on)."""
    with ctx.sessions() as session:
        api_tokens.revoke_token(session, token_id, ACTOR)  # the command line acts with an admin's authority
        session.commit()
    click.echo(f"Token {token_id} is revoked.")
