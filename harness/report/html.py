"""report.html: one self-contained page (inline CSS and SVG, no script, no fetch)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import jinja2
from markupsafe import Markup

from harness.report import errors, fmt
from harness.report.charts import build_charts
from harness.report.endpoints import build_small_multiples
from harness.report.lanes import build_lanes
from harness.report.verdicts import STYLES, style
from harness.results.model import EventKind, Outcome, RunReport

# Timeline rows worth a colour: the moments a reader looks for first.
EVENT_TONES: dict[EventKind, str] = {
    EventKind.FAULT_APPLIED: "bad",
    EventKind.FAULT_REVERTED: "info",
    EventKind.FAULT_REVERT_FAILED: "bad",
    EventKind.ABORTED: "bad",
    EventKind.INFRASTRUCTURE_ERROR: "bad",
    EventKind.FAILOVER: "good",
    EventKind.RECOVERY: "good",
    EventKind.SERVER_STATE: "warn",
    EventKind.PHASE_STARTED: "muted",
    EventKind.PHASE_ENDED: "muted",
    EventKind.RUN_STARTED: "muted",
    EventKind.RUN_ENDED: "muted",
}


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(value=fmt.value, percent=fmt.percent, ms=fmt.ms, seconds=fmt.seconds)
    env.globals.update(fmt=fmt, verdict_style=style, styles=STYLES, event_tones=EVENT_TONES)
    return env


def render(report: RunReport) -> str:
    """Return report.html for ``report`` as a string."""
    failed = [c for c in report.checks if not c.passed]
    metric_names = sorted({name for s in report.server_samples for name in s.values})
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            r=report,
            v=style(report.verdict),
            failed=failed,
            charts=build_charts(report) if report.series.t_s else [],
            lanes=build_lanes(report) if report.series.t_s else None,
            endpoint_rows=build_small_multiples(report),
            metric_names=metric_names,
            error_lines=errors.report_lines(report),
            errors_unrecorded=any(
                p.outcome_counts.get(Outcome.ERROR) and not p.errors for p in report.phases
            ),
            rows_per_phase=errors.ROWS_PER_PHASE,
            css=Markup(_css()),
        )
        .rstrip()
        + "\n"
    )


@cache
def _css() -> str:
    return resources.files("harness.report").joinpath("templates/report.css").read_text("utf-8")
