"""SIGINT and SIGTERM as a recorded request to stop, never as a sudden death.

A drill must be stoppable at every moment, and must never die half-way through
reverting faults or writing reports:

* ``harness run``/``demo`` call :meth:`StopSignals.install` first thing in the CLI
  (before the drill file is even read), *also when SIGINT arrived ignored*: a
  drill started in the background by a non-interactive shell inherits SIGINT as
  SIG_IGN, and Python keeps it so - such a drill would otherwise run to its end
  with its faults on, whatever Ctrl-C or ``kill -INT`` said.
* The handler only records the signal (the first one is kept) and tells the
  current listeners (the drill runner). It never raises and never prints: a
  print from a handler interrupting a print fails ("reentrant call").
* The handler stays installed until the process exits, so a SIGTERM while the
  verdict prints no longer kills the process (143) after the reports are written.

Library use (no CLI): :meth:`StopSignals.listening` installs the handler for the
duration of the ``with`` block when nobody installed it, and restores the
previous handlers afterwards, as before.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["STOP", "STOP_SIGNALS", "StopSignals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

Listener = Callable[[str], None]


class StopSignals:
    """The process's SIGINT/SIGTERM handler: records the first signal, tells listeners."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._listeners: list[Listener] = []
        self._previous: dict[int, Any] = {}

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def install(self) -> None:
        """Handle SIGINT and SIGTERM from now on (whatever their disposition was); idempotent."""
        for signum in STOP_SIGNALS:
            previous = signal.signal(signum, self._handle)
            self._previous.setdefault(signum, previous)

    def uninstall(self) -> None:
        """Put back the handlers found by :meth:`install`."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = name
        for listener in list(self._listeners):
            listener(name)

    @contextmanager
    def listening(self, listener: Listener) -> Iterator[None]:
        """Call ``listener(signal name)`` on each signal in the block (at once for one already received)."""
        temporary = not self.installed
        if temporary:
            self.install()
        self._listeners.append(listener)
        try:
            if self.received is not None:
                listener(self.received)
            yield
        finally:
            self._listeners.remove(listener)
            if temporary:
                self.uninstall()
                self.received = None


STOP = StopSignals()
