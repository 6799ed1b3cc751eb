"""Chart geometry for report.html: series in, SVG coordinates out (drawn by charts.html.j2).

Charts are computed here and drawn as inline SVG by a template, so the page needs no
JavaScript and every mark (line, fault band, marker) is an element tests can find.

Three rules keep a real run readable (docs/reports.md, "Reading the charts"):

- the value axis scales to the data drawn; a limit far above it is marked at the top
  edge with its value (``↑``) instead of stretching the axis; percentages stop at 100 %;
- buckets are merged for display into points of at least ``MIN_POINT_S`` and about
  ``MIN_POINT_REQUESTS`` requests, so a sparse run does not saw-tooth between 0 and a peak;
- each check's limit is drawn on the chart of its own metric (a p95 limit on the latency
  chart, an error ratio limit on the ratio chart); limits on a figure no chart draws (an
  availability, a ratio on a subset of endpoints) are left to the checks table. Labels
  are placed by a collision pass so none overlaps another.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.report import fmt
from harness.results.model import CheckResult, RunReport

WIDTH, HEIGHT = 1200, 250
LEFT, RIGHT, TOP, BOTTOM = 70, 1180, 30, 222  # plot area inside the viewBox
MAX_HOVER_BUCKETS = 600  # above this, no per-point tooltips (keeps the file small)
MIN_POINT_S = 1.0  # a drawn point spans at least this long
MIN_POINT_REQUESTS = 10  # ... and about this many requests on average
MAX_POINTS = 300  # ... and a long drill is drawn with at most this many points
AXIS_KEEP_LIMIT = 1.5  # a limit up to this factor over the data's peak stays on the axis
LABEL_H = 13.0  # a label's height in SVG units (11-12 px text)


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
class Label:
    """A text placed on the chart: anchor point, text-anchor and the box it covers."""

    x: float
    y: float  # baseline
    text: str
    anchor: str = "start"  # "start" or "end"
    size: float = 12.0
    bold: bool = False

    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) in SVG units, estimated from the text's length."""
        w = len(self.text) * self.size * (0.62 if self.bold else 0.56)
        x0 = self.x - w if self.anchor == "end" else self.x
        return (x0, self.y - self.size, x0 + w, self.y + 3)

    def moved(self, y: float) -> Label:
        return Label(self.x, y, self.text, self.anchor, self.size, self.bold)


@dataclass(frozen=True)
class Band:
    """A shaded interval: a fault window."""

    x: float
    width: float
    label: str
    title: str
    text: Label | None = None


@dataclass(frozen=True)
class Marker:
    """A vertical line: a phase boundary, a failover or a recovery moment."""

    kind: str  # "phase", "failover", "recovery", "abort", "probe"
    x: float
    label: str
    title: str
    text: Label | None = None


@dataclass(frozen=True)
class Threshold:
    """A check's limit drawn as a horizontal segment over its phase."""

    x1: float
    x2: float
    y: float
    label: str
    passed: bool
    kind: str = "check"  # "check": a check's limit over its phase; "bound": a generator bound
    series: str = ""  # the series the limit applies to (data-series of its line)
    off_scale: bool = False  # above the axis: drawn at the top edge, with its value
    text: Label | None = None


_Bound = tuple[float, str, bool]  # a horizontal limit over the whole drill: value, label, held


@dataclass(frozen=True)
class Tick:
    """An axis tick: position in SVG units and its label."""

    pos: float
    label: str


@dataclass(frozen=True)
class Hover:
    """An invisible point-wide rectangle whose tooltip lists the point's values."""

    x: float
    width: float
    title: str


