"""The Flask application factory."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from flask import Flask

from pilots import settings
from pilots.blas_threads import limit_blas_threads
from webui import security
from webui.converters import register_converters
from webui.request_limits import register_request_limits
from webui.security_headers import register_security_headers


class ConfigurationError(RuntimeError):
    """The app refuses to start with an unsafe or incomplete configuration."""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then `PILOTLAB_*` environment variables, then `test_config`."""
    app = Flask(__name__, instance_path=str(settings.instance_path()), instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=None,
        PSEUDONYM_SECRET=None,
        DATABASE_URL=settings.default_database_url(settings.instance_path()),
        DEMO=False,
        SIMULATION=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
        **security.defaults(),
    )
    app.config.from_prefixed_env("PILOTLAB")
    if test_config:
        app.config.from_mapping(test_config)
    _check_secret_key(app)
    limit_blas_threads()

    register_converters(app)
    register_request_limits(app)
    register_security_headers(app)
    register_extensions(app)
    register_blueprints(app)
    return app


def _check_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.testing:
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        return
    if app.debug or app.config.get("DEMO"):
        # The local demo keeps a generated key in the instance folder, so every gunicorn worker (and a restart)
        # signs sessions with the same key.
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
        return
    raise ConfigurationError(
        "PILOTLAB_SECRET_KEY is not set. Set it to a long random value (e.g. `python -c 'import secrets; "
        "print(secrets.token_hex(32))'`), or set PILOTLAB_DEMO=1 for a local demo."
    )


def _instance_secret(folder: Path) -> str:
    path = folder / "secret_key"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key and the others read it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise ConfigurationError(f"{path} is empty; delete it and start again.") from None
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key


def register_extensions(app: Flask) -> None:
    from webui import assets, database
    from webui.outages import register_outage_handlers

    database.init_app(app)
    register_outage_handlers(app)
    security.init_app(app)
    assets.init_app(app)


def register_blueprints(app: Flask) -> None:
    from webui import api_docs
    from webui.api import init_app as init_api
    from webui.health import register_health
    from webui.pages import init_app as init_pages

    init_api(app)
    init_pages(app)
    api_docs.init_app(app)
    register_health(app)
