"""The admin section: users (list, create, change role, reset password, deactivate, issue and revoke their
tokens) and the audit trail (filter, page, export as CSV or JSON). Admins only (403 for everyone else)."""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import TypeAdapter, ValidationError

from pilots import audit_trail
from pilots.accounts import users
from pilots.db import write_transaction
from pilots.errors import NotFound, PilotLabError
from pilots.schemas.fields import PlanDate
from webui.api.downloads import record_download
from webui.api.formats import export_response, wants_csv
from webui.database import get_session, sessions
from webui.pages import bp
from webui.pages.account import issue_from_form, token_form, token_rows
from webui.pages.account_forms import (
    ConfirmForm,
    DeactivateForm,
    PasswordForm,
    RoleForm,
    UserCreateForm,
    show_problems,
)
from webui.pages.audit_wording import describe

PAGE_SIZE = 100
DATE = TypeAdapter(PlanDate)


def admin_only(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.can("manage_users"):
            abort(403, description="Only admins manage users and read the audit trail.")
        return view(*args, **kwargs)

    return wrapped


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_only
def admin_users():
    form = UserCreateForm()
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                with write_transaction(get_session()) as session:
                    user = users.create_user(
                        session, form.name.data, form.role.data, form.password.data, actor=current_user.name
                    )
                flash(f"{user.name} can now sign in as {user.role}.", "info")
                return redirect(url_for("pages.admin_user", user_id=user.id))
            except PilotLabError as error:
                show_problems(form, error, "name")
    return render_template("pages/admin_users.html", form=form, rows=users.list_users(get_session())), status


def _user_or_404(user_id: int):
    try:
        return users.get_user(get_session(), user_id)
    except NotFound:
        abort(404)


def _user_page(user, status: int = 200, **forms):
    forms.setdefault("role_form", RoleForm(formdata=None, role=user.role))
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault("deactivate_form", DeactivateForm(formdata=None))
    forms.setdefault("token_form", token_form())
    return (
        render_template(
            "pages/admin_user.html",
            user=user,
            rows=token_rows(user),
            revoke=ConfirmForm(),
            issued=forms.pop("issued", None),
            **forms,
        ),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.get("/admin/users/<int:user_id>")
@admin_only
def admin_user(user_id: int):
    return _user_page(_user_or_404(user_id))


def _change(user_id: int, form, change, done: str, fallback: str, form_name: str):
    """Validate `form`, apply `change(session, user)` in one unit of work, then back to the user's page."""
    user = _user_or_404(user_id)
    if form.validate_on_submit():
        try:
            with write_transaction(get_session()) as session:
                change(session, user)
            flash(done.format(name=user.name), "info")
            return redirect(url_for("pages.admin_user", user_id=user.id))
        except PilotLabError as error:
            get_session().refresh(user)
            show_problems(form, error, fallback)
    return _user_page(user, 422, **{form_name: form})


@bp.post("/admin/users/<int:user_id>/role")
@admin_only
def admin_user_role(user_id: int):
    form = RoleForm()
    return _change(
        user_id,
        form,
        lambda session, user: users.change_role(session, user, form.role.data, current_user.name),
        "{name}'s role is changed.",
        "role",
        "role_form",
    )


@bp.post("/admin/users/<int:user_id>/password")
@admin_only
def admin_user_password(user_id: int):
    form = PasswordForm()
    return _change(
        user_id,
        form,
        lambda session, user: users.reset_password(session, user, form.password.data, current_user.name),
        "{name} has a new password; their signed-in sessions ended.",
        "password",
        "password_form",
    )


@bp.post("/admin/users/<int:user_id>/deactivate")
@admin_only
def admin_user_deactivate(user_id: int):
    form = DeactivateForm()
    return _change(
        user_id,
        form,
        lambda session, user: users.deactivate(session, user, current_user.name),
        "{name} is deactivated: their sessions ended and their tokens are revoked.",
        "confirm",
        "deactivate_form",
    )


@bp.post("/admin/users/<int:user_id>/tokens")
@admin_only
def admin_user_token(user_id: int):
    user = _user_or_404(user_id)
    form = token_form()
    issued = issue_from_form(form, user)
    return _user_page(user, 200 if issued else 422, token_form=form, issued=issued)


def _trail_filter() -> audit_trail.TrailFilter:
    category = request.args.get("category") or "all"
    if category not in audit_trail.CATEGORIES:
        abort(400, description=f"category must be one of {', '.join(audit_trail.CATEGORIES)}.")
    dates = {}
    for name in ("since", "until"):
        raw = request.args.get(name) or None
        try:
            dates[name] = DATE.validate_python(raw) if raw else None
        except ValidationError:
            abort(400, description=f"{name} must be a date like 2025-03-14, got {raw[:20]!r}.")
    actor = (request.args.get("actor") or "").strip()[:100] or None
    return audit_trail.TrailFilter(category=category, actor=actor, **dates)


@bp.get("/admin/audit")
@admin_only
def admin_audit():
    trail = _trail_filter()
    page_number = request.args.get("page", "1")
    if not page_number.isascii() or not page_number.isdigit() or not 1 <= int(page_number) <= 100_000:
        abort(400, description="page must be a whole number from 1.")
    page_number = int(page_number)
    events, more = audit_trail.page(get_session(), trail, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
    filters = {k: v for k, v in request.args.items() if k in ("category", "actor", "since", "until") and v}
    return render_template(
        "pages/admin_audit.html",
        events=events,
        more=more,
        page=page_number,
        trail=trail,
        filters=filters,
        categories=audit_trail.CATEGORIES,
        describe=describe,
    )


@bp.get("/admin/audit/export")
@admin_only
def admin_audit_export():
    """The filtered trail as a file (CSV or JSON by `format`); the download itself is recorded."""
    trail = _trail_filter()
    wants_csv()  # 400 for an unknown format, before anything is recorded
    record_download("audit", who=current_user.name)
    response = export_response(audit_trail.trail_table(sessions(), trail), "pilotlab-audit-trail")
    if not wants_csv():
        response.headers["Content-Disposition"] = 'attachment; filename="pilotlab-audit-trail.json"'
    return response
