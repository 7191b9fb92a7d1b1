"""Keyed pseudonyms for exports that leave the operation: moderator, team and auditor ids become HMAC digests.

`pseudonym_for(secret, pilot_id)` gives the function an export applies to every identifier column. Each pilot has its
own key, HMAC-SHA256(secret, "pilotlab pseudonyms / pilot <id>"), and an id's pseudonym is `p-` followed by the
first 20 hex digits (80 bits) of HMAC-SHA256(pilot key, id). So:

* within a pilot the same id always gets the same pseudonym (exports of one pilot join on it, across requests and
  across the roster, assignment, outcome and unit exports; a moderator-randomized unit id equals its moderator's);
* the same person gets unrelated pseudonyms in two pilots, so pilots cannot be joined on them;
* without the secret a pseudonym cannot be reversed, not even by hashing a list of candidate ids (what a plain hash
  would allow). Changing the secret changes every pseudonym.

80 bits make a collision between two ids of one pilot negligible (about 1e-15 at 50,000 ids).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

PREFIX = "p-"
DIGITS = 20


def pilot_key(secret: bytes, pilot_id: int) -> bytes:
    """The pilot's own pseudonym key, derived from the server secret."""
    return hmac.new(secret, f"pilotlab pseudonyms / pilot {pilot_id}".encode(), hashlib.sha256).digest()


def pseudonym_for(secret: bytes, pilot_id: int) -> Callable[[str], str]:
    """The pseudonym function of one pilot (memoized: an export repeats the same ids many times)."""
    key = pilot_key(secret, pilot_id)

    @lru_cache(maxsize=65_536)
    def pseudonym(value: str) -> str:
        return PREFIX + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:DIGITS]

    return pseudonym
