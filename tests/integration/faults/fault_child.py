"""Child process for the kill test: apply a latency toxic and a down, say READY, then wait.

Usage: python fault_child.py <toxiproxy-url> <ledger-dir> <run-id> [--revert-on-exit]
With --revert-on-exit the faults are reverted in ``finally`` (the Ctrl-C path).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from harness.faults import Fault, FaultInjector, FaultWindow, ToxiproxyAdapter


def main() -> None:
    url, ledger_dir, run_id = sys.argv[1:4]
    injector = FaultInjector(ToxiproxyAdapter(url), run_id, ledger_dir=Path(ledger_dir),
                             on_event=lambda event: None)
    latency = Fault(name="nlu-latency", proxy="helpdesk_nlu", type="latency", latency_ms=300)
    down = Fault(name="orders-down", proxy="helpdesk_orders_primary", type="down")
    try:
        injector.apply(FaultWindow(latency, 0.0, 600.0))
        injector.apply(FaultWindow(down, 0.0, 600.0))
        print("READY", flush=True)
        time.sleep(600)
    except KeyboardInterrupt:
        pass
    finally:
        if "--revert-on-exit" in sys.argv:
            injector.revert_all()


if __name__ == "__main__":
    main()
