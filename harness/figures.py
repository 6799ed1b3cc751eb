"""Numbers for people: three significant digits, thousands separated, no trailing zeros.

The one rule every message and report uses (``harness.report.fmt`` builds units on it,
check details and the console use it too), so a figure reads the same everywhere.
"""

from __future__ import annotations

import math

SIGNIFICANT = 3
MISSING = "–"


def number(x: float | None, digits: int = SIGNIFICANT) -> str:
    """``x`` to ``digits`` significant digits, thousands separated, no trailing zeros.

    ``10012.3`` -> ``10,000``; ``693.247`` -> ``693``; ``0.9137`` -> ``0.914``; ``2.0`` -> ``2``.
    """
    if x is None:
        return MISSING
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    magnitude = math.floor(math.log10(abs(x)))
    rounded = round(x, digits - 1 - magnitude)
    if rounded and math.floor(math.log10(abs(rounded))) > magnitude:  # 999.6 -> 1,000
        magnitude += 1
    decimals = max(0, digits - 1 - magnitude)
    text = f"{rounded:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def quantity(x: float | None, unit: str) -> str:
    """``x`` with its unit: a ratio as a percentage, a count whole, the rest to 3 digits."""
    if x is None:
        return MISSING
    if unit == "ratio":
        return f"{number(x * 100)} %"
    if unit == "count":
        return f"{x:,.0f}"
    return f"{number(x)} {unit}".rstrip()
