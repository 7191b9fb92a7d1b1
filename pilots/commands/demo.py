"""`pilotlab demo`: seed the demo users and pilots (once; later runs leave the database as it is)."""

from datetime import date

import click

from pilots import demo as demo_data
from pilots import migrate


@click.command()
@click.option("--moderators", default=240, show_default=True, help="Roster size of the running demo pilots.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Pretend today is this day.")
@click.pass_obj
def demo(ctx, moderators: int, today) -> None:
    """Seed the demo pilots with simulated moderators and QA outcomes."""
    migrate.upgrade(ctx.database_url)
    summary = demo_data.seed_demo(
        ctx.sessions, today.date() if today else date.today(), moderators=moderators, progress=click.echo
    )
    if summary.created:
        click.echo(f"Sign in as {', '.join(demo_data.DEMO_USERS)} with password {demo_data.DEMO_PASSWORD!r}.")
        click.echo("API token of demo-admin (shown once):")
        click.echo(summary.token)
        return
    click.echo("The demo is already seeded; nothing to do.")
    click.echo(
        f"Sign in as {', '.join(demo_data.DEMO_USERS)} with password {demo_data.DEMO_PASSWORD!r} (unless an admin "
        "changed it)."
    )
    click.echo(
        "API token: sign in and open 'My tokens' (/account/tokens), or run "
        "`.venv/bin/pilotlab tokens create demo-admin --name cli`."
    )
