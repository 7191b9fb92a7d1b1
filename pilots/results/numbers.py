"""How every number in a sentence is written, in the engine's reasons and on the pages alike (one helper, so the
banner and the body never disagree): a real minus sign, a plus only where a change is meant, and the same precision
for the numbers of one sentence."""

from __future__ import annotations

import math

MINUS = "\u2212"


def number(value: float | None, decimals: int, signed: bool = False) -> str:
    """`value` rounded, with a real minus sign (and a plus when `signed`); "n/a" when there is no value.

    A value that rounds to zero is written without a sign ("0.0", never "−0.0" or "+0.0")."""
    if value is None:
        return "n/a"
    text = f"{abs(value):,.{decimals}f}"
    if round(value, decimals) < 0:
        return MINUS + text
    return ("+" + text) if signed and round(value, decimals) > 0 else text


def effect_digits(*values: float | None) -> int:
    """Decimals for the effects of one sentence, in display units (points, seconds): one, or two when every value
    is under one unit (a 0.5-point guardrail margin needs hundredths)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    return 1 if finite and max(finite) >= 1 else 2
