"""Command line: `toxiserver [--host H] [--port P] [--seed N] [--ready-file PATH]`.

`--parent-pid`, `--parent-fd` and `--state-file` tie the server to the process
that started it (see `toxiserver._lifeline`); `start_subprocess` passes them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from ._lifeline import Lifeline, this_server, write_record
from ._server import LOOPBACK_HOSTS, run_proxy_loop, serve


def build_parser(prog: str = "toxiserver", epilog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Embedded Toxiproxy-compatible server.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="API host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port, 0 = pick (8474)")
    parser.add_argument("--seed", type=int, default=None, help="seed for jitter/toxicity/slicer")
    parser.add_argument(
        "--ready-file", type=Path, default=None, help="write the real API port here once serving"
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="stop when this process (the one that started the server) is gone",
    )
    parser.add_argument(
        "--parent-fd",
        type=int,
        default=None,
        help="read end of a pipe; EOF means the parent is gone",
    )
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="write pid, owner and URL here while serving (for finding orphaned servers)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the API has no authentication)",
    )
    return parser


def _write_ready_file(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


async def _run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    orphan = False

    if args.parent_pid is not None:

        def orphaned(why: str) -> None:
            nonlocal orphan
            orphan = True
            print(f"toxiserver: stopping: {why}", file=sys.stderr, flush=True)
            stop.set()

        Lifeline(args.parent_pid, args.parent_fd, orphaned).start(loop)

    def on_ready(port: int) -> None:
        url = f"http://{args.host}:{port}"
        print(f"toxiserver listening on {url} seed={args.seed}", flush=True)
        if args.state_file is not None:
            owner = args.parent_pid if args.parent_pid is not None else os.getppid()
            write_record(args.state_file, this_server(owner, url))
        if args.ready_file is not None:
            _write_ready_file(args.ready_file, port)

    try:
        await serve(args.host, args.port, args.seed, stop, on_ready)
    finally:
        # An orphan leaves its record (pid now dead): the owner's cleanup learns from it
        # that this server, and every fault it held, is gone (`stop_orphans`).
        if args.state_file is not None and not orphan:
            args.state_file.unlink(missing_ok=True)


def main(
    argv: list[str] | None = None, prog: str = "toxiserver", epilog: str | None = None
) -> None:
    args = build_parser(prog, epilog).parse_args(argv)
    if args.host not in LOOPBACK_HOSTS and not args.allow_remote:
        print(
            f"toxiserver: refusing --host {args.host}: not loopback; the control API has no "
            "authentication - use 127.0.0.1 or pass --allow-remote",
            file=sys.stderr,
        )
        sys.exit(2)
    try:
        run_proxy_loop(_run(args))
    except OSError as exc:
        print(f"toxiserver: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
