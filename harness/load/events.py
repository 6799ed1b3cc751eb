"""Locust request events, kept by a load process until it classifies them in a batch.

Locust fires its ``request`` event inside the user's greenlet, once per request, so
whatever the listener does is paid by every request of the load process. A drill's
listener (:meth:`RequestClassifier.listener
<harness.load.classify.RequestClassifier.listener>`) therefore only reads the
outcome and keeps the event; the process classifies what it kept in one batch
(:meth:`RequestClassifier.classify_all
<harness.load.classify.RequestClassifier.classify_all>`) when it collects: the
drill runner every tick (before it flushes buckets and judges abort conditions, so
they see every request that has ended), a Locust worker every
``COLLECT_INTERVAL_S`` (the drill process's local driver as well, so events do not
pile up while the runner waits at the end), and every load process once more after
its drain. Nothing is late: the start time is taken when the event fires (Locust's
own, or now minus the response time when a custom client gives none), and the batch
keeps the order in which the requests ended; an event the batch cannot read is an
error sample of its endpoint, not a lost batch.

Locust-free on purpose (the drivers, the workers and the unit tests share it).
"""

from __future__ import annotations

from harness.load.classify import KeptEvent, RequestClassifier, RequestSample
from harness.results.raw import AckedWrite

COLLECT_INTERVAL_S = 0.05  # each load process collects this often (the drill runner: every tick)


class RequestEvents:
    """A load process's request events since it last collected them.

    :attr:`on_request` is the Locust ``request`` listener; :meth:`take` hands the
    kept events over, oldest first.
    """

    def __init__(self, classifier: RequestClassifier) -> None:
        self.classifier = classifier
        self._events: list[KeptEvent] = []
        self.on_request = classifier.listener(self._events.append)

    def __len__(self) -> int:
        return len(self._events)

    def take(self) -> list[KeptEvent]:
        """Every event kept so far, oldest first; none is kept afterwards."""
        events = self._events[:]
        self._events.clear()
        return events

    def classify(self) -> tuple[list[RequestSample], list[AckedWrite]]:
        """The samples and writes of every event kept so far (:meth:`take`, classified)."""
        events = self.take()
        return self.classifier.classify_all(events) if events else ([], [])
