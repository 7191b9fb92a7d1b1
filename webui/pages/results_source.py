"""Where the results page gets its document from.

The contract is `pilots.results.results_document(session, pilot_id, as_of=None) -> dict`. The `RESULTS_SOURCE`
setting ("module:function", default that function) lets a deployment or the browser test point the pages at
another implementation with the same signature. When the module is missing the pages say results are not
available yet instead of failing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import current_app

DEFAULT_SOURCE = "pilots.results:results_document"

ResultsFunction = Callable[..., dict[str, Any]]


class ResultsUnavailable(Exception):
    """No results service is installed (yet), or it cannot produce results for this pilot."""


def results_function() -> ResultsFunction:
    """The configured results function; ResultsUnavailable when its module or attribute does not exist."""
    source = current_app.config.get("RESULTS_SOURCE") or DEFAULT_SOURCE
    if callable(source):
        return source
    module_name, _, attribute = str(source).partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise ResultsUnavailable(f"The results service ({module_name}) is not installed yet.") from error
        raise
    function = getattr(module, attribute or "results_document", None)
    if function is None:
        raise ResultsUnavailable(f"{module_name} has no {attribute or 'results_document'} function yet.")
    return function


def results_for_page(session, pilot_id: int, as_of: date | None = None) -> dict[str, Any]:
    """The results document for one pilot, as the page shows it."""
    return results_function()(session, pilot_id, as_of=as_of)
