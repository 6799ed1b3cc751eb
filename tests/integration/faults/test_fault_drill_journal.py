"""Drills (in child processes) journal faults when they took effect, and refuse name clashes.

The timing test puts the Toxiproxy API behind a proxy that delays every answer
by 1 s, so a fault recorded after the call returns would be a second late. The
test watches the server directly (no delay) and compares the instant each change
became visible there with the journal's ``t_s`` on the drill clock.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "safety"))
from safety_helpers import (  # noqa: E402 (the safety tests' helpers, shared)
    DEPS_BROKEN,
    DrillEnv,
    drill_env,
    events,
    is_clean,
    report_json,
    run_args,
    start_harness,
    toxiproxy_state,
    write_drill,
)

from harness.faults import ProxySpec, Stream, ToxicSpec  # noqa: E402

pytestmark = pytest.mark.slow

ERRORS_LOW = [{"type": "error_rate", "max_ratio": 0.5}]
API_DELAY_MS = 1000


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DrillEnv]:
    monkeypatch.setenv("HARNESS_STATE_DIR", str(tmp_path / "state"))
    with drill_env() as running:
        yield running


class Watcher:
    """Polls the server every 10 ms; remembers when each fault change first became visible."""

    def __init__(self, env: DrillEnv) -> None:
        self._adapter = env.adapter
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            state = self._adapter.proxies()
            now = time.time()
            facts = {
                "dep-a-slow applied": "harness.timed.dep-a-slow"
                in {t.name for t in state["dep_a"].toxics},
                "dep-b-down applied": not state["dep_b"].enabled,
            }
            for name, true in facts.items():
                if true:
                    self.seen.setdefault(name, now)
                elif name in self.seen:
                    self.seen.setdefault(name.replace("applied", "reverted"), now)
            time.sleep(0.01)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def test_fault_times_are_when_the_request_went_out_not_when_it_returned(
    env: DrillEnv, tmp_path: Path
) -> None:
    """With every API answer 1 s late, applied/reverted times still match the server's change."""
    api_address = env.toxiproxy_url.removeprefix("http://")
    made = env.adapter.ensure_proxies([ProxySpec("api", api_address)])
    env.adapter.add_toxic(
        "api", ToxicSpec("slow-answers", "latency", Stream.DOWNSTREAM, 1.0,
                         {"latency": API_DELAY_MS})
    )
    drill = write_drill(
        tmp_path,
        "timed-drill",
        [
            {"name": "base", "duration_s": 1, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 2, "faults": ["deps-broken"]},
            {"name": "after", "duration_s": 1},
        ],
        faults={"deps-broken": DEPS_BROKEN},
    )
    args = run_args(drill, env, tmp_path, "timed")
    args[args.index(env.toxiproxy_url)] = f"http://{made['api'].listen}"
    with Watcher(env) as watcher:
        child = start_harness(args, tmp_path / "logs")
        try:
            assert child.wait(90) == 0, child.stderr
        finally:
            child.stop()
    run_dir = tmp_path / "timed"
    t0_unix = json.loads((run_dir / "raw" / "run.json").read_text())["started_at_unix_s"]
    journaled = {
        f"{e['data']['fault']} {e['kind'].removeprefix('fault_')}": e
        for e in events(run_dir, "fault_applied") + events(run_dir, "fault_reverted")
    }
    assert sorted(journaled) == sorted(watcher.seen) == [
        "dep-a-slow applied", "dep-a-slow reverted", "dep-b-down applied", "dep-b-down reverted"]
    for name, entry in journaled.items():
        visible_s = watcher.seen[name] - t0_unix
        # sent before the server changed, and not a 1 s answer delay before it
        assert -0.01 <= visible_s - entry["t_s"] < 0.5, (name, entry["t_s"], visible_s)
        assert entry["data"]["script"] == "deps-broken"
    faults = {f["fault"]: f for f in report_json(run_dir)["faults"]}
    for fault in ("dep-a-slow", "dep-b-down"):
        assert faults[fault]["applied_s"] == journaled[f"{fault} applied"]["t_s"]
        assert faults[fault]["reverted_s"] == journaled[f"{fault} reverted"]["t_s"]
        assert (faults[fault]["planned_start_s"], faults[fault]["planned_end_s"]) == (1.0, 3.0)
    env.adapter.delete_proxy("api")
    assert is_clean(env.adapter)


def test_two_scripts_with_one_fault_name_on_one_proxy_exit_2_touching_nothing(
    env: DrillEnv, tmp_path: Path
) -> None:
    """The clash is found when the drill is planned: exit 2, both scripts named, no run dir."""
    slow = {"name": "dep-a-bad", "proxy": "dep_a", "type": "latency", "latency_ms": 50}
    drill = write_drill(
        tmp_path,
        "clash-drill",
        [
            {"name": "base", "duration_s": 1, "checks": ERRORS_LOW},
            {"name": "more", "duration_s": 3, "faults": ["bad-1", "bad-2"]},
        ],
        faults={"bad-1": [{**slow, "duration_s": 2}], "bad-2": [{**slow, "start_s": 1}]},
    )
    before = toxiproxy_state(env.adapter)
    child = start_harness(run_args(drill, env, tmp_path, "clash"), tmp_path / "logs")
    try:
        assert child.wait(60) == 2, child.stderr
    finally:
        child.stop()
    output = child.stdout + child.stderr
    assert str(drill) in output
    assert "script 'bad-1' (phase 'more', 1-3 s)" in output
    assert "script 'bad-2' (phase 'more', 2-4 s)" in output
    assert toxiproxy_state(env.adapter) == before
    assert not (tmp_path / "clash").exists()
