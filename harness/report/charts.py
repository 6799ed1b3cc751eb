"""Chart geometry for report.html: series in, SVG coordinates out (drawn by charts.html.j2).

Charts are computed here and drawn as inline SVG by a template, so the page needs no
JavaScript and every mark (line, fault band, marker) is an element tests can find.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.report import fmt
from harness.results.model import RunReport

WIDTH, HEIGHT = 1200, 250
LEFT, RIGHT, TOP, BOTTOM = 70, 1180, 30, 222  # plot area inside the viewBox
MAX_HOVER_BUCKETS = 600  # above this, no per-bucket tooltips (keeps the file small)


@dataclass(frozen=True)
class Line:
    """One series drawn as polylines; ``segments`` break where values are missing."""

    key: str
    label: str
    colour: str
    segments: list[str]
    area: str | None = None  # closed polygon points, for a filled series
    width: float = 2.0


@dataclass(frozen=True)
class Band:
    """A shaded interval: a fault window."""

    x: float
    width: float
    label: str
    title: str


@dataclass(frozen=True)
class Marker:
    """A vertical line: a phase boundary, a failover or a recovery moment."""

    kind: str  # "phase", "failover", "recovery", "abort"
    x: float
    label: str
    title: str


@dataclass(frozen=True)
class Threshold:
    """A check's limit drawn as a horizontal segment over its phase."""

    x1: float
    x2: float
    y: float
    label: str
    passed: bool
    kind: str = "check"  # "check": a check's limit over its phase; "bound": a generator bound


_Bound = tuple[float, str, bool]  # a horizontal limit over the whole drill: value, label, held


@dataclass(frozen=True)
class Tick:
    """An axis tick: position in SVG units and its label."""

    pos: float
    label: str


@dataclass(frozen=True)
class Hover:
    """An invisible bucket-wide rectangle whose tooltip lists the bucket's values."""

    x: float
    width: float
    title: str


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw one chart."""

    key: str
    title: str
    lines: list[Line]
    bands: list[Band]
    markers: list[Marker]
    phase_labels: list[Tick]
    xticks: list[Tick]
    yticks: list[Tick]
    hovers: list[Hover] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


@dataclass(frozen=True)
class _Spec:
    key: str
    label: str
    colour: str
    values: Sequence[float | None]
    filled: bool = False
    width: float = 2.0


def build_charts(report: RunReport) -> list[Chart]:
    """Return the latency, throughput and ratio charts of ``report``, in that order.

    When the load generator's health was recorded, its event-loop lag and CPU follow.
    """
    s = report.series
    latency = [
        _Spec("p50", "p50", "#9ec5f8", s.p50_ms, width=1.5),
        _Spec("p95", "p95", "#2f6fd0", s.p95_ms),
        _Spec("p99", "p99", "#0b2e6b", s.p99_ms, width=2.5),
    ]
    throughput = [_Spec("rps", "requests/s", "#3d8b5f", s.rps, filled=True)]
    ratios = [
        _Spec("error", "errors", "#cf222e", [v * 100 for v in s.error_ratio], width=2.5),
        _Spec("fallback", "fallback", "#d9822b", [v * 100 for v in s.fallback_ratio]),
        _Spec("shed", "shed", "#8250df", [v * 100 for v in s.shed_ratio]),
    ]
    return [
        _chart(report, "latency", "Latency (ms)", latency, "ms", check_unit="ms"),
        _chart(report, "throughput", "Throughput (requests/s)", throughput, "rps",
               check_unit="rps"),
        _chart(report, "ratios", "Errors, fallbacks and shed (% of requests)", ratios, "%",
               min_top=1.0, check_unit="ratio", check_scale=100.0),
        *_generator_charts(report),
    ]


def _generator_charts(report: RunReport) -> list[Chart]:
    """The load generator's worst event-loop lag and its CPU per bucket, each with its bound."""
    s, g = report.series, report.generator
    if g is None or not any(v is not None for v in s.generator_lag_ms):
        return []
    lag = [_Spec("generator-lag", "worst loop lag", "#6e40c9", s.generator_lag_ms)]
    cpu = [_Spec("generator-cpu", "CPU", "#8c6a00", s.generator_cpu_percent, filled=True)]
    whole = g.drill  # judged as the checks' notes are: worst lag, CPU over 1 s averages
    lag_held = whole is None or whole.lag_max_ms <= g.lag_limit_ms
    cpu_held = whole is None or whole.cpu_max_percent <= g.cpu_limit_percent
    return [
        _chart(report, "generator-lag", "Load generator: event-loop lag (ms)", lag, "ms",
               min_top=1.0, limits=[(g.lag_limit_ms, f"bound {g.lag_limit_ms:g} ms", lag_held)]),
        _chart(report, "generator-cpu", "Load generator: CPU (% of one core)", cpu, "%",
               min_top=10.0,
               limits=[(g.cpu_limit_percent, f"bound {g.cpu_limit_percent:g} % (1 s average)",
                        cpu_held)]),
    ]


