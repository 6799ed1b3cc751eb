"""StopSignals: SIGINT/SIGTERM recorded (also when SIGINT came in ignored), listeners told, handlers restored."""

from __future__ import annotations

import os
import signal

from harness.signals import StopSignals


def test_install_over_an_ignored_sigint_records_it_and_uninstall_restores() -> None:
    """SIGINT ignored before install is handled after it, recorded once; uninstall puts SIG_IGN back."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = StopSignals()
    try:
        stop.install()
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.received == "SIGINT"  # the first one is kept
    finally:
        stop.uninstall()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.signal(signal.SIGINT, previous)


def test_listening_tells_listeners_and_replays_an_earlier_signal() -> None:
    """A listener hears each signal in its block, and at once one received before the block."""
    stop = StopSignals()
    heard: list[str] = []
    try:
        stop.install()
        os.kill(os.getpid(), signal.SIGTERM)
        with stop.listening(heard.append):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # after the block: recorded, nobody told
    finally:
        stop.uninstall()
    assert heard == ["SIGTERM", "SIGINT"]


def test_listening_without_install_is_temporary() -> None:
    """Library use: the handler is there only inside the block; the previous one comes back."""
    before = signal.getsignal(signal.SIGTERM)
    stop = StopSignals()
    heard: list[str] = []
    with stop.listening(heard.append):
        os.kill(os.getpid(), signal.SIGTERM)
    assert heard == ["SIGTERM"] and stop.received is None
    assert signal.getsignal(signal.SIGTERM) is before
