"""Request-level security settings: the client's address behind a proxy, the session cookie's `Secure` flag, and
the throttling limits read from the configuration.

Behind a reverse proxy set `PILOTLAB_TRUSTED_PROXIES` to the number of proxies in front of the app: Werkzeug's
ProxyFix then takes the client address, scheme and host from their `X-Forwarded-*` headers (never trust those
headers without a proxy that sets them). The session cookie is marked `Secure` whenever the request came over HTTPS
(directly or as the proxy says), or always with `PILOTLAB_SESSION_COOKIE_SECURE=true`.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from pilots import settings
from pilots.accounts.access import SignInLimits
from pilots.accounts.sessions import DEFAULT_IDLE_MINUTES
from pilots.accounts.throttle import Limit

DEFAULTS = {
    "TRUSTED_PROXIES": 0,
    "SESSION_IDLE_MINUTES": DEFAULT_IDLE_MINUTES,
    "SIGNIN_MAX_FAILURES_PER_ACCOUNT": 5,
    "SIGNIN_MAX_FAILURES_PER_ADDRESS": 20,
    "SIGNIN_WINDOW_MINUTES": 15,
    "TOKEN_MAX_FAILURES_PER_ADDRESS": 20,
    "TOKEN_FAILURE_WINDOW_MINUTES": 5,
}


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie `Secure` on every HTTPS request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def defaults() -> dict:
    """The settings this module reads, with their defaults (the factory applies them before the environment)."""
    return {**DEFAULTS, "TOKEN_DEFAULT_DAYS": settings.token_default_days()}


def init_app(app: Flask) -> None:
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)
    app.session_interface = SessionInterface()


def client_address() -> str:
    """The client's address (the proxy's view of it when TRUSTED_PROXIES is set)."""
    return request.remote_addr or "unknown"


def limits() -> SignInLimits:
    config = current_app.config
    sign_in_window = timedelta(minutes=float(config["SIGNIN_WINDOW_MINUTES"]))
    return SignInLimits(
        per_account=Limit(int(config["SIGNIN_MAX_FAILURES_PER_ACCOUNT"]), sign_in_window),
        per_address=Limit(int(config["SIGNIN_MAX_FAILURES_PER_ADDRESS"]), sign_in_window),
        tokens_per_address=Limit(
            int(config["TOKEN_MAX_FAILURES_PER_ADDRESS"]),
            timedelta(minutes=float(config["TOKEN_FAILURE_WINDOW_MINUTES"])),
        ),
    )


def idle_timeout() -> timedelta:
    return timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"]))


def token_default_days() -> int:
    return int(current_app.config["TOKEN_DEFAULT_DAYS"])