def _chart(report: RunReport, key: str, title: str, specs: list[_Spec], unit: str,
           min_top: float = 0.0, check_unit: str = "", check_scale: float = 1.0,
           limits: Sequence[_Bound] = ()) -> Chart:
    duration = max(report.duration_s, report.series.t_s[-1] + report.series.bucket_s
                   if report.series.t_s else 0.0, 1e-9)
    phases = {p.name: p for p in report.phases}
    checks = [c for c in report.checks if c.unit == check_unit and c.phase in phases]
    peak = max((v for sp in specs for v in sp.values if v is not None), default=0.0)
    peak = max([peak, *(c.threshold * check_scale for c in checks), *(v for v, _, _ in limits)])
    y_top, y_ticks = nice_axis(max(peak, min_top))
    step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    tick_digits = 0 if float(step).is_integer() else max(0, -math.floor(math.log10(step % 1)))

    def show(v: float) -> str:  # tooltip values: one decimal more than the ticks
        return f"{v:,.{tick_digits + 1}f} {unit}"

    x = _scale(0.0, duration, LEFT, RIGHT)
    y = _scale(0.0, y_top, BOTTOM, TOP)
    centres = [t + report.series.bucket_s / 2 for t in report.series.t_s]
    lines = [_line(sp, centres, x, y) for sp in specs]
    return Chart(
        key=key,
        title=title,
        lines=lines,
        bands=_bands(report, x, duration),
        markers=_markers(report, x, duration),
        phase_labels=[Tick(x(p.start_s) + 4, p.name) for p in report.phases],
        xticks=[Tick(x(t), time_label(t, duration)) for t in nice_ticks(duration)],
        yticks=[Tick(y(v), f"{v:,.{tick_digits}f} {unit}") for v in y_ticks],
        hovers=_hovers(report, specs, x, show),
        thresholds=[
            Threshold(x(phases[c.phase].start_s), x(phases[c.phase].end_s),
                      y(c.threshold * check_scale), f"{c.name} {fmt.check_expectation(c)}",
                      c.passed)
            for c in checks if c.phase is not None
        ] + [Threshold(LEFT, RIGHT, y(v), label, held, "bound") for v, label, held in limits],
    )


def _line(spec: _Spec, centres: Sequence[float], x: Callable[[float], float],
          y: Callable[[float], float]) -> Line:
    segments: list[list[str]] = [[]]
    for t, v in zip(centres, spec.values, strict=False):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{x(t):.1f},{y(v):.1f}")
    runs = [" ".join(seg) for seg in segments if seg]
    area = None
    if spec.filled and len(runs) == 1 and centres:
        pts = runs[0].split(" ")
        first_x, last_x = pts[0].split(",")[0], pts[-1].split(",")[0]
        area = f"{first_x},{BOTTOM} {runs[0]} {last_x},{BOTTOM}"
    return Line(spec.key, spec.label, spec.colour, runs, area, spec.width)


