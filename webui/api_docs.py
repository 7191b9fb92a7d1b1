"""The interactive API reference at /docs/api: Swagger UI 5 from the `swagger-ui-py` package's files, served
by this app (only its static files are used: the package's own page builder is not).

Nothing comes from a CDN: the Swagger UI files are served (compressed, versioned) by `webui.assets`, and the page
starts it with a script file of ours (`static/js/api-docs.js`) pointed at /api/v1/openapi.json. Like that document,
the page needs no sign-in; calling the API from it needs a token ("Authorize"), or a signed-in session for GETs.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

bp = Blueprint("docs", __name__)


@bp.get("/docs/api")
def api_reference():
    return render_template("pages/api_docs.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
