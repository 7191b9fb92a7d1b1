"""Security headers on every response (pages, API, static files, errors).

* `Content-Security-Policy`: scripts only from this origin, never inline or evaluated (the pages keep their scripts
  in `webui/static/js`, plotly.js is served locally); styles from this origin plus inline style (plotly.js sets
  styles on the charts it draws); no plugins, no `<base>`, forms post only here; nobody may frame the pages.
* `X-Frame-Options: DENY` for browsers without `frame-ancestors`; `X-Content-Type-Options: nosniff`;
  `Referrer-Policy: same-origin`; `Permissions-Policy` switching off device and tracking features;
  `Cross-Origin-Opener-Policy: same-origin`.
* `Strict-Transport-Security` only on requests that arrived over HTTPS (`request.is_secure`, which reflects the
  proxy's forwarded protocol when the app is configured to trust it): sending it over plain HTTP means nothing, and
  a local `make run` must stay reachable at http://127.0.0.1.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), "
    "usb=(), interest-cohort=(), browsing-topics=()"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
