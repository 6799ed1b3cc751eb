"""Preflight: nothing is injected until the target and Toxiproxy answer and the drill's proxies exist.

The cases are slow only because they wait (the target health check retries for
6 s), so one module fixture starts them all at once and each test reads its result.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from safety_helpers import (
    Child,
    DrillEnv,
    drill_env,
    is_clean,
    run_args,
    start_harness,
    write_drill,
)

pytestmark = pytest.mark.slow

CHECKS = [{"type": "error_rate", "max_ratio": 0.5}]
BROKEN = [{"name": "base", "duration_s": 1, "faults": ["deps-broken"], "checks": CHECKS}]
DEPS = {
    "deps-broken": [{"name": "dep-a-slow", "proxy": "dep_a", "type": "latency", "latency_ms": 5}]
}
UNKNOWN_PROXY = {"deps-broken": [{"name": "ghost-down", "proxy": "ghost", "type": "down"}]}
REMOTE = "http://192.0.2.10:8080"  # TEST-NET-1: never routed


def _closed_port() -> socket.socket:
    """A port bound but never listening: connections are refused, and no other process can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Results:
    env: DrillEnv
    root: Path
    children: dict[str, Child]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Results]:
    """Every preflight case, started in parallel against one controlled environment."""
    root = tmp_path_factory.mktemp("preflight")
    closed = _closed_port()
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with closed, pytest.MonkeyPatch.context() as mp, drill_env() as env:
        mp.setenv("HARNESS_STATE_DIR", str(root / "state"))
        plain = write_drill(root / "drills" / "plain", "plain", BROKEN, faults=DEPS)
        ghost = write_drill(root / "drills" / "ghost", "ghost", BROKEN, faults=UNKNOWN_PROXY)
        allowed = write_drill(root / "drills" / "allowed", "allowed", BROKEN, faults=DEPS)
        text = allowed.read_text().replace(
            "url: http://127.0.0.1:9\n  health_path",
            f"url: {REMOTE}\n  allow_hosts: [192.0.2.10]\n  health_path",
            1,
        )
        allowed.write_text(text)

        def args(drill: Path, run_id: str, **kw: object) -> list[str]:
            out = run_args(drill, env, root, run_id)
            for flag, value in kw.items():
                out[out.index(f"--{flag.replace('_', '-')}") + 1] = str(value)
            return out

        cases = {
            "remote": args(plain, "remote", target_url=REMOTE),
            "remote_toxiproxy": args(plain, "remote-toxi", toxiproxy_url="http://192.0.2.10:8474"),
            "allow_hosts": [
                a
                for a in args(allowed, "allow-hosts", toxiproxy_url=dead)
                if a not in ("--target-url",)
            ],
            "allow_remote": [
                *args(plain, "allow-remote", target_url=REMOTE, toxiproxy_url=dead),
                "--allow-remote",
            ],
            "ghost": args(ghost, "ghost"),
            "toxiproxy_down": args(plain, "toxi-down", toxiproxy_url=dead),
            "target_down": args(plain, "target-down", target_url=dead),
        }
        # allow_hosts: the drill's own target URL must stay, so drop --target-url and its value
        allow = cases["allow_hosts"]
        allow.remove(env.target_url)
        children = {name: start_harness(a, root / "logs" / name) for name, a in cases.items()}
        try:
            for child in children.values():
                child.wait(40)
            yield Results(env, root, children)
        finally:
            for child in children.values():
                child.stop()


def _assert_untouched(results: Results, run_id: str) -> None:
    assert is_clean(results.env.adapter)
    assert not (results.root / run_id).exists()  # no run directory: nothing started
    assert not list((results.root / "state").glob("**/*.json"))  # no fault ledger


@pytest.mark.parametrize(
    "case,run_id,what",
    [
        ("remote", "remote", "target http://192.0.2.10:8080"),
        ("remote_toxiproxy", "remote-toxi", "Toxiproxy http://192.0.2.10:8474"),
    ],
)
def test_a_host_outside_loopback_is_refused_with_exit_2(
    results: Results, case: str, run_id: str, what: str
) -> None:
    """A target or Toxiproxy outside loopback is refused (exit 2) with how to allow it."""
    child = results.children[case]
    assert child.proc.returncode == 2, child.stderr
    assert f"{what} is not on loopback" in child.stderr
    assert "target.allow_hosts" in child.stderr and "--allow-remote" in child.stderr
    _assert_untouched(results, run_id)


@pytest.mark.parametrize(
    "case,run_id", [("allow_hosts", "allow-hosts"), ("allow_remote", "allow-remote")]
)
def test_allow_hosts_or_allow_remote_lets_a_remote_host_through(
    results: Results, case: str, run_id: str
) -> None:
    """With target.allow_hosts or --allow-remote the loopback rule passes (the run then meets Toxiproxy)."""
    child = results.children[case]
    assert child.proc.returncode == 3, child.stderr
    assert "not on loopback" not in child.stderr
    assert "is not reachable" in child.stderr
    _assert_untouched(results, run_id)


def test_unknown_proxy_names_proxy_url_and_known_proxies(results: Results) -> None:
    """A fault on a proxy Toxiproxy lacks: exit 3, one sentence naming it, the URL and the known ones."""
    child = results.children["ghost"]
    assert child.proc.returncode == 3, child.stderr
    url = results.env.toxiproxy_url
    assert (
        f"proxy 'ghost' does not exist on Toxiproxy at {url} (known: dep_a, dep_b, front)"
        in child.stderr
    )
    assert "Traceback" not in child.stderr
    _assert_untouched(results, "ghost")


def test_unreachable_toxiproxy_exits_3_with_a_sentence(results: Results) -> None:
    """No Toxiproxy at the URL: exit 3 and a sentence saying so and how to start one."""
    child = results.children["toxiproxy_down"]
    assert child.proc.returncode == 3, child.stderr
    assert "infrastructure error: Toxiproxy at http://127.0.0.1:" in child.stderr
    assert "is not reachable" in child.stderr and "Traceback" not in child.stderr
    _assert_untouched(results, "toxi-down")


def test_unreachable_target_exits_3_with_a_sentence(results: Results) -> None:
    """A target that never answers its health check: exit 3 and a sentence, nothing injected."""
    child = results.children["target_down"]
    assert child.proc.returncode == 3, child.stderr
    assert "target health check http://127.0.0.1:" in child.stderr
    assert "start the system under test" in child.stderr and "Traceback" not in child.stderr
    _assert_untouched(results, "target-down")
