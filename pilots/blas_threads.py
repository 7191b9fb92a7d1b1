"""One BLAS thread per process thread, however PilotLab runs: gunicorn, the `pilotlab` command, Flask's test client,
the benches.

The analysis makes many small matrix products (dot products over a few thousand units, the planner's kernels), and
OpenBLAS splits each of them over every core. Beside other busy threads (a web server's concurrent requests, another
process) its threads spin against them: a dot product over 25,000 units took 27 ms instead of 0.13 ms with one other
process running. `gunicorn.conf.py` sets the environment before numpy loads; `limit_blas_threads` limits a BLAS that
is already loaded (threadpoolctl), for the ways of running the app that do not read that file, so that they compute
as the server does. An explicit `OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS` or `MKL_NUM_THREADS` is left to rule.
"""

from __future__ import annotations

import os

from threadpoolctl import threadpool_limits

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads() -> None:
    """Limit the process's BLAS libraries to one thread, unless the environment says how many they should use.

    numpy and scipy each bundle their own OpenBLAS; scipy's loads with `scipy.linalg`, imported here so that the
    limit reaches it. Libraries loaded later read the environment variables set here."""
    if any(name in os.environ for name in BLAS_THREAD_VARIABLES):
        return
    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    import scipy.linalg  # noqa: F401 (loads scipy's OpenBLAS so that the limit below reaches it)

    threadpool_limits(limits=1, user_api="blas")
