"""An embedded server started for a process dies with it, and a recorded orphan can be stopped.

Each test starts an *owner* process (a small Python program) that starts a
toxiserver, then kills the owner the way CI kills a job (SIGKILL) and watches
the server. Every process started here is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from toxiserver import start_subprocess, stop_orphans
from toxiserver._lifeline import is_running, set_parent_death_signal, start_time

pytestmark = pytest.mark.usefixtures("embedded_only")

OWNER = """
import json, sys, threading, time
from toxiserver import start_subprocess
args = json.loads(sys.argv[1])
box = {}
def start():
    box["proc"] = start_subprocess(
        port=0, state_file=args["state_file"], log_path=args["log"],
        die_with_parent=args["die_with_parent"],
    )
if args["in_thread"]:  # the starting thread ends at once: PDEATHSIG fires, the owner lives
    t = threading.Thread(target=start); t.start(); t.join()
else:
    start()
print(json.dumps({"pid": box["proc"].pid, "url": box["proc"].url}), flush=True)
time.sleep(120)
"""


class Owner:
    """A process that started a toxiserver; ``server_pid`` is the server's."""

    def __init__(self, tmp: Path, *, die_with_parent: bool = True, in_thread: bool = False):
        tmp.mkdir(parents=True, exist_ok=True)
        self.state_file = tmp / "servers" / "s.json"
        self.log = tmp / "toxiserver.log"
        spec = {
            "state_file": str(self.state_file),
            "log": str(self.log),
            "die_with_parent": die_with_parent,
            "in_thread": in_thread,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", OWNER, json.dumps(spec)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the owner did not start its server"
        info = json.loads(line)
        self.server_pid: int = info["pid"]
        self.server_start = start_time(self.server_pid)

    def server_running(self) -> bool:
        return is_running(self.server_pid, self.server_start)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def cleanup(self) -> None:
        self.kill()
        if self.server_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.server_pid, signal.SIGKILL)


@pytest.fixture
def owners(tmp_path: Path) -> Iterator[list[Owner]]:
    made: list[Owner] = []
    try:
        yield made
    finally:
        for owner in made:
            owner.cleanup()


def _gone_within(owner: Owner, timeout_s: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not owner.server_running():
            return time.monotonic() - started
        time.sleep(0.01)
    return None


def test_server_dies_with_a_sigkilled_owner(tmp_path: Path, owners: list[Owner]) -> None:
    """SIGKILL of the owner stops its server within 5 s; its record stays for the owner's cleanup."""
    owner = Owner(tmp_path)
    owners.append(owner)
    assert owner.state_file.is_file()
    record = json.loads(owner.state_file.read_text())
    assert record["pid"] == owner.server_pid and record["owner_pid"] == owner.proc.pid
    owner.kill()
    took = _gone_within(owner, 5.0)
    assert took is not None, "the server outlived its owner"
    assert "toxiserver: stopping:" in owner.log.read_text()
    [ended] = stop_orphans(owner.state_file.parent)  # the record says: gone, with its faults
    assert (ended.record.pid, ended.stopped) == (owner.server_pid, False)
    assert not owner.state_file.exists()


def test_a_stop_by_the_owner_removes_the_record(tmp_path: Path) -> None:
    """A server stopped by its owner (ServerProcess.stop) removes its state file itself."""
    state = tmp_path / "s.json"
    with start_subprocess(port=0, state_file=state) as proc:
        assert json.loads(state.read_text())["url"] == proc.url
    assert not state.exists()


def test_death_signal_alone_stops_an_orphan(tmp_path: Path) -> None:
    """Without the pipe (no --parent-fd), PR_SET_PDEATHSIG alone stops the server when its parent dies."""
    if not set_parent_death_signal(0):  # 0 clears it: only asks whether prctl works here
        pytest.skip("prctl(PR_SET_PDEATHSIG) is Linux-only")
    ready = tmp_path / "ready"
    code = (
        "import subprocess, sys, time;"
        f"p = subprocess.Popen([sys.executable, '-m', 'toxiserver', '--port', '0', "
        f"'--ready-file', {str(ready)!r}, '--parent-pid', str(__import__('os').getpid())], "
        "start_new_session=True, stdin=subprocess.DEVNULL);"
        "print(p.pid, flush=True); time.sleep(120)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    server_pid = None
    try:
        assert parent.stdout is not None
        server_pid = int(parent.stdout.readline())
        deadline = time.monotonic() + 15
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), "the server did not start"
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 5
        while is_running(server_pid, None) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not is_running(server_pid, None), "PDEATHSIG did not stop the orphan"
    finally:
        parent.kill()
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
        if server_pid is not None and is_running(server_pid, None):
            os.kill(server_pid, signal.SIGKILL)


def test_the_starting_thread_ending_does_not_stop_the_server(
    tmp_path: Path, owners: list[Owner]
) -> None:
    """PDEATHSIG fires when the *thread* that started the server ends; the server checks and stays."""
    owner = Owner(tmp_path, in_thread=True)
    owners.append(owner)
    time.sleep(1.0)
    assert owner.server_running()
    owner.kill()
    assert _gone_within(owner, 5.0) is not None


def test_stop_orphans_stops_a_server_whose_owner_is_dead(
    tmp_path: Path, owners: list[Owner]
) -> None:
    """A server that outlived its owner (no lifeline) is stopped by stop_orphans; a live owner's is spared."""
    orphaned = Owner(tmp_path / "a", die_with_parent=False)
    owners.append(orphaned)
    alive = Owner(tmp_path / "b", die_with_parent=False)
    owners.append(alive)
    alive.state_file.rename(orphaned.state_file.parent / "alive.json")
    orphaned.kill()
    time.sleep(0.5)
    assert orphaned.server_running()  # nothing else stops it
    done = stop_orphans(orphaned.state_file.parent)
    assert [(o.record.pid, o.stopped) for o in done] == [(orphaned.server_pid, True)]
    assert not orphaned.server_running()
    assert alive.server_running()
    assert not orphaned.state_file.exists()
    assert (orphaned.state_file.parent / "alive.json").exists()
    assert stop_orphans(orphaned.state_file.parent) == []  # idempotent
