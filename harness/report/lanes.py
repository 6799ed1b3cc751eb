"""The target's own state over time, as lanes under the report's charts (drawn by lanes.html.j2).

The samples scraped from the target's /metrics (``RunReport.server_samples``) become one
lane each, on the same time axis as the other charts, with the same phase lines, fault
windows and failover/recovery markers:

- a **counter** (Prometheus convention: a name ending ``_total``, ``_count`` or ``_sum``, or
  a series that only rises and rose at more than half of the scrapes) is drawn as its
  **rate per second** between two scrapes; a drop is a restart, counted from zero;
- a **state** (a gauge whose name ends in ``state``, ``mode``, ``status``, ``open``, ``up``,
  ``enabled`` or ``healthy``) is drawn as segments, one per value held, shaded by value
  and labelled with it: a breaker's 0 -> 2 -> 0 reads at a glance;
- any other **gauge** (a queue depth, requests in flight) as a step line.

A drill may name its lanes (``target.lanes``, kept in ``RunReport.lanes``): a name stands
for each of its label sets, a name with labels for that one; they are drawn in that
order, also when they never changed (a flat breaker lane says it never opened).
Otherwise a series that never changed says nothing on a timeline and is left to the
table, and every series that changed is a candidate: states come first, then gauges by
how much they moved, then counters by how much they counted; at most :data:`MAX_LANES`
lanes are drawn and the rest stay in the raw table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from harness.report.charts import (
    LEFT,
    RIGHT,
    WIDTH,
    Band,
    Frame,
    Marker,
    Tick,
    fault_bands,
    linear_scale,
    nice_ticks,
    time_label,
    timing_markers,
)
from harness.report.fmt import number
from harness.results.model import RunReport, ServerSample

MAX_LANES = 8  # lanes drawn; further series that changed stay in the raw table
LANE_LABEL_H = 16  # the row above each lane that names it
LANE_PLOT_H = 34
LANE_TOP = 30  # room for the phase names above the first lane
AXIS_H = 28  # the time axis under the last lane
_COUNTER_NAME = re.compile(r"_(total|count|sum)(\{|$)")
_STATE_NAME = re.compile(r"(^|_)(state|mode|status|open|up|enabled|healthy)$")


class SeriesKind(StrEnum):
    """How a series from /metrics is drawn."""

    STATE = "state"
    GAUGE = "gauge"
    RATE = "rate"  # a counter, drawn as its rate per second


@dataclass(frozen=True)
class ServerSeries:
    """One series as drawn: a value held over each ``[start, end)`` span of drill time."""

    name: str
    kind: SeriesKind
    spans: list[tuple[float, float, float]]  # (start_s, end_s, value)
    changed: bool = True  # a state or gauge took two values, or a counter counted

    @property
    def unit(self) -> str:
        return "/s" if self.kind is SeriesKind.RATE else ""

    @property
    def low(self) -> float:
        return min((v for _, _, v in self.spans), default=0.0)

    @property
    def high(self) -> float:
        return max((v for _, _, v in self.spans), default=0.0)


def is_counter(name: str, values: Sequence[float]) -> bool:
    """True for a Prometheus counter: by its name, or a series that only rises (and often)."""
    if _COUNTER_NAME.search(name):
        return True
    rises = sum(1 for a, b in zip(values, values[1:], strict=False) if b > a)
    falls = any(b < a for a, b in zip(values, values[1:], strict=False))
    return not falls and len(values) > 2 and rises > (len(values) - 1) / 2


def is_state(name: str) -> bool:
    """True for a gauge whose name says it holds a state: ``..._state``, ``_mode``, ``_open``..."""
    return _STATE_NAME.search(name.split("{", 1)[0]) is not None


def server_series(
    samples: Sequence[ServerSample], duration_s: float, *, unchanged: bool = False
) -> list[ServerSeries]:
    """Every series of ``samples`` that changed (``unchanged``: every series), classified,
    counters as rates; in name order."""
    names = sorted({n for s in samples for n in s.values})
    out = []
    for name in names:
        points = [(s.t_s, s.values[name]) for s in samples if name in s.values]
        values = [v for _, v in points]
        if len(points) < 2:
            continue
        if is_counter(name, values):
            spans = _rates(points)
            kind = SeriesKind.RATE
            changed = any(v > 0 for _, _, v in spans)
        else:
            spans = _held(points, duration_s)
            kind = SeriesKind.STATE if is_state(name) else SeriesKind.GAUGE
            changed = len(set(values)) >= 2
        if changed or unchanged:
            out.append(ServerSeries(name, kind, spans, changed))
    return out


def _rates(points: list[tuple[float, float]]) -> list[tuple[float, float, float]]:
    spans = []
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t1 <= t0:
            continue
        counted = v1 - v0 if v1 >= v0 else v1  # a drop: the target restarted its counter
        spans.append((t0, t1, counted / (t1 - t0)))
    return spans


def _held(points: list[tuple[float, float]], duration_s: float) -> list[tuple[float, float, float]]:
    """Each value held from its scrape to the next; the last for one more scrape interval."""
    last_gap = points[-1][0] - points[-2][0]
    ends = [t for t, _ in points[1:]] + [min(points[-1][0] + last_gap, max(duration_s, 0.0))]
    spans = [(t, max(end, t), v) for (t, v), end in zip(points, ends, strict=True)]
    merged: list[tuple[float, float, float]] = []
    for span in spans:  # one segment per value held, so a state reads as runs
        if merged and merged[-1][2] == span[2] and merged[-1][1] == span[0]:
            merged[-1] = (merged[-1][0], span[1], span[2])
        else:
            merged.append(span)
    return merged


def pick(series: list[ServerSeries], limit: int = MAX_LANES) -> list[ServerSeries]:
    """The series to draw: states, then gauges by relative movement, then counters by volume."""

    def rank(s: ServerSeries) -> tuple[int, float, str]:
        if s.kind is SeriesKind.STATE:
            return (0, 0.0, s.name)
        if s.kind is SeriesKind.GAUGE:
            return (1, -(s.high - s.low) / (abs(s.high) or 1.0), s.name)
        return (2, -sum((b - a) * v for a, b, v in s.spans), s.name)

    return sorted(series, key=rank)[:limit]


def named(series: list[ServerSeries], names: Sequence[str]) -> list[ServerSeries]:
    """The series ``names`` asks for, in its order: a bare name matches each of its label
    sets (in name order), a name with labels only itself; each series once."""
    shown: dict[str, ServerSeries] = {}
    for wanted in names:
        for s in series:
            if s.name == wanted or ("{" not in wanted and s.name.split("{", 1)[0] == wanted):
                shown.setdefault(s.name, s)
    return list(shown.values())


@dataclass(frozen=True)
class Segment:
    """One span of a lane: a state's value held (``shade`` 0..1) or a step of a line."""

    x: float
    width: float
    y: float  # the line's height in the lane (a step), SVG units
    shade: float  # states: 0 for the lowest value held, 1 for the highest
    text: str  # the value, shown in a state segment wide enough for it
    title: str


