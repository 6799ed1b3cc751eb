"""The kill test: a SIGKILLed run's faults are found and removed, nobody else's are touched."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_helpers import echo_server

from harness.faults import (
    Fault,
    FaultInjector,
    FaultWindow,
    ProxySpec,
    Stream,
    ToxicSpec,
    ToxiproxyAdapter,
    remove_leftovers,
)

toxiserver = pytest.importorskip("toxiserver")

CHILD = Path(__file__).with_name("fault_child.py")
PROXIES = ["helpdesk_nlu", "helpdesk_orders_primary", "helpdesk_kb"]


@pytest.fixture
def adapter() -> Iterator[ToxiproxyAdapter]:
    with echo_server() as upstream, toxiserver.ToxiproxyServer(host="127.0.0.1") as srv:
        adapter = ToxiproxyAdapter(srv.url)
        adapter.ensure_proxies([ProxySpec(name, upstream) for name in PROXIES])
        yield adapter


def read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """One line of the child's stdout, or '' if none comes within ``timeout_s``."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            return ""
    return proc.stdout.readline().strip()


def test_sigkilled_run_leftovers_are_removed_and_nothing_else(
    adapter: ToxiproxyAdapter, tmp_path: Path
) -> None:
    """After SIGKILL, remove_leftovers re-enables the child's proxy and removes its toxic only."""
    foreign = ToxicSpec("ops-latency", "latency", Stream.UPSTREAM, 1.0, {"latency": 10})
    adapter.add_toxic("helpdesk_nlu", foreign)
    mine = FaultInjector(adapter, "parent-live", ledger_dir=tmp_path, on_event=lambda e: None)
    kb_slow = Fault(name="kb-slow", proxy="helpdesk_kb", type="latency", latency_ms=5)
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), adapter.url, str(tmp_path), "child-run"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        mine.apply(FaultWindow(kb_slow, 0.0, 60.0))
        assert read_line(proc, 30.0) == "READY"
        state = adapter.proxies()
        assert not state["helpdesk_orders_primary"].enabled
        assert {t.name for t in state["helpdesk_nlu"].toxics} == {
            "ops-latency", "harness.child-run.nlu-latency"}
        assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # the child still lives

        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        removed = remove_leftovers(adapter, ledger_dir=tmp_path)

        assert sorted(removed) == [
            "proxy 'helpdesk_nlu': removed toxic 'harness.child-run.nlu-latency'",
            "proxy 'helpdesk_orders_primary': re-enabled (taken down by fault 'orders-down' "
            "of run 'child-run')",
        ]
        state = adapter.proxies()
        assert state["helpdesk_orders_primary"].enabled
        assert [t.name for t in state["helpdesk_nlu"].toxics] == ["ops-latency"]
        assert [t.name for t in state["helpdesk_kb"].toxics] == ["harness.parent-live.kb-slow"]
        assert not (tmp_path / "child-run.json").exists()
        assert mine.ledger_path.exists()
        assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # idempotent
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        mine.revert_all()
    assert adapter.proxies()["helpdesk_kb"].toxics == []


def test_ctrl_c_reverts_everything_in_finally(adapter: ToxiproxyAdapter, tmp_path: Path) -> None:
    """SIGINT to a run that reverts in finally leaves the server clean and no ledger behind."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), adapter.url, str(tmp_path), "ctrl-c", "--revert-on-exit"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert read_line(proc, 30.0) == "READY"
        assert not adapter.proxies()["helpdesk_orders_primary"].enabled
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert all(p.enabled and not p.toxics for p in adapter.proxies().values())
    assert list(tmp_path.iterdir()) == []


def _cleanup(url: str, ledger_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARNESS_STATE_DIR": str(ledger_dir.parent)}
    return subprocess.run(
        [sys.executable, "-m", "harness", "cleanup", "--toxiproxy-url", url, *extra],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


def test_cleanup_leaves_toxics_without_ledger_unless_forced(
    adapter: ToxiproxyAdapter, tmp_path: Path
) -> None:
    """A harness toxic no ledger here owns is reported, not removed; --force-unowned removes it."""
    ledger_dir = tmp_path / "ledger"  # where `harness cleanup` looks under HARNESS_STATE_DIR
    stray = ToxicSpec("harness.other-box.kb-slow", "latency", Stream.DOWNSTREAM, 1.0,
                      {"latency": 5})
    adapter.add_toxic("helpdesk_kb", stray)
    first = _cleanup(adapter.url, ledger_dir)
    assert first.returncode == 0, first.stderr
    assert "nothing to remove" in first.stdout
    assert "not removed: proxy 'helpdesk_kb': left toxic 'harness.other-box.kb-slow' alone" \
        in first.stdout
    assert [t.name for t in adapter.proxies()["helpdesk_kb"].toxics] == [stray.name]
    forced = _cleanup(adapter.url, ledger_dir, "--force-unowned")
    assert forced.returncode == 0, forced.stderr
    assert "removed toxic 'harness.other-box.kb-slow'" in forced.stdout
    assert adapter.proxies()["helpdesk_kb"].toxics == []