@dataclass(frozen=True)
class Frame:
    """A chart's viewBox (``width`` x ``height``) and its plot area inside it."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int


FRAME = Frame(WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM)  # the main charts'


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
    point_s: float = 0.0  # the span of one drawn point
    y_top: float = 0.0  # the axis top, in the chart's unit
    frame: Frame = FRAME


@dataclass(frozen=True)
class _Spec:
    key: str
    label: str
    colour: str
    values: Sequence[float | None]
    filled: bool = False
    width: float = 2.0


@dataclass(frozen=True)
class Points:
    """The series merged for display: ``k`` buckets a point."""

    t_s: list[float]
    width_s: float
    rps: list[float]
    p50_ms: list[float | None]
    p95_ms: list[float | None]
    p99_ms: list[float | None]
    error_pct: list[float | None]
    fallback_pct: list[float | None]
    shed_pct: list[float | None]
    lag_ms: list[float | None]
    cpu_percent: list[float | None]
    load_level: list[float | None] = field(default_factory=list)
    users: list[float | None] = field(default_factory=list)


def buckets_per_point(bucket_s: float, rps: Sequence[float]) -> int:
    """How many buckets one drawn point merges: >= MIN_POINT_S, ~MIN_POINT_REQUESTS requests."""
    if bucket_s <= 0 or not rps:
        return 1
    k = max(1, math.ceil(MIN_POINT_S / bucket_s - 1e-9))
    mean_requests = sum(rps) * bucket_s / len(rps)
    if mean_requests > 0:
        k = max(k, math.ceil(MIN_POINT_REQUESTS / mean_requests - 1e-9))
    return max(k, math.ceil(len(rps) / MAX_POINTS))


def resample(report: RunReport) -> Points:
    """Merge buckets into display points: counts summed, ratios and percentiles weighted by requests.

    A merged percentile is the request-weighted mean of the buckets' percentiles (the
    buckets' histograms are not in report.json); the generator's lag and CPU keep the worst.
    """
    s = report.series
    k = buckets_per_point(s.bucket_s, s.rps)
    n = [r * s.bucket_s for r in s.rps]
    groups = [range(i, min(i + k, len(s.t_s))) for i in range(0, len(s.t_s), k)]

    def weighted(values: Sequence[float | None], scale: float = 1.0) -> list[float | None]:
        out: list[float | None] = []
        for g in groups:
            pairs = [(values[i], n[i]) for i in g if i < len(values) and values[i] is not None]
            total = sum(w for _, w in pairs)
            out.append(sum(v * w for v, w in pairs) / total * scale if total > 0 else None)
        return out

    def mean(values: Sequence[float | None]) -> list[float | None]:
        picked = [[values[i] for i in g if i < len(values) and values[i] is not None]
                  for g in groups]
        return [sum(v) / len(v) if v else None for v in picked]  # type: ignore[misc]

    def worst(values: Sequence[float | None]) -> list[float | None]:
        picked = [[values[i] for i in g if i < len(values) and values[i] is not None]
                  for g in groups]
        return [max(v) if v else None for v in picked]  # type: ignore[type-var]

    return Points(
        t_s=[s.t_s[g[0]] for g in groups],
        width_s=k * s.bucket_s,
        rps=[sum(n[i] for i in g) / (len(g) * s.bucket_s) for g in groups],
        p50_ms=weighted(s.p50_ms),
        p95_ms=weighted(s.p95_ms),
        p99_ms=weighted(s.p99_ms),
        error_pct=weighted(s.error_ratio, 100.0),
        fallback_pct=weighted(s.fallback_ratio, 100.0),
        shed_pct=weighted(s.shed_ratio, 100.0),
        lag_ms=worst(s.generator_lag_ms),
        cpu_percent=worst(s.generator_cpu_percent),
        load_level=mean(s.load_level) if s.load_level else [],
        users=mean(s.users) if s.users else [],
    )


def build_charts(report: RunReport) -> list[Chart]:
    """Return the latency, throughput and ratio charts of ``report``, in that order.

    The throughput chart carries the target arrival rate (open model); a closed model's
    users running follow it on their own chart, when the run recorded its load level.
    When the load generator's health was recorded, its event-loop lag and CPU follow.
    """
    p = resample(report)
    latency = [
        _Spec("p50", "p50", "#9ec5f8", p.p50_ms, width=1.5),
        _Spec("p95", "p95", "#2f6fd0", p.p95_ms),
        _Spec("p99", "p99", "#0b2e6b", p.p99_ms, width=2.5),
    ]
    throughput = [_Spec("rps", "requests/s", "#3d8b5f", p.rps, filled=True)]
    open_model = report.load.model == "open"
    if open_model and any(v is not None for v in p.load_level):
        throughput.append(_Spec("target-rate", "target arrivals/s", "#1b1f24", p.load_level,
                                width=1.5))
    ratios = [
        _Spec("error", "errors", "#cf222e", p.error_pct, width=2.5),
        _Spec("fallback", "fallback", "#d9822b", p.fallback_pct),
        _Spec("shed", "shed", "#8250df", p.shed_pct),
    ]
    return [
        _chart(report, p, "latency", "Latency (ms)", latency, "ms"),
        _chart(report, p, "throughput", "Throughput (requests/s)", throughput, "rps"),
        *_users_chart(report, p, open_model),
        _chart(report, p, "ratios", "Errors, fallbacks and shed (% of requests)", ratios, "%",
               min_top=1.0, max_top=100.0),
        *_generator_charts(report, p),
    ]


def _users_chart(report: RunReport, p: Points, open_model: bool) -> list[Chart]:
    """Closed model: the users running (and the level the shape asked for) per point."""
    if open_model or not any(v is not None for v in p.users):
        return []
    specs = [_Spec("users", "users running", "#0550ae", p.users, filled=True)]
    if any(v is not None for v in p.load_level):
        specs.append(_Spec("users-target", "users asked for", "#1b1f24", p.load_level, width=1.5))
    return [_chart(report, p, "users", "Load: users (closed model)", specs, "users",
                   min_top=1.0)]


def _generator_charts(report: RunReport, p: Points) -> list[Chart]:
    """The load generator's worst event-loop lag and its CPU per point, each with its bound."""
    g = report.generator
    if g is None or not any(v is not None for v in p.lag_ms):
        return []
    lag = [_Spec("generator-lag", "worst loop lag", "#6e40c9", p.lag_ms)]
    cpu = [_Spec("generator-cpu", "CPU", "#8c6a00", p.cpu_percent, filled=True)]
    whole = g.drill  # judged as the checks' notes are: worst lag, CPU over 1 s averages
    lag_held = whole is None or whole.lag_max_ms <= g.lag_limit_ms
    cpu_held = whole is None or whole.cpu_max_percent <= g.cpu_limit_percent
    return [
        _chart(report, p, "generator-lag", "Load generator: event-loop lag (ms)", lag, "ms",
               min_top=1.0,
               limits=[(g.lag_limit_ms, f"bound {fmt.value(g.lag_limit_ms, 'ms')}", lag_held)]),
        _chart(report, p, "generator-cpu", "Load generator: CPU (% of one core)", cpu, "%",
               min_top=10.0,
               limits=[(g.cpu_limit_percent,
                        f"bound {fmt.number(g.cpu_limit_percent)} % (1 s average)", cpu_held)]),
    ]