@dataclass(frozen=True)
class Lane:
    """One series drawn in its own strip: label row above, plot below."""

    name: str
    kind: SeriesKind
    top: float  # the label row's top
    plot_top: float
    plot_bottom: float
    label: str
    high_text: str
    low_text: str
    segments: list[Segment]
    path: str  # a step line through the segments (gauges and rates)


@dataclass(frozen=True)
class LanesChart:
    """Everything lanes.html.j2 needs: the lanes and the marks shared with the other charts."""

    key: str
    title: str
    lanes: list[Lane]
    bands: list[Band]
    markers: list[Marker]
    phase_labels: list[Tick]
    xticks: list[Tick]
    hidden: int  # series that changed but were not drawn (in the table)
    unchanged: int  # series that never changed (in the table)
    frame: Frame  # as tall as its lanes
    named: bool = False  # the drill chose the lanes (target.lanes)


def build_lanes(report: RunReport, limit: int = MAX_LANES) -> LanesChart | None:
    """The target's state as lanes, or None when /metrics was not scraped or nothing changed."""
    if not report.server_samples:
        return None
    duration = max(report.duration_s, report.server_samples[-1].t_s, 1e-9)
    every = server_series(report.server_samples, duration, unchanged=True)
    changed = [s for s in every if s.changed]
    shown = named(every, report.lanes) if report.lanes else pick(changed, limit)
    if not shown:
        return None
    names = {n for s in report.server_samples for n in s.values}
    x = linear_scale(0.0, duration, LEFT, RIGHT)
    lanes = [_lane(s, LANE_TOP + i * (LANE_LABEL_H + LANE_PLOT_H), x) for i, s in enumerate(shown)]
    bottom = LANE_TOP + len(lanes) * (LANE_LABEL_H + LANE_PLOT_H)
    return LanesChart(
        key="server",
        title="Target state (from its /metrics)",
        lanes=lanes,
        bands=fault_bands(report, x, duration),
        markers=timing_markers(report, x, duration),
        phase_labels=[Tick(x(ph.start_s) + 4, ph.name) for ph in report.phases],
        xticks=[Tick(x(t), time_label(t, duration)) for t in nice_ticks(duration)],
        hidden=len({s.name for s in changed} - {s.name for s in shown}),
        unchanged=len(names - {s.name for s in changed} - {s.name for s in shown}),
        frame=Frame(WIDTH, bottom + AXIS_H, LEFT, RIGHT, LANE_TOP, bottom),
        named=bool(report.lanes),
    )


def _lane(s: ServerSeries, top: float, x: Callable[[float], float]) -> Lane:
    plot_top, plot_bottom = top + LANE_LABEL_H, top + LANE_LABEL_H + LANE_PLOT_H - 4
    low = min(s.low, 0.0) if s.kind is not SeriesKind.STATE else s.low
    span = (s.high - low) or 1.0

    def y(v: float) -> float:
        return plot_bottom - (v - low) / span * (plot_bottom - plot_top - 2)

    segments = []
    for start, end, v in s.spans:
        text = number(v) + (" /s" if s.unit else "")
        segments.append(
            Segment(
                x(start),
                max(x(end) - x(start), 0.5),
                y(v),
                (v - s.low) / ((s.high - s.low) or 1.0),
                number(v) if s.kind is SeriesKind.STATE else "",
                f"{s.name}: {text} from {number(start)} s to {number(end)} s",
            )
        )
    path = ""
    if s.kind is not SeriesKind.STATE:
        path = " ".join(f"{g.x:.1f},{g.y:.1f} {g.x + g.width:.1f},{g.y:.1f}" for g in segments)
    kind = {
        SeriesKind.STATE: "state",
        SeriesKind.GAUGE: "gauge",
        SeriesKind.RATE: "counter, rate per second",
    }[s.kind]
    return Lane(
        s.name,
        s.kind,
        top,
        plot_top,
        plot_bottom,
        f"{s.name} · {kind}",
        number(s.high) + (" /s" if s.unit else ""),
        number(low) + (" /s" if s.unit else ""),
        segments,
        path,
    )
