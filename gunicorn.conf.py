"""gunicorn settings for PilotLab; gunicorn reads this file from the working directory (`gunicorn wsgi:app`).

Threaded workers (`webui.gunicorn_worker.PilotLabWorker`, gunicorn's gthread with an idle timeout on every socket
read and write): a long request (a large export, a 50,000-row batch) holds one thread, not a whole worker, and a
client that stalls mid-request is dropped after the idle timeout instead of pinning a worker. Each setting can be
overridden on the command line (`--workers 8`) or through `PILOTLAB_WORKERS` / `PILOTLAB_THREADS` /
`PILOTLAB_BIND`. In production put a reverse proxy that buffers whole requests and responses in front
(see the README).
"""

import os

# One BLAS thread per request thread: the workers' threads already share the cores, and OpenBLAS's own threads spun
# against them (a small-sample plan's randomization products took 2-4 s of CPU instead of 0.4 s under load).
# Set before the app imports numpy; an explicit setting in the environment wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

bind = os.environ.get("PILOTLAB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PILOTLAB_WORKERS", "4"))
worker_class = "webui.gunicorn_worker.PilotLabWorker"
threads = int(os.environ.get("PILOTLAB_THREADS", "8"))
# With threads the worker's heartbeat no longer depends on requests; this only catches a wedged worker process.
timeout = 60
graceful_timeout = 30
keepalive = 5
# Request line and headers: gunicorn's defaults, answered as JSON problems (414, 431) by the worker.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
# gunicorn's run-time control socket (one fixed path per user) is not used by PilotLab.
control_socket_disable = True
