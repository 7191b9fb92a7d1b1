"""The gunicorn worker PilotLab is served with: gunicorn's threaded worker, with three changes it has no setting for.

* **Timeouts on reading a request.** gunicorn's threaded worker hands a connection to a thread once it sends its
  first bytes, then reads headers and body with blocking calls and no timeout, so a client that sends a few bytes
  and stops keeps that thread until it disconnects. Here every read or write that makes no progress for
  `IDLE_TIMEOUT_S` fails, and reading one request (headers and body) must finish within `READ_DEADLINE_S`
  (`PILOTLAB_READ_DEADLINE`, default 30 s); the thread is released and the connection closed (a 408 when the app
  was reading the body, `webui.request_limits`). An unread body left behind by an early answer (401, 413) is not
  drained for seconds as gunicorn would: the connection closes instead.
* **gunicorn's own error answers are JSON problems.** A request line or headers over the limits (414, 431) or a
  malformed request (400) are answered by gunicorn before the app sees anything, as an HTML page; API clients
  always get `{"error": {"code", "message", "details"}}` instead, with the same status codes.
* **No server banner**: the `Server` header is `PilotLab`, without gunicorn's name or version.

Run it through `gunicorn.conf.py` at the repository root (gunicorn loads it from the working directory by default).
"""

from __future__ import annotations

import json
import os
import socket
import time
from ssl import SSLError

from gunicorn import util
from gunicorn.http import errors, wsgi
from gunicorn.workers.gthread import ThreadWorker

IDLE_TIMEOUT_S = 10.0
READ_DEADLINE_S = float(os.environ.get("PILOTLAB_READ_DEADLINE", "30"))
DRAIN_S = 0.05
SERVER_NAME = "PilotLab"

_CLIENT_ERRORS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (errors.LimitRequestLine, 414, "URI Too Long", "The request line (method and URL) is too long."),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "The request headers are too large."),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented", "The request's transfer coding is not supported."),
    (errors.ExpectationFailed, 417, "Expectation Failed", "The request's Expect header cannot be met."),
    (errors.ForbiddenProxyRequest, 403, "Forbidden", "The proxy request is not allowed."),
)


class IdleTimeout(errors.NoMoreData):
    """A read made no progress for the idle timeout, or the request's read deadline passed. gunicorn treats it as the
    client going away (the connection is closed quietly); inside the app it becomes a 408 (`webui.request_limits`)."""


class IdleTimeoutSocket(socket.socket):
    """A client socket whose "blocking mode" is a timeout.

    gunicorn switches sockets to blocking for the worker thread (`setblocking(True)`) and to non-blocking for its
    poller; the first becomes `settimeout(IDLE_TIMEOUT_S)`. Reads also stop at `read_deadline` (monotonic seconds),
    which the worker sets when it starts reading a request: headers and body together get `READ_DEADLINE_S`.
    """

    idle_timeout = IDLE_TIMEOUT_S
    read_deadline: float | None = None

    @classmethod
    def adopt(cls, sock: socket.socket) -> IdleTimeoutSocket:
        """The same connection (file descriptor) as an IdleTimeoutSocket; `sock` is detached."""
        timeout = sock.gettimeout()
        adopted = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        adopted.settimeout(timeout)
        return adopted

    def recv(self, size: int, flags: int = 0) -> bytes:
        timeout = self.gettimeout()
        if timeout and self.read_deadline is not None:
            remaining = self.read_deadline - time.monotonic()
            if remaining <= 0:
                raise IdleTimeout(b"")
            super().settimeout(min(timeout, remaining))
        try:
            return super().recv(size, flags)
        except TimeoutError:
            raise IdleTimeout(b"") from None
        finally:
            if timeout and self.read_deadline is not None:
                super().settimeout(timeout)

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.idle_timeout)
        else:
            super().setblocking(False)


class PilotLabWorker(ThreadWorker):
    """gunicorn's gthread worker with idle timeouts, JSON error answers and no version banner (module docstring)."""

    def init_process(self) -> None:
        wsgi.SERVER = SERVER_NAME  # the `Server` header gunicorn writes; it has no setting for it
        super().init_process()

    def enqueue_req(self, conn) -> None:
        if type(conn.sock) is socket.socket:
            conn.sock = IdleTimeoutSocket.adopt(conn.sock)
        super().enqueue_req(conn)

    def handle(self, conn):
        if isinstance(conn.sock, IdleTimeoutSocket):
            conn.sock.read_deadline = time.monotonic() + READ_DEADLINE_S
        return super().handle(conn)

    def _keepalive_after(self, conn, keepalive):
        """Keep the connection only if the request body was read whole (or what is left arrives at once).

        gunicorn would otherwise drain an unread body (for instance after a 401 or a 413 answered before reading it)
        for up to 5 s, holding the thread for a client that may be sending slowly on purpose.
        """
        if not keepalive:
            return False
        return bool(conn.parser.finish_body(deadline=time.monotonic() + DRAIN_S))

    def handle_error(self, req, client, addr, exc) -> None:
        status, reason, message = _describe(exc)
        if status >= 500 and status != 501:
            self.log.exception("Error handling request %s", getattr(req, "uri", "(no URI read)"))
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        body = json.dumps({"error": {"code": reason.lower().replace(" ", "_"), "message": message, "details": None}})
        head = (
            f"HTTP/1.1 {status} {reason}\r\nServer: {SERVER_NAME}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n"
        )
        try:
            util.write_nonblock(client, (head + body).encode("latin-1"))
        except Exception:  # the client is gone; nothing to answer
            self.log.debug("Failed to send error message.")


def _describe(exc: Exception) -> tuple[int, str, str]:
    """Status, reason phrase and a message for an error gunicorn met before or outside the app."""
    if isinstance(exc, errors.InvalidResponseHeader | errors.InvalidResponseHeaderName):
        return 500, "Internal Server Error", "Something went wrong on our side; nothing was changed."
    for kind, status, reason, message in _CLIENT_ERRORS:
        if isinstance(exc, kind):
            return status, reason, message
    if isinstance(exc, SSLError):
        return 403, "Forbidden", "The TLS connection could not be established."
    if isinstance(exc, errors.ParseException):
        return 400, "Bad Request", "The request is not valid HTTP."
    return 500, "Internal Server Error", "Something went wrong on our side; nothing was changed."