def _bands(report: RunReport, x: Callable[[float], float], duration: float) -> list[Band]:
    bands = []
    for f in report.faults:
        start = f.applied_s if f.applied_s is not None else f.planned_start_s
        end = f.reverted_s if f.reverted_s is not None else (
            duration if f.applied_s is not None else f.planned_end_s)
        end = min(max(end, start), duration)
        title = (f"{f.fault} ({f.type} on proxy {f.proxy}, script {f.script}): "
                 f"{start:.1f}–{end:.1f} s")
        if f.reverted_s is None and f.applied_s is not None:
            title += " (never reverted!)"
        bands.append(Band(x(start), max(x(end) - x(start), 1.0), f.fault, title))
    return bands


def _markers(report: RunReport, x: Callable[[float], float], duration: float) -> list[Marker]:
    markers = [
        Marker("phase", x(p.start_s), "", f"phase {p.name} starts at {p.start_s:.1f} s")
        for p in report.phases if 0 < p.start_s < duration
    ]
    for t in report.timings:
        if t.failover_s is not None and t.failover_checked:
            at = t.fault_start_s + t.failover_s
            markers.append(Marker("failover", x(at), f"failover +{t.failover_s:.1f} s",
                                  f"{t.fault}: failover {t.failover_s:.2f} s after the fault "
                                  f"started (at {at:.1f} s)"))
        if t.recovery_s is not None and t.fault_end_s is not None:
            at = t.fault_end_s + t.recovery_s
            markers.append(Marker("recovery", x(at), f"recovered +{t.recovery_s:.1f} s",
                                  f"{t.fault}: recovered {t.recovery_s:.2f} s after the fault "
                                  f"ended (at {at:.1f} s)"))
    markers += [
        Marker("abort", x(e.t_s), "aborted", f"{e.t_s:.1f} s: {e.message}")
        for e in report.events if e.kind == "aborted"
    ]
    return markers


def _hovers(report: RunReport, specs: list[_Spec], x: Callable[[float], float],
            show: Callable[[float], str]) -> list[Hover]:
    series = report.series
    if len(series.t_s) > MAX_HOVER_BUCKETS:
        return []
    hovers = []
    for i, t in enumerate(series.t_s):
        parts = [f"{sp.label} {show(v)}" if (v := sp.values[i]) is not None else f"{sp.label} –"
                 for sp in specs if i < len(sp.values)]
        end = t + series.bucket_s
        hovers.append(Hover(x(t), max(x(end) - x(t), 0.5),
                            f"{t:g}–{end:g} s: " + ", ".join(parts)))
    return hovers


def _scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = (d1 - d0) or 1.0
    return lambda v: r0 + (v - d0) / span * (r1 - r0)


def nice_step(span: float, target_ticks: int = 5) -> float:
    """A 1/2/2.5/5 x 10^n step that cuts ``span`` into about ``target_ticks`` parts."""
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def nice_axis(peak: float) -> tuple[float, list[float]]:
    """Return a round axis top at or above ``peak`` and its ticks from 0."""
    peak = peak if peak > 0 else 1.0
    step = nice_step(peak * 1.05, 4)
    top = math.ceil(peak * 1.05 / step) * step
    return top, [i * step for i in range(int(round(top / step)) + 1)]


def nice_ticks(duration: float) -> list[float]:
    """Ticks along the time axis, from 0 to ``duration``."""
    step = nice_step(duration, 8)
    if duration > 120:
        step = max(step, 30.0)
    n = int(duration // step)
    return [i * step for i in range(n + 1)]


def time_label(t: float, duration: float) -> str:
    """Label a time tick: ``25 s`` for short drills, ``m:ss`` for long ones."""
    if duration <= 120:
        return f"{t:g} s"
    return f"{int(t // 60)}:{int(t % 60):02d}"
