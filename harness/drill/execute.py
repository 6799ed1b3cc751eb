"""Plan, run, analyse and report a drill: the one call behind ``harness run``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.drill.analysis import build_report
from harness.drill.live import LiveStatus
from harness.drill.model import Drill, TargetSpec
from harness.drill.plan import plan_drill
from harness.drill.runner import RunSettings, run_plan
from harness.errors import ResultsWriteError
from harness.report.writer import write_reports
from harness.results.files import new_run_dir
from harness.results.model import RunReport
from harness.validation import validate


def run_and_report(
    drill: Drill,
    *,
    drill_file: Path | None = None,
    reports_dir: Path = Path("reports"),
    run_id: str | None = None,
    target_url: str | None = None,
    toxiproxy_url: str | None = None,
    allow_remote: bool = False,
    on_tick: Callable[[LiveStatus], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> tuple[RunReport, Path]:
    """Run ``drill`` and write every report format; returns the report and the run directory.

    ``on_warning`` hears what planning found worth a look but not wrong for sure. A
    ``run_id`` whose folder exists is refused before anything is touched."""
    if run_id is not None:
        new_run_dir(reports_dir, run_id)
    if target_url:
        drill = with_target_url(drill, target_url)
    plan = plan_drill(drill, drill_file=drill_file, allow_remote=allow_remote)
    for warning in plan.warnings if on_warning is not None else ():
        on_warning(warning)
    settings = RunSettings(
        reports_dir=reports_dir, run_id=run_id, toxiproxy_url=toxiproxy_url, on_tick=on_tick
    )
    run_dir = run_plan(plan, settings)
    report = build_report(run_dir)
    try:
        write_reports(report, run_dir)
    except OSError as exc:
        raise ResultsWriteError(
            f"the drill ended ({report.verdict.value}) but its reports could not be written to "
            f"{run_dir} ({exc.strerror or exc}) - the raw data is kept in {run_dir / 'raw'}: "
            f"once the disk takes writes again, `harness report {run_dir}` rebuilds them"
        ) from exc
    return report, run_dir


def with_target_url(drill: Drill, url: str) -> Drill:
    """``drill`` aimed at ``url`` (``--target-url``), validated like the drill file's own URL."""
    target = validate(
        TargetSpec, {**drill.target.model_dump(), "url": url}, source=f"--target-url {url!r}"
    )
    return drill.model_copy(update={"target": target})
