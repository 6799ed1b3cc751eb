"""The launcher and the CLI start and stop real processes and leave nothing behind."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from hd_helpers import wait_for

from helpdesk import PortInUse, SystemConfig, start_system, stop_system
from helpdesk.launcher import pid_alive

pytestmark = pytest.mark.timeout(60)


def _pids(state_dir: Path) -> list[int]:
    state = json.loads((state_dir / "state.json").read_text())
    return [p["pid"] for p in state["processes"].values()]


def test_stop_system_leaves_no_process_alive(tmp_path: Path) -> None:
    """After stop_system(state_dir) no pid listed in the state file is alive."""
    system = start_system(SystemConfig(state_dir=tmp_path))
    try:
        pids = _pids(tmp_path)
        assert len(pids) == 7 and all(pid_alive(p) for p in pids)
        stop_system(tmp_path)
        assert not any(pid_alive(p) for p in pids)
        assert not (tmp_path / "state.json").exists()
    finally:
        system.stop()


def test_stop_system_is_safe_when_nothing_runs(tmp_path: Path) -> None:
    """stop_system on an empty or already-stopped state dir does nothing and raises nothing."""
    stop_system(tmp_path)
    stop_system(tmp_path / "missing")


def test_taken_front_port_is_one_clear_error(tmp_path: Path) -> None:
    """A front port already in use fails before any process starts, naming the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} .* already in use"):
            start_system(SystemConfig(state_dir=tmp_path, front_port=port))
    assert not (tmp_path / "state.json").exists()


def test_cli_rejects_unknown_mechanism_in_one_sentence(tmp_path: Path) -> None:
    """'helpdesk up --disable bogus' exits 2 with one line listing the valid names."""
    result = subprocess.run(
        [sys.executable, "-m", "helpdesk.cli", "up", "--state-dir", str(tmp_path),
         "--disable", "failover,bogus"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown mechanism 'bogus'" in result.stderr and "timeouts" in result.stderr


def test_cli_foreground_ctrl_c_stops_everything(tmp_path: Path) -> None:
    """Ctrl-C on 'helpdesk up --foreground' stops every process it started."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "helpdesk.cli", "up", "--foreground", "--port", "0",
         "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert cli.stdout is not None
        line = cli.stdout.readline()
        assert line.startswith("helpdesk front: http://127.0.0.1:")
        front_url = line.split(": ", 1)[1].strip()
        assert httpx.get(f"{front_url}/healthz", trust_env=False).status_code == 200
        pids = _pids(tmp_path)
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=20) == 0
        assert not any(pid_alive(p) for p in pids)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        cli.stdout.close() if cli.stdout else None
        cli.stderr.close() if cli.stderr else None
        stop_system(tmp_path)


@pytest.mark.slow
def test_toxiproxy_routes_every_dependency_through_a_proxy(tmp_path: Path) -> None:
    """With a Toxiproxy URL each dependency gets a helpdesk_<dep> proxy the front calls."""
    toxiserver = pytest.importorskip("toxiserver")
    server = toxiserver.start_subprocess()
    try:
        with start_system(SystemConfig(state_dir=tmp_path, toxiproxy_url=server.url)) as system:
            assert set(system.proxy_names.values()) == {
                f"helpdesk_{d}"
                for d in ("nlu", "kb", "orders_primary", "orders_replica", "tickets", "agents")
            }
            assert system.dependency_urls["nlu"] != system.direct_urls["nlu"]
            message = {"customer_id": "c", "channel": "web", "message": "card payment"}
            chat = httpx.post(f"{system.front_url}/api/chat", json=message, trust_env=False)
            assert chat.json()["mode"] == "normal"
            httpx.post(
                f"{server.url}/proxies/helpdesk_nlu", json={"enabled": False}, trust_env=False
            )
            wait_for(
                lambda: (
                    httpx.post(
                        f"{system.front_url}/api/chat", json=message, trust_env=False
                    ).json()["mode"]
                    == "fallback"
                ),
                timeout_s=5,
            )
        proxies = httpx.get(f"{server.url}/proxies", trust_env=False).json()
        assert not [name for name in proxies if name.startswith("helpdesk_")]
    finally:
        server.stop()
