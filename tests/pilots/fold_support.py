"""Shared check of the folds the results service writes after a request (`pilots.results.qa_levels`,
`pilots.results.unit_series`): two requests that read the same unfolded rows never both write."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session

from pilots.db import write_transaction


def assert_second_fold_loses(
    session: Session, other: Session, store: Callable[[Session, Any], bool], folds: Sequence[Any]
) -> None:
    """``folds`` are the same fold read by ``session`` and by ``other``: the first's write holds a lock (a row lock,
    or SQLite's write lock) that blocks the second until it commits, and the second then writes nothing."""
    outcome: dict[str, bool] = {}
    with write_transaction(session):
        assert store(session, folds[0])

        def second() -> None:
            with write_transaction(other):
                outcome["second"] = store(other, folds[1])

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # blocked until the first commits
    thread.join(30)
    assert outcome == {"second": False}