_PERCENTILE = re.compile(r"^p(\d+(?:\.\d+)?) latency")
_ON_ENDPOINTS = re.compile(r" on [^,]+, (?:within|breaching) ")


def limit_series(check: CheckResult) -> str | None:
    """The series key a check's limit belongs on, or None when no chart draws its metric.

    Latency checks go on their percentile's line (p50/p95/p99 only), error_rate,
    fallback_ratio and shed_ratio on their ratio's line, throughput on requests/s; a check
    restricted to some endpoints measures a figure the all-endpoint charts do not show.
    """
    if check.phase is None or _ON_ENDPOINTS.search(check.detail):
        return None
    if check.type == "latency":
        m = _PERCENTILE.match(check.detail)
        key = f"p{float(m.group(1)):g}" if m and "corrected" not in check.detail[:40] else None
        return key if key in ("p50", "p95", "p99") else None
    return {"error_rate": "error", "fallback_ratio": "fallback", "shed_ratio": "shed",
            "throughput": "rps"}.get(check.type)


def _chart(report: RunReport, p: Points, key: str, title: str, specs: list[_Spec], unit: str,
           min_top: float = 0.0, max_top: float | None = None,
           limits: Sequence[_Bound] = ()) -> Chart:
    duration = max(report.duration_s, p.t_s[-1] + p.width_s if p.t_s else 0.0, 1e-9)
    phases = {ph.name: ph for ph in report.phases}
    keys = {sp.key for sp in specs}
    scale = 100.0 if unit == "%" else 1.0
    checks = [(c, s) for c in report.checks
              if (s := limit_series(c)) in keys and c.phase in phases]
    peak = max((v for sp in specs for v in sp.values if v is not None), default=0.0)
    wanted = [c.threshold * scale for c, _ in checks] + [v for v, _, _ in limits]
    near = [v for v in wanted if v <= max(peak, min_top) * AXIS_KEEP_LIMIT]
    y_top, y_ticks = nice_axis(max([peak, min_top, *near]), max_top)
    step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    tick_digits = 0 if float(step).is_integer() else max(0, -math.floor(math.log10(step % 1)))

    def show(v: float) -> str:
        return f"{fmt.number(v)} {unit}"

    x = linear_scale(0.0, duration, LEFT, RIGHT)
    y = linear_scale(0.0, y_top, BOTTOM, TOP)
    centres = [t + p.width_s / 2 for t in p.t_s]
    names = {sp.key: sp.label for sp in specs}
    thresholds = [
        _threshold(x(phases[c.phase].start_s), x(phases[c.phase].end_s), c.threshold * scale,
                   f"{names[s]} {fmt.check_expectation(c)}", c.passed, "check", s, y, y_top,
                   f"check '{c.name}' ({c.phase}): {fmt.check_expectation(c)}")
        for c, s in checks if c.phase is not None
    ] + [_threshold(LEFT, RIGHT, v, label, held, "bound", specs[0].key, y, y_top)
         for v, label, held in limits]
    bands, markers, thresholds = place_labels(
        fault_bands(report, x, duration), timing_markers(report, x, duration), thresholds)
    return Chart(
        key=key,
        title=title,
        lines=[_line(sp, centres, x, y) for sp in specs],
        bands=bands,
        markers=markers,
        phase_labels=[Tick(x(ph.start_s) + 4, ph.name) for ph in report.phases],
        xticks=[Tick(x(t), time_label(t, duration)) for t in nice_ticks(duration)],
        yticks=[Tick(y(v), f"{v:,.{tick_digits}f} {unit}") for v in y_ticks],
        hovers=_hovers(p, specs, x, show),
        thresholds=thresholds,
        point_s=p.width_s,
        y_top=y_top,
    )


