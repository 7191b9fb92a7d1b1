"""Path ids: ASCII digits without leading zeros, or no match at all (a 404).

Werkzeug's stock `int` converter matches `\\d+`, which in Python's `re` is any Unicode decimal digit, and `int()`
reads those too: `/api/v1/pilots/١` (ARABIC-INDIC DIGIT ONE) and `/pilots/01` were pilot 1. One resource must have
one address, so `register_converters` replaces the `int` converter of the app's URL map with `IdConverter`: every
`<int:...>` route of the API and the pages, including ones added later, takes only the canonical spelling.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter, ValidationError


class IdConverter(BaseConverter):
    """A positive id in canonical ASCII decimal: `1`, `42`; not `01`, `0`, `+1`, `١` or `1_0`."""

    regex = r"[1-9][0-9]{0,17}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        if not value.isascii() or not value.isdigit():  # the regex already ensures it; a second lock is cheap
            raise ValidationError()
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


def register_converters(app: Flask) -> None:
    """Make `<int:...>` (and `<id:...>`) path segments canonical ids. Call before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter
