"""Before a drill touches anything: hosts allowed, Toxiproxy up, leftovers gone, proxies there, target healthy.

Preflight failures leave nothing behind and no run directory: a Toxiproxy or
target that does not answer, and a proxy the drill needs that the server lacks
(the message names the proxy, the server URL and the proxies it has), are
infrastructure errors (exit 3) - the drill file may be right for another
Toxiproxy, so it is not judged invalid input.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path

from harness.drill.model import EMBEDDED
from harness.drill.plan import DrillPlan, ledger_dir
from harness.drill.target import require_loopback, wait_healthy
from harness.errors import InfrastructureError, ProxyConflict
from harness.faults.adapter import ToxiproxyAdapter, proxy_matches
from harness.faults.injector import remove_leftovers
from harness.faults.ledger import drop_dead_ledgers
from harness.faults.local import run_pending_reverts
from harness.faults.specs import ProxySpec as ToxiproxyProxySpec

log = logging.getLogger(__name__)


def check_hosts(plan: DrillPlan, toxiproxy_url: str) -> None:
    """Loopback rules again, for URLs overridden after planning (e.g. ``--toxiproxy-url``)."""
    drill = plan.drill
    rules = {"allow_hosts": drill.target.allow_hosts, "allow_remote": plan.allow_remote}
    require_loopback(drill.target.url, what="target", **rules)
    if toxiproxy_url != EMBEDDED:
        require_loopback(toxiproxy_url, what="Toxiproxy", **rules)


def embedded_state_dir() -> Path:
    """Where embedded Toxiproxy servers record themselves: ``<state dir>/toxiservers``."""
    return ledger_dir().parent / "toxiservers"


def stop_orphaned_toxiservers() -> list[str]:
    """Stop embedded Toxiproxy servers whose drill is gone; one line per server stopped.

    Each dies with its drill by itself (``toxiserver._lifeline``); this finds any
    that did not. The ledgers of dead runs against a server that is gone are
    deleted too: its faults went with it.
    """
    from toxiserver import stop_orphans

    lines = []
    for orphan in stop_orphans(embedded_state_dir()):
        record = orphan.record
        runs = drop_dead_ledgers(ledger_dir(), record.url)
        went = f"; the faults of run(s) {', '.join(runs)} went with it" if runs else ""
        if orphan.stopped:
            lines.append(
                f"embedded Toxiproxy at {record.url} (pid {record.pid}): stopped, its drill "
                f"(pid {record.owner_pid}) is gone{went}"
            )
        elif runs:
            lines.append(
                f"embedded Toxiproxy at {record.url} (pid {record.pid}) had stopped with its "
                f"drill (pid {record.owner_pid}){went}: their ledgers are deleted"
            )
    return lines


def start_toxiproxy(toxiproxy_url: str, seed: int | None, stack: ExitStack) -> str:
    """The URL of the Toxiproxy to use; ``embedded`` starts one, stopped when ``stack`` closes.

    The embedded server dies with this process even after a SIGKILL, and records
    itself in :func:`embedded_state_dir` while it runs (see ``harness cleanup``).
    """
    if toxiproxy_url != EMBEDDED:
        return toxiproxy_url
    import uuid

    from toxiserver import ToxiserverError, start_subprocess

    state_file = embedded_state_dir() / f"{uuid.uuid4().hex}.json"
    try:
        process = start_subprocess(port=0, seed=seed, state_file=state_file)
    except (ToxiserverError, OSError) as exc:
        raise InfrastructureError(
            f"the embedded Toxiproxy did not start ({exc}); pass --toxiproxy-url of a running one"
        ) from exc
    stack.callback(process.stop)
    return process.url


def refuse_conflicts(adapter: ToxiproxyAdapter, specs: list[ToxiproxyProxySpec]) -> None:
    """Refuse to re-point a proxy that exists with another upstream or listen address.

    A Toxiproxy is often shared (by the app under test, by other drills): a stale
    ``upstream`` in a drill file must not silently move a proxy the app depends on.
    """
    current = adapter.proxies()
    problems = [
        f"proxy '{spec.name}' exists on Toxiproxy at {adapter.url} with listen "
        f"{info.listen} and upstream {info.upstream}, but the drill says listen "
        f"{spec.listen} and upstream {spec.upstream}"
        for spec in specs
        if (info := current.get(spec.name)) is not None and not proxy_matches(info, spec)
    ]
    if problems:
        raise ProxyConflict(
            "; ".join(problems) + " - the harness never re-points an existing proxy (the system "
            "under test may depend on it): fix 'proxies:' in the drill to match, or delete or "
            "fix the proxy on that Toxiproxy yourself"
        )


def preflight(plan: DrillPlan, adapter: ToxiproxyAdapter, *, health_timeout_s: float) -> None:
    """Toxiproxy answers, leftovers of killed runs are removed, proxies exist, the target is healthy."""
    drill = plan.drill
    for line in run_pending_reverts(ledger_dir()):  # thaw/restart what a killed run left
        log.warning("ran a revert left by an earlier run that was killed: %s", line)
    adapter.version()
    for line in stop_orphaned_toxiservers():
        log.warning("%s", line)
    removed = remove_leftovers(adapter, ledger_dir=ledger_dir())
    if removed:
        log.warning("removed faults left by an earlier run that was killed: %s", ", ".join(removed))
    specs = [
        ToxiproxyProxySpec(name=p.name, upstream=p.upstream, listen=p.listen or "127.0.0.1:0")
        for p in drill.proxies
        if p.upstream
    ]
    if specs:
        refuse_conflicts(adapter, specs)
        adapter.ensure_proxies(specs)  # only creates the missing ones now
    needed = {p.name for p in drill.proxies} | {
        f.window.fault.proxy for f in plan.faults if f.window.fault.proxy is not None
    }
    adapter.require_proxies(sorted(needed))
    wait_healthy(drill.target, timeout_s=health_timeout_s)
