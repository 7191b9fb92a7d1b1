"""Every user's "My tokens" page: issue a token (its secret shown once, on the answer to the form), see each
token's state, scope and last use, and revoke one. Admins revoke anyone's tokens through the same route."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select
from wtforms.fields.choices import SelectChoice

from pilots.accounts import tokens as api_tokens
from pilots.accounts.users import get_user
from pilots.db import write_transaction
from pilots.errors import NotFound, PilotLabError
from pilots.models import Pilot, User
from webui.database import get_session
from webui.pages import bp
from webui.pages.account_forms import ConfirmForm, TokenForm, show_problems
from webui.pages.auth import safe_next
from webui.security import token_default_days


def token_form() -> TokenForm:
    """The issue form, its pilot choices filled in (pilots newest first)."""
    form = TokenForm()
    pilots = get_session().exec(select(Pilot.id, Pilot.name).order_by(Pilot.id.desc())).all()
    form.pilot_id.choices = [SelectChoice("", "No: everything the user may do")] + [
        SelectChoice(str(pilot_id), f"{pilot_id}: {name}") for pilot_id, name in pilots
    ]
    return form


def issue_from_form(form: TokenForm, user: User) -> api_tokens.IssuedToken | None:
    """Issue a token from a submitted form, or None with the problems shown on the form."""
    if not form.validate_on_submit():
        return None
    try:
        with write_transaction(get_session()) as session:
            return api_tokens.issue(
                session,
                session.get(User, user.id),
                form.name.data.strip(),
                expires_in_days=form.expires_in_days.data,
                default_days=token_default_days(),
                pilot_id=int(form.pilot_id.data) if form.pilot_id.data else None,
                actor=current_user.name,
            )
    except PilotLabError as error:
        show_problems(form, error, "name")
        return None


def token_rows(user: User | None) -> list[tuple]:
    return [
        (token, owner, api_tokens.token_state(token)) for token, owner in api_tokens.list_tokens(get_session(), user)
    ]


@bp.route("/account/tokens", methods=["GET", "POST"])
def my_tokens():
    user = get_user(get_session(), current_user.id)
    form = token_form()
    issued = issue_from_form(form, user) if request.method == "POST" else None
    status = 422 if request.method == "POST" and issued is None else 200
    return (
        render_template(
            "pages/account_tokens.html",
            form=form,
            issued=issued,
            rows=token_rows(user),
            revoke=ConfirmForm(),
            default_days=token_default_days(),
        ),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Revoke a token: its owner or an admin (anyone else gets 404, as for an unknown token)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    owner_id = None if current_user.can("manage_users") else current_user.id
    try:
        with write_transaction(get_session()) as session:
            token = api_tokens.revoke_token(session, token_id, current_user.name, owner_id)
    except NotFound:
        abort(404)
    flash(f"Token {token.id} ({token.name or 'unnamed'}) is revoked; it is refused from now on.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("pages.my_tokens"))
