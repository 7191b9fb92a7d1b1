"""The app and the command line run BLAS on one thread, as gunicorn.conf.py makes the server do, unless the
environment says otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, os
from threadpoolctl import threadpool_info
{setup}
print(json.dumps(sorted({{p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}})))
"""
APP = "from webui import create_app; create_app({{'TESTING': True, 'DATABASE_URL': {url!r}}})"
CLI = "from pilots.blas_threads import limit_blas_threads; limit_blas_threads()"


def _blas_threads(setup: str, **env: str) -> list[int]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(setup="import numpy\n" + setup)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS has one thread anyway")
def test_app_and_cli_limit_an_already_loaded_blas_to_one_thread(database_url):
    assert max(_blas_threads("")) > 1  # numpy's BLAS on its own uses every core
    assert _blas_threads(APP.format(url=database_url)) == [1]
    assert _blas_threads(CLI) == [1]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS has one thread anyway")
def test_an_explicit_setting_in_the_environment_rules():
    assert _blas_threads(CLI, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2") == [2]
