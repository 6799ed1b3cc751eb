"""Process and command faults against real processes: kill, freeze/thaw, commands, crash cleanup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import FaultActionError
from harness.faults import (
    Fault,
    FaultEvent,
    FaultEventKind,
    FaultInjector,
    FaultWindow,
    ToxiproxyAdapter,
)
from harness.faults.model import ProcessTarget
from harness.faults.process import find_process, state

toxiserver = pytest.importorskip("toxiserver")

SLEEPER = textwrap.dedent(
    """
    import os, socket, sys, time
    sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(8)
    open(sys.argv[1] + ".port", "w").write(str(sock.getsockname()[1]))
    open(sys.argv[1], "w").write(str(os.getpid()))
    while True:
        time.sleep(0.05)
    """
)


@dataclass
class Sleeper:
    proc: subprocess.Popen[bytes]
    pid_file: Path
    port: int
    marker: str


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[Sleeper]:
    """A throwaway process listening on a loopback port with a pid file; always killed."""
    marker = f"sleeper-{uuid.uuid4().hex[:8]}"
    pid_file = tmp_path / f"{marker}.pid"
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER, str(pid_file), marker])
    try:
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and Path(f"{pid_file}.port").exists()):
            assert time.monotonic() < deadline, "the throwaway process did not start"
            time.sleep(0.02)
        port = int(Path(f"{pid_file}.port").read_text())
        yield Sleeper(proc, pid_file, port, marker)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait(10)


@pytest.fixture
def events() -> list[FaultEvent]:
    return []


@pytest.fixture
def injector(tmp_path: Path, events: list[FaultEvent]) -> FaultInjector:
    """An injector whose adapter is never called (local faults touch no server)."""
    return FaultInjector(
        ToxiproxyAdapter("http://127.0.0.1:9"),
        "local-run",
        ledger_dir=tmp_path / "ledger",
        on_event=events.append,
    )


def window(**fields: object) -> FaultWindow:
    return FaultWindow(Fault(name="f", **fields), 0.0, 10.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["pid_file", "port", "pattern"])
def test_kill_finds_the_process_and_signals_it(
    how: str, sleeper: Sleeper, injector: FaultInjector, events: list[FaultEvent]
) -> None:
    """A kill fault finds its process by pid file, port or pattern and sends SIGKILL (default)."""
    target = {
        "pid_file": {"pid_file": str(sleeper.pid_file)},
        "port": {"port": sleeper.port},
        "pattern": {"pattern": f"{sleeper.marker}$"},
    }[how]
    w = window(type="kill", process=target)
    injector.apply(w)
    assert sleeper.proc.wait(5) == -signal.SIGKILL
    assert [e.kind for e in events] == [FaultEventKind.APPLIED]
    assert f"SIGKILL sent to pid {sleeper.proc.pid}" in events[0].detail
    injector.revert(w)
    assert events[-1].kind is FaultEventKind.REVERTED
    assert not injector.ledger_path.parent.joinpath("local", "local-run.json").exists()


def test_kill_refuses_unclear_or_protected_targets(
    sleeper: Sleeper, injector: FaultInjector, tmp_path: Path
) -> None:
    """No match, pid 1, the harness itself and its parents are refused; nothing is signalled."""
    one = tmp_path / "one.pid"
    one.write_text("1")
    me = tmp_path / "me.pid"
    me.write_text(str(os.getpid()))
    parent = tmp_path / "parent.pid"
    parent.write_text(str(os.getppid()))
    with pytest.raises(FaultActionError, match="exactly one"):
        injector.apply(window(type="kill", process={"pattern": "no-such-process-" + "x" * 8}))
    for path, who in ((one, "init"), (me, "the harness itself"), (parent, "a parent")):
        with pytest.raises(FaultActionError, match=who):
            injector.apply(window(type="kill", process={"pid_file": str(path)}))
    assert sleeper.proc.poll() is None and injector.active == []


def test_stop_freezes_and_thaws(
    sleeper: Sleeper, injector: FaultInjector, events: list[FaultEvent]
) -> None:
    """SIGSTOP at the start (state T), SIGCONT at the end (state S or R), both journaled."""
    w = window(type="stop", process={"pid_file": str(sleeper.pid_file)})
    injector.apply(w)
    assert _wait_state(sleeper.proc.pid, "T")
    injector.revert(w)
    assert _wait_state(sleeper.proc.pid, "SR")
    assert [e.kind for e in events] == [FaultEventKind.APPLIED, FaultEventKind.REVERTED]
    assert "SIGSTOP" in events[0].detail and "SIGCONT" in events[1].detail


def test_command_runs_apply_and_revert_once_with_output_journaled(
    injector: FaultInjector, events: list[FaultEvent], tmp_path: Path
) -> None:
    """apply and revert each run once; exit codes and output are in the events."""
    log = tmp_path / "log"
    with pytest.raises(ValueError, match="shell: true"):
        window(type="command", apply=["true"], revert="echo x", shell=False)
    w = window(
        type="command",
        apply=f"echo apply >> {log}; echo hi",
        revert=f"echo revert >> {log}; echo bye",
        shell=True,
    )
    injector.apply(w)
    injector.apply(w)  # already applied: nothing runs
    injector.revert(w)
    injector.revert(w)  # already reverted: nothing runs
    assert log.read_text().split() == ["apply", "revert"]
    assert [e.kind for e in events] == [FaultEventKind.APPLIED, FaultEventKind.REVERTED]
    assert "exited 0" in events[0].detail and "output: hi" in events[0].detail
    assert "exited 0" in events[1].detail and "output: bye" in events[1].detail


def test_failed_command_is_an_error_and_its_revert_still_runs(
    injector: FaultInjector, events: list[FaultEvent], tmp_path: Path
) -> None:
    """An apply exiting non-zero raises with its output; the revert runs at the window end."""
    log = tmp_path / "log"
    w = window(
        type="command",
        apply="echo boom; exit 3",
        revert=f"echo revert >> {log}",
        shell=True,
        timeout_s=5,
    )
    with pytest.raises(FaultActionError, match="exited 3 .*boom"):
        injector.apply(w)
    injector.revert(w)
    assert log.read_text().split() == ["revert"]
    assert [e.kind for e in events] == [FaultEventKind.APPLY_UNDONE]


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from harness.faults import Fault, FaultInjector, FaultWindow, ToxiproxyAdapter
    url, ledger_dir, counter = sys.argv[1:4]
    injector = FaultInjector(ToxiproxyAdapter(url), "crashed-run", ledger_dir=Path(ledger_dir),
                             on_event=lambda e: None)
    fault = Fault(name="maintenance", type="command", shell=True,
                  apply="true", revert=f"echo revert >> {counter}")
    injector.apply(FaultWindow(fault, 0.0, 600.0))
    print("READY", flush=True)
    time.sleep(600)
    """
)


