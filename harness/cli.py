"""``harness``: run drills, validate them, rebuild and compare reports, clean up faults.

The only module of the harness that calls ``sys.exit``. Exit codes:
0 pass, 1 an SLA check failed, 2 invalid input, 3 infrastructure error or
inconclusive, 4 aborted. User errors print as sentences, never tracebacks.

``run`` and ``demo`` handle SIGINT and SIGTERM from their first line until the
process exits (:mod:`harness.signals`), so this module imports nothing heavy at
the top: the handler is in place about as soon as Python has started.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from harness.errors import AbortRequested, HarnessError, InfrastructureError, InputError
from harness.signals import STOP

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INFRA, EXIT_ABORTED = 0, 1, 2, 3, 4
VERDICT_EXIT = {  # keyed by harness.results.model.Verdict's values (a StrEnum)
    "pass": EXIT_PASS,
    "fail": EXIT_FAIL,
    "inconclusive": EXIT_INFRA,
    "aborted": EXIT_ABORTED,
}
DEMO_DRILL = Path(__file__).resolve().parents[1] / "drills" / "orders-primary-outage.yaml"

EXAMPLES = {
    "run": "harness run drills/orders-primary-outage.yaml --target-url http://127.0.0.1:8080",
    "validate": "harness validate drills/*.yaml",
    "schema": "harness schema > drill.schema.json",
    "report": "harness report reports/20261123T101500Z-orders-primary-outage-1a2b3c",
    "compare": "harness compare baseline/report.json reports/20261123T101500Z-orders-primary-outage-1a2b3c --latency-pct 10",
    "cleanup": "harness cleanup --toxiproxy-url http://127.0.0.1:8474",
    "demo": "harness demo",
    "system": "harness system up --port 8080 --toxiproxy http://127.0.0.1:8474",
    "toxiproxy": "harness toxiproxy --port 8474",
    "worker": "harness worker --master-host 10.0.0.5 --master-port 5557 --scenario scenarios/customer_journeys.py",
}


def _example(name: str) -> str:
    return f"example:\n  {EXAMPLES[name]}"


def _command(
    sub: argparse._SubParsersAction, name: str, help_text: str, more: str = ""
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help_text,
        description=help_text + (f"\n\n{more}" if more else ""),
        epilog=_example(name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Load and resilience drills for customer-service systems.",
        epilog="exit codes: 0 pass, 1 SLA breached, 2 invalid input, 3 infrastructure error "
        "or inconclusive, 4 aborted",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = _command(sub, "run", "run a drill and write its report")
    run.add_argument("drill", type=Path, help="drill file (YAML)")
    _add_run_options(run)

    validate = _command(sub, "validate", "validate drill files (and the fault scripts they use)")
    validate.add_argument("drills", type=Path, nargs="+", help="drill files (YAML)")

    _command(sub, "schema", "print the JSON Schema of drill files, for editors")

    report = _command(sub, "report", "rebuild every report format of a run from its raw results")
    report.add_argument("run_dir", type=Path, help="run directory (reports/<run-id>) with raw/")

    compare = _command(
        sub,
        "compare",
        "compare a candidate run with a baseline; exit 1 on regression",
        "A figure is a regression when it moved beyond its tolerance below AND beyond the\n"
        "run-to-run spread: p95/p99 when the runs' 99 % confidence intervals (from each\n"
        "phase's latency histogram in raw/metrics.jsonl) do not overlap; a ratio or the\n"
        "throughput when a one-sided test on the counts clears p < 0.001 shared over the\n"
        "figures compared. Runs of different drill definitions are compared with a\n"
        "warning. See docs/reports.md.",
    )
    compare.add_argument(
        "baseline", type=Path, help="the reference run: run directory or report.json"
    )
    compare.add_argument(
        "candidate", type=Path, help="the run judged: run directory or report.json"
    )
    compare.add_argument(
        "--latency-pct",
        type=float,
        default=10.0,
        help="allowed p95/p99 rise, %% (default: %(default)g)",
    )
    compare.add_argument(
        "--latency-floor-ms",
        type=float,
        default=5.0,
        help="ignore p95/p99 rises smaller than this, ms (default: %(default)g)",
    )
    compare.add_argument(
        "--error-ratio",
        type=float,
        default=0.01,
        help="allowed error-ratio rise, absolute share (default: %(default)g)",
    )
    compare.add_argument(
        "--fallback-ratio",
        type=float,
        default=0.05,
        help="allowed fallback-ratio rise, absolute share (default: %(default)g)",
    )
    compare.add_argument(
        "--shed-ratio",
        type=float,
        default=0.02,
        help="allowed shed-ratio rise, absolute share (default: %(default)g)",
    )
    compare.add_argument(
        "--rps-pct",
        type=float,
        default=10.0,
        help="allowed throughput drop, %% (default: %(default)g)",
    )
    compare.add_argument(
        "--timing-s",
        type=float,
        default=1.0,
        help="allowed failover/recovery rise, s (default: %(default)g)",
    )
    compare.add_argument("--markdown", type=Path, help="also write the comparison as Markdown here")

    cleanup = _command(sub, "cleanup", "remove faults left by drills that were killed")
    cleanup.add_argument(
        "--toxiproxy-url",
        default="http://127.0.0.1:8474",
        help="Toxiproxy API to clean (default: %(default)s)",
    )
    cleanup.add_argument("--run-id", help="only this run's faults (default: runs no longer alive)")
    cleanup.add_argument(
        "--force-unowned",
        action="store_true",
        help="also remove harness toxics of runs that have no ledger here (see docs/faults.md)",
    )

    demo = _command(sub, "demo", "start the reference system and Toxiproxy, run a failover drill")
    demo.add_argument(
        "--drill",
        type=Path,
        default=DEMO_DRILL,
        help="drill to run (default: drills/orders-primary-outage.yaml)",
    )
    demo.add_argument("--reports-dir", type=Path, default=Path("reports"), help=REPORTS_DIR_HELP)
    demo.add_argument(
        "--live", choices=["auto", "rich", "plain", "off"], default="auto", help=LIVE_HELP
    )

    system = _command(sub, "system", "start/stop the reference customer-service system")
    system.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="up | down | status | restart and their options "
        "(`harness system --help`, `harness system up --help`)",
    )
    proxy = _command(sub, "toxiproxy", "serve the embedded Toxiproxy-compatible server")
    proxy.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="the server's options (`harness toxiproxy --help` lists them)",
    )

    worker = _command(sub, "worker", "run a Locust worker for a drill whose load.workers > 0")
    worker.add_argument("--master-host", default="127.0.0.1", help="host running `harness run`")
    worker.add_argument("--master-port", type=int, default=5557, help="its HARNESS_MASTER_PORT")
    worker.add_argument("--scenario", required=True, help="the drill's locustfile: path or name")
    worker.add_argument("--user-classes", nargs="*", default=[], help="default: all in the file")
    worker.add_argument("--exit-with-parent", type=int, help=argparse.SUPPRESS)
    return parser


REPORTS_DIR_HELP = "where run directories are written (default: reports)"
LIVE_HELP = "live view: rich panel on a terminal, plain lines elsewhere, or off (default: auto)"


def _add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--target-url", help="override target.url of the drill")
    run.add_argument("--toxiproxy-url", help="override toxiproxy.url ('embedded' starts one)")
    run.add_argument("--reports-dir", type=Path, default=Path("reports"), help=REPORTS_DIR_HELP)
    run.add_argument("--run-id", help="name of the run directory (default: time, drill, random)")
    run.add_argument("--allow-remote", action="store_true", help="allow non-loopback targets")
    run.add_argument(
        "--live", choices=["auto", "rich", "plain", "off"], default="auto", help=LIVE_HELP
    )


def _parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; what follows ``system``/``toxiproxy`` goes to that tool untouched.

    argparse's REMAINDER does not take a first argument that looks like an option,
    so ``harness toxiproxy --port 8474`` would be a usage error without this.
    """
    parser = _parser()
    command = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if command is not None and argv[command] in _PASSTHROUGH:
        args = parser.parse_args(argv[: command + 1])
        args.args = argv[command + 1 :]  # --help too: the tool's own help, under our name
        return args
    return parser.parse_args(argv)


