"""The documented way to serve PilotLab (gunicorn with `gunicorn.conf.py`), tested as a real server on loopback:
slow clients cannot stall it, gunicorn's own error answers are JSON problems, and no version banner is sent."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from pilots.db import make_engine
from tests.serving import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
GENEROUS_S = 3.0  # a stalled server took 35 s here; an answer within this socket timeout is not stalled


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("serving")
    port = free_port()
    env = {
        **os.environ,
        "PILOTLAB_DATABASE_URL": database_url,
        "PILOTLAB_SECRET_KEY": "serving-test",
        "PILOTLAB_INSTANCE_PATH": str(tmp_path),
        "PILOTLAB_BIND": f"127.0.0.1:{port}",
        "PILOTLAB_WORKERS": str(WORKERS),
        "PILOTLAB_THREADS": "4",
        "PILOTLAB_READ_DEADLINE": "4",
        "PILOTLAB_BODY_TIMEOUT": "2",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {(tmp_path / 'gunicorn.log').read_text()}") from None
        yield port
    finally:
        process.send_signal(signal.SIGQUIT)  # quick shutdown: no need to wait for kept-alive connections
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _connect(port: int, data: bytes) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=GENEROUS_S)
    connection.sendall(data)
    return connection


def _answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the one response on `connection` (read until the server closes or the length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", len(body)))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _me(port: int, token: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=GENEROUS_S) as response:
        assert response.headers["Server"] == "PilotLab"
        return json.loads(response.read())


def test_slow_anonymous_clients_do_not_stall_a_normal_request(server, tokens):
    """The reported attack: anonymous connections that declare a large body and send a few bytes, more of them than
    there are workers (and slow header senders besides). A normal authenticated request still answers at once."""
    big_body = (
        b"POST /api/v1/pilots/1/outcomes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 60000000\r\n\r\n{"outcomes": ['
    )
    slow_headers = b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: "
    stalled = [_connect(server, big_body) for _ in range(3 * WORKERS)]
    stalled += [_connect(server, slow_headers) for _ in range(WORKERS)]
    try:
        assert _me(server, tokens["analyst"]) == {"name": "analyst-user", "role": "analyst"}
        status, headers, body = _answer(stalled[0])  # answered (401) without reading the body, then closed
        assert status == 401 and headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["code"] == "unauthorized"
        assert _me(server, tokens["pm"])["role"] == "pm"
    finally:
        for connection in stalled:
            connection.close()


def test_an_authenticated_body_that_stops_arriving_is_a_408(server, tokens, session):
    from tests.pilots.ingestion_support import make_pilot

    pilot = make_pilot(session)
    head = (
        f"POST /api/v1/pilots/{pilot}/outcomes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens['pm']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    with _connect(server, head.encode() + b'{"outcomes": [') as connection:
        connection.settimeout(10 * GENEROUS_S)  # the body deadline is 2 s
        status, _, body = _answer(connection)
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
    assert _me(server, tokens["pm"])["role"] == "pm"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /api/v1/pilots?" + b"x" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n", 431),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % k for k in range(150)) + b"\r\n", 431),
        (b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
    ],
    ids=["request line", "header size", "header count", "malformed"],
)
def test_gunicorn_error_answers_are_json_problems(server, request_bytes, status):
    with _connect(server, request_bytes) as connection:
        found, headers, body = _answer(connection)
    assert found == status
    assert headers["content-type"] == "application/json" and headers["server"] == "PilotLab"
    problem = json.loads(body)["error"]
    assert set(problem) == {"code", "message", "details"} and problem["message"]


def test_the_live_server_conforms_to_its_document_statefully(server, tokens, database_url):
    """schemathesis against the live gunicorn: a state machine follows the document's links from created pilots to
    every operation on them (fixed seed, bounded steps); no 5xx, only documented statuses, bodies and types."""
    import hypothesis
    import schemathesis
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{server}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {tokens['pm']}"}
    calls: collections.Counter[str] = collections.Counter()
    keep_tokens = _token_ids(database_url)

    class Machine(schema.as_state_machine()):
        def before_call(self, case):
            # Negative cases may mangle the credentials; every call keeps the pm's token, so the run explores the
            # bodies and parameters instead of being throttled as token guessing (429) after a few 401s.
            case.headers = {**(case.headers or {}), **headers}

        def get_call_kwargs(self, case):
            return {"headers": headers, "timeout": 30}

        def teardown(self):
            # Each generated scenario starts from the same server state (hypothesis replays its choices, and pilots
            # left by an earlier scenario would change what the links find).
            _forget_pilots_and_new_tokens(database_url, keep_tokens)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            calls[f"{case.operation.label} {response.status_code}"] += 1
            case.validate_response(response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs)

    Machine.run(
        settings=hypothesis.settings(
            max_examples=40,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    # The run got past validation into the handlers: it created pilots and worked on them.
    assert calls["POST /api/v1/pilots 201"] >= 1, calls
    on_created = sum(n for call, n in calls.items() if "{pilot_id}" in call and call.split()[-1].startswith("2"))
    assert on_created >= 1, sorted(calls.items())


PILOT_TABLES = ("results_cache", "unit_day", "outcome", "assignment", "roster_entry", "pilot_collaborator", "event")


def _token_ids(database_url: str) -> set[int]:
    engine = make_engine(database_url)
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(text("SELECT id FROM api_token"))}
    engine.dispose()
    return ids


def _forget_pilots_and_new_tokens(database_url: str, keep_tokens: set[int]) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for table in PILOT_TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("DELETE FROM pilot"))
        connection.execute(text("DELETE FROM auth_failure"))
        kept = ", ".join(str(k) for k in sorted(keep_tokens)) or "NULL"
        connection.execute(text(f"DELETE FROM api_token WHERE id NOT IN ({kept})"))
        connection.execute(text(f"UPDATE api_token SET revoked_at = NULL WHERE id IN ({kept})"))
    engine.dispose()
