"""Session sign-in for people using the site: Flask-Login sessions, a CSRF-protected form, safe `next` redirects.

The user loader reads the `User` row on every request and refuses inactive users, so deactivating someone ends
their session at once. Views see a small `SignedInUser` (id, name, role), never the ORM row.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from pilots import accounts
from pilots.models import User
from webui.database import get_session

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"


@dataclass(frozen=True)
class SignedInUser(UserMixin):
    """The person behind the session cookie, as views and templates need them."""

    id: int
    name: str
    role: str

    def get_id(self) -> str:
        return str(self.id)

    def can(self, permission: str) -> bool:
        return accounts.can(self.role, permission)


@login_manager.user_loader
def load_user(user_id: str) -> SignedInUser | None:
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active:
        return None
    return SignedInUser(id=user.id, name=user.name, role=user.role)


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
        user = accounts.authenticate(get_session(), form.name.data.strip(), form.password.data)
        if user is not None:
            login_user(SignedInUser(id=user.id, name=user.name, role=user.role))
            return redirect(safe_next(request.args.get("next")) or url_for("pages.pilot_list"))
        form.password.errors.append("That user name and password do not match an active account.")
    status = 401 if form.errors and request.method == "POST" else 200
    return render_template("pages/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out (POST with the CSRF token, so another site cannot sign people out)."""
    form = LogoutForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