def test_cleanup_runs_a_killed_runs_pending_revert_exactly_once(tmp_path: Path) -> None:
    """After SIGKILL, `harness cleanup` runs the pending revert command once; a second does nothing."""
    state = tmp_path / "state"
    counter = tmp_path / "counter"
    env = {**os.environ, "HARNESS_STATE_DIR": str(state)}
    with toxiserver.ToxiproxyServer(host="127.0.0.1") as srv:
        with subprocess.Popen(
            [sys.executable, "-c", CHILD, srv.url, str(state / "ledger"), str(counter)],
            stdout=subprocess.PIPE, text=True, env=env,
        ) as child:  # fmt: skip
            try:
                assert child.stdout is not None and child.stdout.readline().strip() == "READY"
            finally:
                child.kill()  # SIGKILL: no finally, no revert in the child
                child.wait(10)
        assert not counter.exists()  # SIGKILL: nothing reverted it
        runs = [
            subprocess.run(
                [sys.executable, "-m", "harness", "cleanup", "--toxiproxy-url", srv.url],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )  # fmt: skip
            for _ in range(2)
        ]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert "reverted: fault 'maintenance' (command) of run 'crashed-run'" in runs[0].stdout
    assert "reverted:" not in runs[1].stdout
    assert counter.read_text().split() == ["revert"]
    assert not (state / "ledger" / "local" / "crashed-run.json").exists()


def _wait_state(pid: int, states: str, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (state(pid) or "?") in states:
            return True
        time.sleep(0.02)
    return False


def test_a_port_nobody_listens_on_is_refused() -> None:
    """A port nobody listens on is refused with a sentence naming it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FaultActionError, match=f"port {port}"):
        find_process(ProcessTarget(port=port), fault="f")
