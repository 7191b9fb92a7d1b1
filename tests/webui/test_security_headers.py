"""Security headers on every kind of response, a script policy without inline script, and no inline scripts in any
template (the policy would block them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.webui.page_support import make_user, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "webui" / "templates"
EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _check(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.request.path)
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == "'self'" and "unsafe" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Server" not in response.headers
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/me",
        "/api/v1/nothing",
        "/no-page",
        "/static/css/site.css",
    ],
)
def test_headers_on_every_kind_of_response(client, path):
    response = client.get(path)
    _check(response)
    response.close()  # static files are streamed from an open file


def test_headers_on_signed_in_pages_and_posts(app, client):
    make_user(app, "viewer", "reader")
    _check(sign_in(client, "reader"))
    _check(client.get("/"))


def test_hsts_only_over_https(client):
    response = client.get("/login", base_url="https://pilotlab.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_inline_scripts_or_event_handlers_in_templates():
    for template in TEMPLATES.rglob("*.html"):
        if template.name == "report.html":  # the downloadable standalone report: opened as a file, not served pages
            continue
        html = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE):
            assert "src=" in tag, f"inline script in {template.name}: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE), f"event handler attribute in {template}"
        assert "javascript:" not in html.lower(), template
