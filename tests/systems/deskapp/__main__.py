"""Run deskapp by hand: ``python -m tests.systems.deskapp [--port 8090] [--toxiproxy URL|embedded]``.

Starts Redis, the proxy ``deskapp_db`` (with ``--toxiproxy``; ``embedded`` starts a
toxiserver on a free port first) and the app, prints where everything is, and
stops it all on Ctrl-C or SIGTERM. Run from the repository root.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from toxiserver import start_subprocess

from .config import STAFF_PASSWORD, STAFF_USER
from .launcher import DeskappConfig, start_deskapp
from .processes import StartupError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.systems.deskapp", description=__doc__)
    parser.add_argument("--port", type=int, default=8090, help="the app's port (0 = any free)")
    parser.add_argument(
        "--toxiproxy", help="Toxiproxy URL to put the database behind, or 'embedded'"
    )
    parser.add_argument("--work-dir", type=Path, help="logs and Redis files (default: a temp dir)")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with ExitStack() as stack:
        work_dir = args.work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        toxiproxy_url = args.toxiproxy
        try:
            if toxiproxy_url == "embedded":
                toxiproxy_url = stack.enter_context(start_subprocess(port=0)).url
            config = DeskappConfig(work_dir, port=args.port, toxiproxy_url=toxiproxy_url)
            system = stack.enter_context(start_deskapp(config))
        except StartupError as exc:
            print(f"deskapp: {exc}", file=sys.stderr)
            return 3
        print(f"deskapp     {system.url}  (staff API: {STAFF_USER} / {STAFF_PASSWORD})")
        print(f"redis       {system.redis_address}")
        if system.proxy_name:
            print(f"toxiproxy   {system.toxiproxy_url}  proxy {system.proxy_name} "
                  f"listens on {system.db_address}")  # fmt: skip
        print(f"logs        {work_dir}  - Ctrl-C stops everything", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
