"""The human side of PilotLab: sign-in, the pilots list, a pilot's overview and its results page.

`init_app` wires Flask-Login, CSRF protection (the bearer-token API is exempt: browsers never send its token on
their own), the blueprints and the locally served plotly.js. Every page except sign-in needs a signed-in user.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

bp = Blueprint("pages", __name__)


@bp.app_template_filter("event_label")
def _event_label(action: str) -> str:
    from webui.pages.wording import event_label

    return event_label(action)


@bp.app_template_global("may_change")
def _may_change(pilot) -> bool:
    from webui.pages.access import may_change

    return may_change(pilot)


@bp.app_template_global("decision_of")
def _decision_of(pilot):
    from webui.pages.decision import decision_view

    return decision_view(pilot)


csrf = CSRFProtect()


@bp.before_request
def _require_sign_in():
    from webui.pages.auth import login_manager

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def init_app(app: Flask) -> None:
    from webui.api import bp as api_bp
    from webui.pages import (  # noqa: F401  (attach their views to `bp`)
        account,
        admin,
        conclude,
        exports,
        launch,
        pilot_list,
        plan_panel,
        report,
        setup,
        uploads,
        views,
    )
    from webui.pages.auth import bp as auth_bp
    from webui.pages.auth import login_manager

    login_manager.init_app(app)
    csrf.init_app(app)
    csrf.exempt(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(bp)
