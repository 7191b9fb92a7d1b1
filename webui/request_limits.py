"""Limits on what a request may cost before the app has decided to serve it: body size per route, body read time.

* **Body size.** Only the bulk uploads (outcomes batches of up to 50,000 rows, rosters and late joiners) may send up
  to `MAX_CONTENT_LENGTH` (64 MiB); every other route, `/login` and the other API writes included, takes at most
  `SMALL_BODY_LIMIT` bytes (64 KiB), so a client cannot make the server wait for, or hold, a large body it does not
  need. A larger declared body is a 413 before any of it is read.
* **Body read time.** Reading a request body must finish within `BODY_TIMEOUT` seconds (default 30) in total, on top
  of the worker's idle timeout per read and read deadline per request (`webui.gunicorn_worker`): a client that
  trickles its body gets a 408 instead of holding a worker thread. Behind a reverse proxy that buffers requests
  (the recommended production set-up, see the README) bodies arrive at once and these limits never bite.

These limits apply before authentication has read anything from the body; the API authenticates from headers
first, so an anonymous client gets its 401 without the server reading its body at all.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestTimeout

from webui.gunicorn_worker import IdleTimeout, IdleTimeoutSocket

SMALL_BODY_LIMIT = 64 * 1024
LARGE_BODY_ENDPOINTS = frozenset(
    {
        "api.ingest_outcomes",
        "api.replace_roster",
        "api.add_late_joiners",
        # The same uploads from the pages (a CSV file in a form).
        "pages.pilot_outcomes",
        "pages.pilot_roster",
    }
)
_TIMEOUT_MESSAGE = "The request body did not arrive in time; send it again (whole, at once)."


def register_request_limits(app: Flask) -> None:
    """Install the per-route body limit (before any other before-request hook reads a form) and the read deadline."""
    app.config.setdefault("BODY_TIMEOUT", 30.0)
    app.config.setdefault("SMALL_BODY_LIMIT", SMALL_BODY_LIMIT)

    @app.before_request
    def _small_bodies_by_default() -> None:
        if request.endpoint not in LARGE_BODY_ENDPOINTS:
            request.max_content_length = min(
                app.config["SMALL_BODY_LIMIT"], app.config["MAX_CONTENT_LENGTH"] or app.config["SMALL_BODY_LIMIT"]
            )

    app.wsgi_app = _BodyDeadline(app.wsgi_app, app)


class _BodyDeadline:
    """WSGI middleware: reading the request body must finish within the app's `BODY_TIMEOUT` seconds; a read that
    times out (here or in the worker, `webui.gunicorn_worker`) is a 408."""

    def __init__(self, wsgi_app, app: Flask) -> None:
        self.wsgi_app, self.app = wsgi_app, app

    def __call__(self, environ: dict[str, Any], start_response):
        sock = environ.get("gunicorn.socket")
        deadline = time.monotonic() + float(self.app.config["BODY_TIMEOUT"])
        if isinstance(sock, IdleTimeoutSocket):
            previous = sock.read_deadline
            sock.read_deadline = deadline if previous is None else min(previous, deadline)
        environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], deadline)
        return self.wsgi_app(environ, start_response)


class _DeadlineInput:
    """`wsgi.input` whose reads fail with 408 once the deadline has passed or a read times out."""

    def __init__(self, stream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def _call(self, method: str, *args):
        if time.monotonic() > self._deadline:
            raise RequestTimeout(_TIMEOUT_MESSAGE)
        try:
            return getattr(self._stream, method)(*args)
        except (TimeoutError, IdleTimeout):
            raise RequestTimeout(_TIMEOUT_MESSAGE) from None

    def read(self, *args):
        return self._call("read", *args)

    def readline(self, *args):
        return self._call("readline", *args)

    def readlines(self, *args):
        return self._call("readlines", *args)

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line
