"""Session sign-in for people using the site: server-side sessions, a CSRF-protected form, safe `next` redirects.

Flask-Login keeps a random session id in the signed cookie (`SignedInUser.get_id`); the user loader looks it up in
`user_session` on every request, so signing out (which ends the row) makes a copied cookie useless, an idle session
expires, a new sign-in gets a new id, and deactivating someone ends their session at once. Sign-in is throttled per
account and per address (429 with `Retry-After`). Views see a small `SignedInUser`, never the ORM row.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from pilots import accounts
from pilots.accounts import access
from pilots.accounts import sessions as user_sessions
from pilots.db import unit_of_work
from pilots.errors import TooManyAttempts
from webui.database import get_session, sessions
from webui.security import client_address, idle_timeout, limits

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"


@dataclass(frozen=True)
class SignedInUser(UserMixin):
    """The person behind the session cookie, as views and templates need them (`id` is the user's id;
    `session_id` the server-side session's, which is what the cookie carries)."""

    id: int
    name: str
    role: str
    session_id: str

    def get_id(self) -> str:
        return self.session_id

    def can(self, permission: str) -> bool:
        return accounts.can(self.role, permission)


@login_manager.user_loader
def load_user(session_id: str) -> SignedInUser | None:
    found = user_sessions.load_session(get_session(), session_id, idle_timeout())
    if found is None:
        return None
    user, record = found
    if user_sessions.needs_touch(record):
        with unit_of_work(sessions()) as work:
            user_sessions.touch(work, record.id)
    return SignedInUser(id=user.id, name=user.name, role=user.role, session_id=session_id)


class LoginForm(FlaskForm):
    name = StringField(
        "User name", validators=[DataRequired(), Length(max=100)], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )
    submit = SubmitField("Sign in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no scheme, no host, no `//` or `\\` tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(character) < 32 for character in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on success go to `next` when it is a local path, else to the pilots list."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("pages.pilot_list"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(sessions()) as work:
                signed_in = access.sign_in(work, form.name.data.strip(), form.password.data, client_address(), limits())
        except TooManyAttempts as error:
            minutes = -(-error.retry_after // 60)
            form.password.errors.append(
                f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
            return render_template("pages/login.html", form=form), 429, {"Retry-After": str(error.retry_after)}
        if signed_in is not None:
            user = signed_in.user
            session.clear()  # nothing from before sign-in survives it (a fresh CSRF token too)
            login_user(SignedInUser(id=user.id, name=user.name, role=user.role, session_id=signed_in.session_id))
            return redirect(safe_next(request.args.get("next")) or url_for("pages.pilot_list"))
        form.password.errors.append("That user name and password do not match an active account.")
    status = 401 if form.errors and request.method == "POST" else 200
    return render_template("pages/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out (POST with the CSRF token, so another site cannot sign people out)."""
    form = LogoutForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            with unit_of_work(sessions()) as work:
                access.sign_out(work, current_user.session_id, current_user.name, client_address())
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
