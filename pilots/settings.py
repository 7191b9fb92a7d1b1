"""Where PilotLab keeps its data, read from the environment.

The web app and the command line share these defaults so that `pilotlab db upgrade` and gunicorn, started from the
same folder, talk to the same database without further configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_PREFIX = "PILOTLAB_"


def instance_path() -> Path:
    """The instance folder: `PILOTLAB_INSTANCE_PATH`, else `./instance` under the working directory."""
    configured = os.environ.get(f"{ENV_PREFIX}INSTANCE_PATH")
    return Path(configured).resolve() if configured else Path.cwd().resolve() / "instance"


def default_database_url(folder: Path | None = None) -> str:
    """The embedded default: a SQLite file in the instance folder."""
    folder = folder or instance_path()
    return f"sqlite:///{folder / 'pilotlab.sqlite3'}"


def database_url() -> str:
    """`PILOTLAB_DATABASE_URL`, else the SQLite file in the instance folder."""
    return os.environ.get(f"{ENV_PREFIX}DATABASE_URL") or default_database_url()


def token_default_days() -> int:
    """How long a new API token lives unless its creator says otherwise: `PILOTLAB_TOKEN_DEFAULT_DAYS`, else 90."""
    from pilots.accounts.tokens import DEFAULT_TOKEN_DAYS

    configured = os.environ.get(f"{ENV_PREFIX}TOKEN_DEFAULT_DAYS")
    return int(configured) if configured else DEFAULT_TOKEN_DAYS