def _threshold(x1: float, x2: float, v: float, label: str, passed: bool, kind: str,
               series: str, y: Callable[[float], float], y_top: float,
               title: str = "") -> Threshold:
    off = v > y_top
    text = f"↑ {label} (off scale)" if off else label
    ty = TOP if off else y(v)
    lab = Label(x2 - 6, ty + (LABEL_H if off else -5), text, "end", 11.0, not passed)
    if lab.box()[0] < LEFT + 2:  # a short phase: start the label at the segment's start
        lab = Label(x1 + 6, lab.y, text, "start", 11.0, not passed)
    return Threshold(x1, x2, ty, title or label, passed, kind, series, off, lab)


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _free_y(label: Label, taken: list[tuple[float, float, float, float]], down: bool) -> Label:
    """The nearest position of ``label`` (moving down or up a label height) that overlaps nothing."""
    for i in range(0, 40):
        for sign in ((1, -1) if down else (-1, 1)):
            cand = label.moved(label.y + sign * i * LABEL_H / 2)
            y0, y1 = cand.box()[1], cand.box()[3]
            if y0 < TOP - 2 or y1 > BOTTOM + 2:
                continue
            if not any(_overlaps(cand.box(), t) for t in taken):
                return cand
    return label


def place_labels(bands: list[Band], markers: list[Marker],
                 thresholds: list[Threshold]) -> tuple[list[Band], list[Marker], list[Threshold]]:
    """Give every text a position where it overlaps no other: fault names first, then
    failover/recovery/abort labels, then limit labels, each moved to the nearest free row."""
    taken: list[tuple[float, float, float, float]] = []
    placed_bands = []
    for b in bands:
        lab = _free_y(Label(b.x + 6, TOP + 15, f"⚡ {b.label}", bold=True), taken, True)
        taken.append(lab.box())
        placed_bands.append(Band(b.x, b.width, b.label, b.title, lab))
    placed_markers = []
    for m in markers:
        if m.kind == "phase":
            placed_markers.append(m)
            continue
        lab = _free_y(Label(m.x + 5, TOP + 34, m.label, bold=True), taken, True)
        taken.append(lab.box())
        placed_markers.append(Marker(m.kind, m.x, m.label, m.title, lab))
    placed_thresholds = []
    for th in thresholds:
        assert th.text is not None
        lab = _free_y(th.text, taken, th.off_scale)
        taken.append(lab.box())
        placed_thresholds.append(Threshold(th.x1, th.x2, th.y, th.label, th.passed, th.kind,
                                           th.series, th.off_scale, lab))
    return placed_bands, placed_markers, placed_thresholds


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


