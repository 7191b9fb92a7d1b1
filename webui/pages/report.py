"""`/pilots/<id>/report.html`: the results as one self-contained HTML file for leadership to forward.

Everything is inside the file: the verdict, how the pilot ended, the data checks, each metric's sentences, tables and
charts with the numbers behind them, the CSS, plotly.js itself and the few lines that draw the charts. It makes no
request to anything (no CDN, no fonts, not even a favicon), so it opens from an e-mail attachment or a laptop
offline, and it prints on A4. `?as_of=YYYY-MM-DD` gives the report as it was known on that day.

Its inline scripts are allowed by a Content-Security-Policy of their own SHA-256 hashes (the site's pages keep
scripts in files); `default-src 'none'` and `connect-src 'none'` make the no-request promise enforceable. Like every
export, each report served is recorded in the audit trail.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from flask import current_app, make_response, render_template
from flask_login import current_user
from markupsafe import Markup

from pilots.errors import PilotLabError
from pilots.results import results_document
from webui import plain
from webui.api.downloads import record_download
from webui.assets import PACKAGES
from webui.database import get_session
from webui.pages import bp, queries
from webui.pages.presenter import results_view
from webui.pages.views import as_of_from_request
from webui.pages.wording import design_rows

STATIC = Path(__file__).resolve().parents[1] / "static"
CLOSING_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)


def _inline_script(text: str) -> str:
    """Script text safe inside <script>: a literal `</script` would end the element early."""
    return CLOSING_SCRIPT.sub(r"<\\/\1", text)


@cache
def plotly_source() -> str:
    return _inline_script((PACKAGES["plotly"] / "plotly.min.js").read_text(encoding="utf-8"))


@cache
def draw_source() -> str:
    return _inline_script((STATIC / "js" / "charts.js").read_text(encoding="utf-8"))


@cache
def styles() -> str:
    return "\n".join((STATIC / "css" / name).read_text(encoding="utf-8") for name in ("site.css", "report.css"))


@cache
def script_hash(which: str) -> str:
    text = plotly_source() if which == "plotly" else draw_source()
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy() -> str:
    """Only this file's own scripts and inline styles (Plotly sets styles on its elements); nothing fetched."""
    return (
        "default-src 'none'; "
        f"script-src {script_hash('plotly')} {script_hash('draw')}; "
        "style-src 'unsafe-inline'; img-src data:; font-src 'none'; connect-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@bp.get("/pilots/<int:pilot_id>/report.html")
def pilot_report(pilot_id: int):
    pilot = queries.pilot_or_404(pilot_id)
    as_of = as_of_from_request()
    session = get_session()
    view, unavailable = None, None
    if pilot.status == "draft":
        unavailable = "This pilot has not launched yet. Results appear once it is running and QA audits arrive."
    else:
        try:
            document = results_document(session, pilot.id, as_of, use_cache=queries.cache_enabled())
            view = results_view(document, pilot, queries.conclusion(session, pilot))
        except PilotLabError as error:
            unavailable = error.message
    html = render_template(
        "pages/report.html",
        pilot=pilot,
        view=view,
        unavailable=unavailable,
        as_of=as_of,
        arm_names=plain.arm_names(pilot.arms),
        design=design_rows(pilot.design or {}),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        styles=Markup(styles()),
        plotly=Markup(plotly_source()) if view else "",
        draw=Markup(draw_source()) if view else "",
        server=current_app.config.get("SERVER_NAME") or "",
    )
    # The file leaves whole whether it is saved or opened in a tab, so both are a download of the report.
    record_download("report", pilot.id, who=current_user.name, file_format="html")
    response = make_response(html)
    response.mimetype = "text/html"
    stamp = f"-as-of-{as_of.isoformat()}" if as_of else ""
    response.headers["Content-Disposition"] = f'inline; filename="pilot-{pilot.id}-report{stamp}.html"'
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["Cache-Control"] = "private, no-cache"
    return response
