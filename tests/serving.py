"""Starting gunicorn for tests that need a real server (concurrency, browser): a free port and a readiness wait."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll `url` until it answers 200. Workers that are still importing accept the connection but answer late, so
    any OSError (refused, reset, read timeout) means "not yet"; a dead process or the deadline is a failure."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn did not answer {url} within {timeout:.0f} s")
        time.sleep(0.2)
