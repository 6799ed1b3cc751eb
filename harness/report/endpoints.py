"""Small multiples for report.html: each endpoint's p95 latency and error %, on the drill's axis.

From ``TimeSeries.endpoints`` (the busiest endpoints' own per-bucket figures). Points are
merged as the main charts merge them (the same buckets a point), weighted by the
endpoint's own requests. All endpoints share one latency scale and one error scale, so
a taller line is a slower (or more failing) endpoint; fault windows and phase lines are
those of the main charts. Drawn by endpoints.html.j2, at most :data:`MAX_ENDPOINTS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.charts import (
    Frame,
    buckets_per_point,
    linear_scale,
    nice_axis,
    nice_ticks,
    time_label,
)
from harness.report.fmt import number
from harness.results.model import EndpointSeries, RunReport

MAX_ENDPOINTS = 8
FRAME = Frame(width=590, height=120, left=62, right=580, top=10, bottom=96)


@dataclass(frozen=True)
class SmallChart:
    """One small chart: one endpoint's one figure over the drill."""

    endpoint: str
    metric: str  # "p95" or "errors"
    colour: str
    segments: list[str]  # polyline points, broken where the endpoint had no data
    bands: list[tuple[float, float, str]]  # fault windows: x, width, title
    phase_xs: list[float]
    yticks: list[tuple[float, str]]
    xticks: list[tuple[float, str]]
    peak: str  # the highest point drawn, as text
    frame: Frame = FRAME


def merged(values: Sequence[float | None], weights: Sequence[float], k: int) -> list[float | None]:
    """``values`` merged ``k`` at a time, weighted by ``weights`` (None where no weight)."""
    out: list[float | None] = []
    for i in range(0, len(values), k):
        pairs = [
            (v, w)
            for v, w in zip(values[i : i + k], weights[i : i + k], strict=False)
            if v is not None and w > 0
        ]
        total = sum(w for _, w in pairs)
        out.append(sum(v * w for v, w in pairs) / total if total else None)
    return out


def build_small_multiples(report: RunReport) -> list[tuple[str, SmallChart, SmallChart]]:
    """(endpoint, p95 chart, error chart) for the busiest endpoints with their own series."""
    s = report.series
    if not s.endpoints or not s.t_s:
        return []
    k = buckets_per_point(s.bucket_s, s.rps)
    busiest = sorted(s.endpoints, key=lambda e: -sum(s.endpoints[e].rps))[:MAX_ENDPOINTS]
    p95 = {e: merged(s.endpoints[e].p95_ms, s.endpoints[e].rps, k) for e in busiest}
    err = {e: merged(_pct(s.endpoints[e]), s.endpoints[e].rps, k) for e in busiest}
    p95_top = nice_axis(max((v for vs in p95.values() for v in vs if v is not None), default=0))
    err_top = nice_axis(
        max((v for vs in err.values() for v in vs if v is not None), default=0.0) or 1.0, 100.0
    )
    t_s = s.t_s[::k]
    width_s = k * s.bucket_s
    duration = max(report.duration_s, t_s[-1] + width_s, 1e-9)
    return [
        (
            e,
            _small(report, e, "p95", "#2f6fd0", p95[e], t_s, width_s, duration, p95_top, "ms"),
            _small(report, e, "errors", "#cf222e", err[e], t_s, width_s, duration, err_top, "%"),
        )
        for e in sorted(busiest)
    ]


def _pct(series: EndpointSeries) -> list[float | None]:
    return [None if v is None else v * 100.0 for v in series.error_ratio]


def _small(
    report: RunReport,
    endpoint: str,
    metric: str,
    colour: str,
    values: list[float | None],
    t_s: list[float],
    width_s: float,
    duration: float,
    axis: tuple[float, list[float]],
    unit: str,
) -> SmallChart:
    top, ticks = axis
    x = linear_scale(0.0, duration, FRAME.left, FRAME.right)
    y = linear_scale(0.0, top, FRAME.bottom, FRAME.top)
    segments: list[list[str]] = [[]]
    for t, v in zip(t_s, values, strict=False):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{x(t + width_s / 2):.1f},{y(min(v, top)):.1f}")
    bands = []
    for f in report.faults:
        start = f.applied_s if f.applied_s is not None else f.planned_start_s
        end = f.reverted_s if f.reverted_s is not None else duration
        end = min(max(end, start), duration)
        bands.append((x(start), max(x(end) - x(start), 1.0), f"fault {f.fault}"))
    peak = max((v for v in values if v is not None), default=None)
    return SmallChart(
        endpoint=endpoint,
        metric=metric,
        colour=colour,
        segments=[" ".join(seg) for seg in segments if seg],
        bands=bands,
        phase_xs=[x(p.start_s) for p in report.phases if 0 < p.start_s < duration],
        yticks=[(y(v), f"{number(v)} {unit}") for v in (ticks[0], ticks[-1])],
        xticks=[(x(t), time_label(t, duration)) for t in nice_ticks(duration)[::2]],
        peak="–" if peak is None else f"{number(peak)} {unit}",
    )
