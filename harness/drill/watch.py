"""Watchers that run beside the load while a drill runs, each in its own greenlet.

Each watcher owns one long-lived client to its peer, made once and closed at
the end, so a probe costs a request and nothing more: the greenlets share the
gevent loop that runs every Locust user, and per-call set-up work there (a new
HTTP client and SSL context, tens of ms of CPU) would show up as a tail in the
drill's own latency figures. Nothing here parses on the loop either: the
target's /metrics text is parsed in gevent's native thread pool.

* :class:`TargetWatch`: is the target still there? A probe that connects but
  gets no answer within ``liveness.timeout_s`` is *slow*: the target is alive
  and the SLA checks judge it. Only connections refused (or not accepted) for
  ``liveness.give_up_s`` make the run inconclusive.
* :class:`MetricsScraper`: samples the target's Prometheus endpoint into
  ``raw/server.jsonl`` and journals state-like series that change.
* :class:`ToxiproxyWatch`: Toxiproxy still answers; if not, faults can be
  neither applied nor removed, and the run is inconclusive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import gevent

from harness.clock import DrillClock
from harness.drill.journal import Journal
from harness.drill.model import LivenessSpec
from harness.drill.target import Reachability, TargetClient, parse_metrics
from harness.errors import ToxiproxyError
from harness.faults.adapter import ToxiproxyAdapter
from harness.results.model import ServerSample

log = logging.getLogger(__name__)

TOXIPROXY_WATCH_S = 1.0  # how often a running drill checks that Toxiproxy still answers
SCRAPE_TIMEOUT_S = 2.0

GoneSink = Callable[[str], None]


class Watcher(Protocol):
    """Runs until killed (in a greenlet of its own); ``close`` frees its client."""

    def run(self) -> None: ...

    def close(self) -> None: ...


class TargetWatch:
    """Notices a target that stops accepting connections; a slow one is still alive."""

    def __init__(
        self,
        client: TargetClient,
        spec: LivenessSpec,
        clock: DrillClock,
        journal: Journal,
        on_gone: GoneSink,
        *,
        sleep: Callable[[float], None] = gevent.sleep,
    ) -> None:
        self.client = client
        self.spec = spec
        self.clock = clock
        self.journal = journal
        self.on_gone = on_gone
        self.sleep = sleep
        self.refused_since_s: float | None = None
        self.slow = False

    def run(self) -> None:
        while True:
            self.observe(self.client.probe(), self.clock.now_s())
            self.sleep(self.spec.interval_s)

    def observe(self, seen: Reachability, now_s: float) -> None:
        """Take one probe's result at drill time ``now_s``."""
        if seen is Reachability.SLOW and not self.slow:
            self.journal.note(
                f"target health {self.client.health_path} gave no answer within "
                f"{self.spec.timeout_s:g} s: slow, still judged (not gone)",
                liveness=str(seen),
            )
        elif seen is Reachability.ANSWERED and self.slow:
            self.journal.note("target health answers in time again", liveness=str(seen))
        self.slow = seen is Reachability.SLOW
        if seen is not Reachability.REFUSED:
            self.refused_since_s = None
            return
        if self.refused_since_s is None:
            self.refused_since_s = now_s
        elif now_s - self.refused_since_s >= self.spec.give_up_s:
            self.on_gone(
                f"target {self.client.target.url} refused connections for "
                f"{self.spec.give_up_s:g} s (target.liveness.give_up_s); "
                "the drill cannot judge a target that is gone"
            )

    def gone_at_end(self) -> str | None:
        """Why the run is inconclusive when the target went away shortly before the end."""
        since = self.refused_since_s
        if since is None or self.client.probe() is not Reachability.REFUSED:
            return None
        return (
            f"target {self.client.target.url} stopped accepting connections at {since:.1f} s "
            "and did not come back before the end; the drill cannot judge a target that is gone"
        )

    def close(self) -> None:
        self.client.close()


class MetricsScraper:
    """Samples the target's /metrics every ``every_s``; a failed scrape is noted, never fatal."""

    def __init__(
        self,
        client: TargetClient,
        every_s: float,
        clock: DrillClock,
        journal: Journal,
        sink: Callable[[ServerSample], None],
        *,
        parse: Callable[[str], dict[str, float]] | None = None,
    ) -> None:
        self.client = client
        self.every_s = every_s
        self.clock = clock
        self.journal = journal
        self.sink = sink
        self.parse = parse or _parse_off_loop
        self.last: dict[str, float] = {}

    def run(self) -> None:
        while True:
            self.scrape_once()
            gevent.sleep(self.every_s)

    def scrape_once(self) -> None:
        try:
            values = self.parse(self.client.metrics_text())
        except Exception as exc:  # a failed scrape is noted, never fatal
            log.debug("scrape failed: %s", exc)
            return
        for key, value in values.items():
            if "state" in key and key in self.last and self.last[key] != value:
                self.journal.server_state(key, self.last[key], value)
        self.last = values
        self.sink(ServerSample(t_s=round(self.clock.now_s(), 3), values=values))

    def close(self) -> None:
        self.client.close()


def _parse_off_loop(text: str) -> dict[str, float]:
    """Parse in a native thread: the loop keeps serving users while the GIL is shared."""
    return gevent.get_hub().threadpool.apply(parse_metrics, (text,))


class ToxiproxyWatch:
    """Notices a Toxiproxy that stops answering: faults can then be neither applied nor removed."""

    def __init__(self, url: str, on_gone: GoneSink, *, every_s: float = TOXIPROXY_WATCH_S) -> None:
        self.adapter = ToxiproxyAdapter(url, timeout_s=2.0, attempts=2)
        self.on_gone = on_gone
        self.every_s = every_s

    def run(self) -> None:
        while True:
            gevent.sleep(self.every_s)
            try:
                self.adapter.version()
            except ToxiproxyError as exc:
                self.on_gone(f"Toxiproxy stopped answering during the drill: {exc}")
                return

    def close(self) -> None:
        self.adapter.close()