def fault_bands(report: RunReport, x: Callable[[float], float], duration: float) -> list[Band]:
    """The shaded window of each fault on a time axis ``x`` (shared by every timeline figure)."""
    bands = []
    for f in report.faults:
        start = f.applied_s if f.applied_s is not None else f.planned_start_s
        end = f.reverted_s if f.reverted_s is not None else (
            duration if f.applied_s is not None else f.planned_end_s)
        end = min(max(end, start), duration)
        title = (f"fault {f.fault} ({f.type} on proxy {f.proxy}, fault script {f.script}): "
                 f"{fmt.seconds(start)} to {fmt.seconds(end)}")
        if f.reverted_s is None and f.applied_s is not None:
            title += " (never reverted!)"
        bands.append(Band(x(start), max(x(end) - x(start), 1.0), f.fault, title))
    return bands


def timing_markers(report: RunReport, x: Callable[[float], float], duration: float) -> list[Marker]:
    """Phase starts, failover and recovery as vertical markers on a time axis ``x``."""
    markers = [
        Marker("phase", x(p.start_s), "", f"phase {p.name} starts at {fmt.seconds(p.start_s)}")
        for p in report.phases if 0 < p.start_s < duration
    ]
    for t in report.timings:
        if t.failover_s is not None and t.failover_checked:
            at = t.fault_start_s + t.failover_s
            markers.append(Marker("failover", x(at), f"failover +{fmt.seconds(t.failover_s)}",
                                  f"{t.fault}: failover {fmt.seconds(t.failover_s)} after the "
                                  f"fault started (at {fmt.seconds(at)})"))
        if t.recovery_s is not None and t.fault_end_s is not None:
            at = t.fault_end_s + t.recovery_s
            markers.append(Marker("recovery", x(at), f"recovered +{fmt.seconds(t.recovery_s)}",
                                  f"{t.fault}: recovered {fmt.seconds(t.recovery_s)} after the "
                                  f"fault ended (at {fmt.seconds(at)})"))
    markers += [
        Marker("abort", x(e.t_s), "aborted", f"{fmt.seconds(e.t_s)}: {e.message}")
        for e in report.events if e.kind == "aborted"
    ]
    markers += [  # a probe starting to fail or passing again (harness.drill.probes)
        Marker("probe", x(e.t_s), f"{e.data['probe']} {'✗' if 'failing' in e.message else '✓'}",
               f"{fmt.seconds(e.t_s)}: {e.message}")
        for e in report.events if e.kind == "note" and "probe" in e.data and 0 <= e.t_s < duration
    ]
    return markers


def _hovers(p: Points, specs: list[_Spec], x: Callable[[float], float],
            show: Callable[[float], str]) -> list[Hover]:
    if len(p.t_s) > MAX_HOVER_BUCKETS:
        return []
    hovers = []
    for i, t in enumerate(p.t_s):
        parts = [f"{sp.label} {show(v)}" if (v := sp.values[i]) is not None else f"{sp.label} –"
                 for sp in specs if i < len(sp.values)]
        end = t + p.width_s
        hovers.append(Hover(x(t), max(x(end) - x(t), 0.5),
                            f"{fmt.number(t)}–{fmt.number(end)} s: " + ", ".join(parts)))
    return hovers


def linear_scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    """Map the domain [d0, d1] onto the range [r0, r1] (pixels)."""
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


def nice_axis(peak: float, max_top: float | None = None) -> tuple[float, list[float]]:
    """Return a round axis top at or above ``peak`` (at most ``max_top``) and its ticks from 0."""
    peak = peak if peak > 0 else 1.0
    if max_top is not None:
        peak = min(peak, max_top / 1.05)
    step = nice_step(peak * 1.05, 4)
    top = math.ceil(peak * 1.05 / step) * step
    if max_top is not None and top > max_top:
        top = max_top
    ticks = [i * step for i in range(int(round(top / step)) + 1) if i * step <= top + 1e-9]
    return top, ticks


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
