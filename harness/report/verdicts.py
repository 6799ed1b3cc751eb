"""How each verdict is shown (label, symbol, colour) and ranked (for comparisons)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.results.model import Verdict


@dataclass(frozen=True)
class VerdictStyle:
    """Presentation of one verdict: upper-case label, emoji for Markdown, CSS colour."""

    label: str
    emoji: str
    colour: str
    rank: int  # 0 best; a higher rank in a candidate run is a regression


STYLES: dict[Verdict, VerdictStyle] = {
    Verdict.PASS: VerdictStyle("PASS", "✅", "#1a7f37", 0),
    Verdict.INCONCLUSIVE: VerdictStyle("INCONCLUSIVE", "⚠️", "#b35900", 1),
    Verdict.FAIL: VerdictStyle("FAIL", "❌", "#cf222e", 2),
    Verdict.ABORTED: VerdictStyle("ABORTED", "⛔", "#6e40c9", 3),
}


def style(verdict: Verdict) -> VerdictStyle:
    """Return the presentation of ``verdict``."""
    return STYLES[verdict]
