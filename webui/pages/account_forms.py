"""The forms of the users & tokens pages (Flask-WTF: every one carries a CSRF token), and a helper that puts the
domain's validation problems next to the fields they name, so the pages apply exactly the API's rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from pilots.accounts import ROLES
from pilots.accounts.tokens import MAX_TOKEN_DAYS
from pilots.accounts.users import MAX_PASSWORD, MIN_PASSWORD
from pilots.errors import PilotLabError

ROLE_CHOICES = [SelectChoice(role) for role in ROLES]
PASSWORD_HINT = f"{MIN_PASSWORD} to {MAX_PASSWORD} characters."


class TokenForm(FlaskForm):
    name = StringField("What is it for?", validators=[DataRequired(), Length(max=100)])
    expires_in_days = IntegerField(
        "Expires after (days)", validators=[Optional(), NumberRange(min=1, max=MAX_TOKEN_DAYS)]
    )
    pilot_id = SelectField("Limit to one pilot's outcome uploads", choices=[], default="")
    submit = SubmitField("Issue token")


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (revoke a token)."""

    submit = SubmitField("Revoke")


class UserCreateForm(FlaskForm):
    name = StringField("User name", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)], description=PASSWORD_HINT
    )
    submit = SubmitField("Create user")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Change role")


class PasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)],
        description=PASSWORD_HINT + " Their signed-in sessions end; their tokens stay valid.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat it",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Set password")


class DeactivateForm(FlaskForm):
    confirm = BooleanField(
        "I understand: they can no longer sign in, their sessions end and every token of theirs is revoked.",
        validators=[DataRequired(message="Tick the box to confirm.")],
    )
    submit = SubmitField("Deactivate")


def show_problems(form: FlaskForm, error: PilotLabError, fallback: str) -> None:
    """Attach each `{field, message}` of a domain error to the form field it names (else to `fallback`)."""
    details = error.details if isinstance(error.details, list) else []
    for detail in details or [{"field": fallback, "message": error.message}]:
        field = getattr(form, str(detail.get("field")), None) or getattr(form, fallback)
        field.errors = [*field.errors, detail["message"]]
