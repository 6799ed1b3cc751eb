"""``helpdesk up|down|status|restart``: start and stop the reference system from a shell.

The only place in the package that calls ``sys.exit``. Errors print one sentence.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from helpdesk.config import parse_mechanisms
from helpdesk.errors import ConfigError, HelpdeskError
from helpdesk.launcher import (
    SystemConfig,
    pid_alive,
    read_state,
    restart_dependency,
    start_system,
    stop_system,
)

STATE_DIR_HELP = "where pid files, logs and databases live (default: .helpdesk)"


def _parser(prog: str = "helpdesk", epilog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Start, stop and inspect the reference customer-service system.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = sub.add_parser("up", help="start the dependencies and the front",
                        description="start the dependencies and the front")
    up.add_argument("--port", type=int, default=8080, help="front port (0 = any free port)")
    up.add_argument("--host", default="127.0.0.1", help="front host (default: %(default)s)")
    up.add_argument("--toxiproxy", metavar="URL", help="route dependencies through Toxiproxy")
    up.add_argument("--disable", default="", metavar="LIST", help="e.g. failover,outbox")
    up.add_argument("--agents", type=int, default=2,
                    help="agent service processes (default: %(default)s)")
    up.add_argument("--state-dir", type=Path, default=Path(".helpdesk"), help=STATE_DIR_HELP)
    up.add_argument("--foreground", action="store_true", help="run until Ctrl-C, then stop")
    for name, text in (("down", "stop every process of the helpdesk of a state dir"),
                       ("status", "list the helpdesk's processes, their ports and if they run")):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--state-dir", type=Path, default=Path(".helpdesk"), help=STATE_DIR_HELP)
    restart = sub.add_parser(
        "restart", help="start a dependency that died again on its port, wait until it answers"
    )
    restart.add_argument("role", help="nlu, kb, orders_primary, orders_replica, tickets, agents")
    restart.add_argument("--state-dir", type=Path, default=Path(".helpdesk"), help=STATE_DIR_HELP)
    restart.add_argument("--timeout-s", type=float, default=20.0, help="readiness time limit")
    return parser


def _up(args: argparse.Namespace) -> int:
    if args.agents < 1:
        raise ConfigError(f"--agents must be at least 1, got {args.agents}")
    config = SystemConfig(
        state_dir=args.state_dir,
        host=args.host,
        front_port=args.port,
        toxiproxy_url=args.toxiproxy,
        disabled=parse_mechanisms(args.disable),
        agents=args.agents,
    )
    system = start_system(config)
    print(f"helpdesk front: {system.front_url}")
    if not args.foreground:
        print(f"stop it with: helpdesk down --state-dir {args.state_dir}")
        return 0
    print("running in the foreground; press Ctrl-C to stop")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        system.stop()
        print("helpdesk stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    state = read_state(args.state_dir)
    if state is None:
        print(f"no helpdesk runs from {args.state_dir}")
        return 1
    print(f"front: {state['front_url']}")
    for role, p in state["processes"].items():
        alive = p["pid"] > 0 and pid_alive(p["pid"])
        print(f"  {role:15} pid {p['pid']:>7}  port {p['port']:>5}  {'up' if alive else 'DOWN'}")
    return 0


def main(
    argv: list[str] | None = None, prog: str = "helpdesk", epilog: str | None = None
) -> None:
    """Entry point of the ``helpdesk`` console script (``prog``: the name in help and errors)."""
    args = _parser(prog, epilog).parse_args(argv)
    try:
        if args.command == "up":
            code = _up(args)
        elif args.command == "restart":
            pid = restart_dependency(args.state_dir, args.role, args.timeout_s)
            print(f"helpdesk {args.role} runs (pid {pid})")
            code = 0
        elif args.command == "down":
            stop_system(args.state_dir)
            print(f"helpdesk in {args.state_dir} stopped")
            code = 0
        else:
            code = _status(args)
    except ConfigError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        code = 2
    except HelpdeskError as exc:
        print(f"helpdesk: {exc}", file=sys.stderr)
        code = 3
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
