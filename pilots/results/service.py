"""Cache-or-compute: return the stored document when it is current, else build it and store it.

The cache is written in its own short write transaction on the caller's session; failing to store (e.g. the
database is busy for longer than the busy timeout) never fails the read: the freshly computed document is returned.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from pilots.db import write_transaction
from pilots.lookup import get_pilot
from pilots.results import cache, qa_levels, unit_series
from pilots.results.document import ENGINE_VERSION, build_document

log = logging.getLogger(__name__)


def results_document(
    session: Session, pilot_id: int, as_of: date | None = None, *, use_cache: bool = True
) -> dict[str, Any]:
    """The results document of a pilot (see `pilots.results.document`), from the cache when current."""
    pilot = get_pilot(session, pilot_id)
    expected = cache.fingerprint(pilot, ENGINE_VERSION)
    data_version = pilot.data_version
    if use_cache:
        cached = cache.lookup(session, pilot_id, as_of, expected)
        if cached is not None:
            return cached
    document = build_document(session, pilot_id, as_of)
    qa_levels.write_pending(session)  # fold new QA batches the read met (`pilots.results.qa_levels`)
    unit_series.write_pending(session)  # and the rollup rows (`pilots.results.unit_series`)
    if use_cache:
        try:
            with write_transaction(session):
                cache.store(session, pilot_id, as_of, data_version, expected, document)
        except SQLAlchemyError:
            log.warning("could not store results of pilot %s in the cache", pilot_id, exc_info=True)
    return document
