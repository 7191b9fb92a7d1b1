"""The human side of PilotLab: sign-in, the pilots list, a pilot's overview and its results page.

`init_app` wires Flask-Login, CSRF protection (the bearer-token API is exempt: browsers never send its token on
their own), the blueprints and the locally served plotly.js. Every page except sign-in needs a signed-in user.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from flask import Blueprint, Flask, send_from_directory
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

bp = Blueprint("pages", __name__)


@bp.app_template_filter("event_label")
def _event_label(action: str) -> str:
    from webui.pages.wording import event_label

    return event_label(action)


csrf = CSRFProtect()

PLOTLY_DIRECTORY = Path(plotly.__file__).parent / "package_data"
ONE_YEAR = 365 * 24 * 3600


@bp.before_request
def _require_sign_in():
    from webui.pages.auth import login_manager

    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def plotly_js():
    """plotly.min.js from the installed plotly package; the URL carries the version so it can be cached for a year."""
    return send_from_directory(PLOTLY_DIRECTORY, "plotly.min.js", max_age=ONE_YEAR, mimetype="text/javascript")


def init_app(app: Flask) -> None:
    from webui.api import bp as api_bp
    from webui.pages import account, admin, exports, pilot_list, views  # noqa: F401  (attach their views to `bp`)
    from webui.pages.auth import bp as auth_bp
    from webui.pages.auth import login_manager

    login_manager.init_app(app)
    csrf.init_app(app)
    csrf.exempt(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(bp)
    app.add_url_rule(f"/assets/plotly-{plotly.__version__}.min.js", "plotly_js", plotly_js)