_PASSTHROUGH = {"system", "toxiproxy"}


def main(argv: list[str] | None = None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.command in _INJECTS_FAULTS:
        STOP.install()  # first: also when SIGINT came in ignored; kept until exit
    if args.command in _RUNS_LOAD:
        from harness.load import prepare_process

        prepare_process()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Callable[[argparse.Namespace], int] = _HANDLERS[args.command]
    try:
        code = handler(args)
    except InputError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        code = EXIT_INPUT
    except AbortRequested as exc:
        print(f"harness: {exc}", file=sys.stderr)
        code = EXIT_ABORTED
    except InfrastructureError as exc:
        print(f"harness: infrastructure error: {exc}", file=sys.stderr)
        code = EXIT_INFRA
    except HarnessError as exc:
        print(f"harness: {exc}", file=sys.stderr)
        code = EXIT_INFRA
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        code = EXIT_ABORTED
    if STOP.received and code != EXIT_ABORTED:
        print(
            f"harness: {STOP.received} arrived after the drill had ended: its reports are "
            "complete and the exit code is its verdict's",
            file=sys.stderr,
        )
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
    from harness.drill.loader import load_drill

    drill = load_drill(args.drill)
    return _run_drill(
        drill,
        drill_file=args.drill,
        reports_dir=args.reports_dir,
        run_id=args.run_id,
        target_url=args.target_url,
        toxiproxy_url=args.toxiproxy_url,
        allow_remote=args.allow_remote,
        live=args.live,
    )


def _run_drill(
    drill, *, drill_file, reports_dir, run_id, target_url, toxiproxy_url, allow_remote, live
):  # noqa: ANN001, ANN202
    from harness.console import LiveView, print_verdict
    from harness.drill.execute import run_and_report

    with LiveView(live) as view:
        report, run_dir = run_and_report(
            drill,
            drill_file=drill_file,
            reports_dir=reports_dir,
            run_id=run_id,
            target_url=target_url,
            toxiproxy_url=toxiproxy_url,
            allow_remote=allow_remote,
            on_tick=view,
            on_warning=_print_warning,
        )
    print_verdict(report, str(run_dir))
    return VERDICT_EXIT[report.verdict]


def _print_warning(message: str) -> None:
    print(f"harness: warning: {message}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    """Every file is checked and reported, whatever another one does (a harness bug met on
    one file is named and the next file is still checked)."""
    failed = 0
    probed: dict[tuple, InputError | None] = {}  # scenarios imported once per run
    for path in args.drills:
        try:
            plan = _validate_one(path, probed)
        except InputError as exc:
            failed += 1
            print(f"harness: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # noqa: BLE001 - a bug must not hide the other files' results
            failed += 1
            print(
                f"harness: {path}: could not be validated because of a harness bug "
                f"({type(exc).__name__}: {exc}); please report it with the file",
                file=sys.stderr,
            )
            continue
        for warning in plan.warnings:
            _print_warning(warning)
        print(
            f"{path}: ok ({len(plan.drill.phases)} phases, {plan.drill.duration_s:g} s, "
            f"{len(plan.faults)} fault windows)"
        )
    return EXIT_INPUT if failed else EXIT_PASS


def _validate_one(path: Path, probed: dict[tuple, InputError | None]):  # noqa: ANN202
    """The plan of one drill file, its scenario imported in a child process with a time limit."""
    from harness.drill.loader import load_drill
    from harness.drill.plan import plan_drill
    from harness.load.probe import probe_user_classes
    from harness.validation import locate, read_yaml

    plan = plan_drill(load_drill(path), drill_file=path, allow_remote=True)
    key = (plan.scenario_path, tuple(plan.drill.load.user_classes))
    if key not in probed:
        try:
            probe_user_classes(plan.scenario_path, plan.drill.load.user_classes)
            probed[key] = None
        except InputError as exc:
            probed[key] = exc
    if probed[key] is not None:
        where = locate(read_yaml(path)[1], ["load", "scenario"], str(path))
        raise InputError(f"{where}: load.scenario: {probed[key]}")
    return plan


def _schema(args: argparse.Namespace) -> int:
    from harness.drill.loader import drill_json_schema

    print(drill_json_schema())
    return EXIT_PASS


def _report(args: argparse.Namespace) -> int:
    from harness.console import print_verdict
    from harness.drill.analysis import build_report
    from harness.report.writer import write_reports

    report = build_report(args.run_dir)
    paths = write_reports(report, args.run_dir)
    print_verdict(report, str(args.run_dir))
    print("rebuilt: " + ", ".join(str(p) for p in paths.values()))
    return VERDICT_EXIT[report.verdict]


def _run_dir(path: Path) -> Path:
    """The run directory of a report path (a directory, or its report.json)."""
    return path if path.is_dir() else path.parent


def _compare(args: argparse.Namespace) -> int:
    from harness.report.compare import Tolerances, compare, load_report

    tolerances = Tolerances(
        latency_rel=args.latency_pct / 100,
        latency_floor_ms=args.latency_floor_ms,
        error_ratio_abs=args.error_ratio,
        rps_drop_rel=args.rps_pct / 100,
        fallback_ratio_abs=args.fallback_ratio,
        shed_ratio_abs=args.shed_ratio,
        failover_slack_s=args.timing_s,
        recovery_slack_s=args.timing_s,
    )
    comparison = compare(
        load_report(args.baseline),
        load_report(args.candidate),
        tolerances,
        _run_dir(args.baseline),
        _run_dir(args.candidate),
    )
    print(comparison.to_text())
    if args.markdown:
        args.markdown.write_text(comparison.to_markdown(), encoding="utf-8")
    return EXIT_PASS if comparison.ok else EXIT_FAIL


def _cleanup(args: argparse.Namespace) -> int:
    from harness.drill.plan import ledger_dir
    from harness.drill.preflight import stop_orphaned_toxiservers
    from harness.faults.adapter import ToxiproxyAdapter
    from harness.faults.injector import sweep_leftovers
    from harness.faults.local import run_pending_reverts

    for line in run_pending_reverts(ledger_dir(), run_id=args.run_id):
        print(f"reverted: {line}")  # process and command faults: this host, no server needed
    stopped = stop_orphaned_toxiservers()  # embedded servers whose drill is gone
    try:
        sweep = sweep_leftovers(
            ToxiproxyAdapter(args.toxiproxy_url),
            ledger_dir=ledger_dir(),
            run_id=args.run_id,
            force_unowned=args.force_unowned,
        )
    except InfrastructureError:
        for line in stopped:
            print(f"removed: {line}")
        raise
    removed = stopped + sweep.removed
    print("removed: " + ", ".join(removed) if removed else "nothing to remove")
    for line in sweep.unowned:
        print(f"not removed: {line}")
    return EXIT_PASS


def _demo(args: argparse.Namespace) -> int:
    from harness.demo import reference_environment
    from harness.drill.loader import load_drill

    drill = load_drill(args.drill)
    print(f"starting the reference system and the embedded Toxiproxy for {args.drill} ...")
    with reference_environment(args.reports_dir / ".demo-system") as env:
        print(f"target {env.target_url}, Toxiproxy {env.toxiproxy_url}; running the drill")
        return _run_drill(
            drill,
            drill_file=args.drill,
            reports_dir=args.reports_dir,
            run_id=None,
            target_url=env.target_url,
            toxiproxy_url=env.toxiproxy_url,
            allow_remote=False,
            live=args.live,
        )


def _system(args: argparse.Namespace) -> int:
    from helpdesk.cli import main as helpdesk_main

    helpdesk_main(args.args, prog="harness system", epilog=_example("system"))
    return EXIT_PASS


def _toxiproxy(args: argparse.Namespace) -> int:
    from toxiserver.cli import main as toxiserver_main

    toxiserver_main(args.args, prog="harness toxiproxy", epilog=_example("toxiproxy"))
    return EXIT_PASS


def _worker(args: argparse.Namespace) -> int:
    from harness.drill.plan import resolve_scenario
    from harness.load.worker import run_worker

    run_worker(
        master_host=args.master_host,
        master_port=args.master_port,
        scenario=resolve_scenario(args.scenario, search_dirs=[Path.cwd() / "scenarios"]),
        user_classes=args.user_classes,
        exit_with_parent=args.exit_with_parent,
        # a worker the harness started itself is quiet; one started by hand says what it waits for
        announce=None if args.exit_with_parent else _say,
    )
    return EXIT_PASS


def _say(message: str) -> None:
    print(f"harness worker: {message}", file=sys.stderr, flush=True)


_RUNS_LOAD = {"run", "demo", "validate", "worker"}
_INJECTS_FAULTS = {"run", "demo"}
_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run,
    "validate": _validate,
    "schema": _schema,
    "report": _report,
    "compare": _compare,
    "cleanup": _cleanup,
    "demo": _demo,
    "system": _system,
    "toxiproxy": _toxiproxy,
    "worker": _worker,
}
