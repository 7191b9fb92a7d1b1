"""The one rule for identifiers (moderator, team, site, language, audit, auditor, policy, queue...): what is refused,
and the single spelling that is stored.

Two ids that look the same must be the same id, and an id must be something a person can read back and type.
So every identifier, in the roster and in the outcomes alike (JSON, CSV, API and CLI):

* is refused when it contains a character Unicode classes as "Other" (controls such as NUL, tab or newline; format
  characters such as zero-width spaces and joiners, the byte-order mark and the bidirectional embeddings, overrides
  and isolates; private-use, surrogate and unassigned code points), a separator other than the ASCII space (no-break
  and other odd spaces, line and paragraph separators), or one of the few letters and marks that render as nothing
  (Hangul fillers, the combining grapheme joiner, Mongolian and Khmer invisible signs). `str.isprintable` is exactly
  the first two classes, in C.
* is stored in Unicode normalization form C, so "josé" typed with a precomposed é and "jose" + combining acute are
  one moderator. Limits on length apply to the normalized value.

ASCII text needs only the `isprintable` test (it is already NFC), which keeps the ingestion hot paths fast: the
column-wise fast paths call `clean_column` once per column instead of once per value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Letters and marks that are "printable" to Unicode yet show nothing.
_INVISIBLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\uffa0]")
_normalize = unicodedata.normalize
_is_normalized = unicodedata.is_normalized


def clean(value: str) -> str | None:
    """`value` in NFC, or None when it holds a refused character (see `problem` for the reason)."""
    if value.isascii():
        return value if value.isprintable() else None
    if not value.isprintable() or _INVISIBLE.search(value):
        return None
    return value if _is_normalized("NFC", value) else _normalize("NFC", value)


def clean_column(values: Sequence[str]) -> list[str] | None:
    """Every value of a column of strings in NFC, or None when any holds a refused character.

    One test over the joined column does the common all-ASCII case; non-ASCII columns are normalized value by value.
    """
    joined = "".join(values)
    if joined.isascii():
        if not joined.isprintable():
            return None
        return values if isinstance(values, list) else list(values)
    if not joined.isprintable() or _INVISIBLE.search(joined):
        return None
    return [value if value.isascii() else _normalize("NFC", value) for value in values]


def problem(value: str) -> str | None:
    """Why `value` is refused as an identifier, naming the first offending character; None when it is fine."""
    for position, character in enumerate(value, start=1):
        if character == " " or (character.isprintable() and not _INVISIBLE.match(character)):
            continue
        name = unicodedata.name(character, "") or _CONTROL_NAMES.get(character, "")
        shown = f"U+{ord(character):04X}" + (f" {name}" if name else "")
        kind = _KINDS.get(unicodedata.category(character), "an invisible character")
        return f"must not contain {kind} ({shown} at character {position})"
    return None


_CONTROL_NAMES = {"\x00": "NUL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\x7f": "DELETE"}
_KINDS = {
    "Cc": "control characters",
    "Cf": "invisible formatting characters (zero-width or bidirectional controls)",
    "Co": "private-use characters",
    "Cs": "surrogate code points",
    "Cn": "unassigned code points",
    "Zs": "spaces other than the plain space",
    "Zl": "line separators",
    "Zp": "paragraph separators",
}
