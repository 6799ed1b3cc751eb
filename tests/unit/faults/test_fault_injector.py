"""FaultInjector and remove_leftovers against a fake adapter: no server, no sleeping."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.errors import InputError, ProxyNotFound, ToxicAlreadyExists, ToxiproxyError
from harness.faults import (
    Fault,
    FaultEvent,
    FaultEventKind,
    FaultInjector,
    FaultWindow,
    ProxyInfo,
    ToxicInfo,
    ToxicSpec,
    parse_toxic_name,
    remove_leftovers,
    sweep_leftovers,
    toxic_name,
)

URL = "http://127.0.0.1:8474"


class FakeAdapter:
    """In-memory stand-in for ToxiproxyAdapter with switchable failures and a call log."""

    def __init__(self, *proxies: str) -> None:
        self.url = URL
        self.enabled = {p: True for p in proxies}
        self.toxics: dict[str, dict[str, ToxicSpec]] = {p: {} for p in proxies}
        self.calls: list[tuple[str, ...]] = []
        self.down = False
        self.on_call = lambda op: None
        self.on_send = lambda op: None  # after before_send: while "on the wire"

    def _enter(self, *call: str, before_send: Callable[[], None] | None = None) -> None:
        self.calls.append(call)
        self.on_call(call)
        if before_send is not None:
            before_send()
        self.on_send(call)
        if self.down:
            raise ToxiproxyError(f"Toxiproxy at {URL} is not reachable")

    def _proxy(self, name: str) -> None:
        if name not in self.enabled:
            raise ProxyNotFound(f"proxy '{name}' does not exist")

    def proxies(self) -> dict[str, ProxyInfo]:
        self._enter("proxies")
        return {
            p: ProxyInfo(p, "127.0.0.1:1", "127.0.0.1:2", on,
                         [ToxicInfo(t.name, t.type, str(t.stream), t.toxicity, t.attributes)
                          for t in self.toxics[p].values()])
            for p, on in self.enabled.items()
        }

    def require_proxies(self, names: list[str]) -> None:
        self._enter("require", *names)
        for n in names:
            self._proxy(n)

    def add_toxic(self, proxy: str, toxic: ToxicSpec, *,
                  before_send: Callable[[], None] | None = None) -> None:
        self._enter("add", proxy, toxic.name, before_send=before_send)
        self._proxy(proxy)
        if toxic.name in self.toxics[proxy]:
            raise ToxicAlreadyExists(toxic.name)
        self.toxics[proxy][toxic.name] = toxic

    def update_toxic(self, proxy: str, toxic: ToxicSpec, *,
                     before_send: Callable[[], None] | None = None) -> None:
        self._enter("update", proxy, toxic.name, before_send=before_send)
        self.toxics[proxy][toxic.name] = toxic

    def remove_toxic(self, proxy: str, toxic_name: str, *, missing_ok: bool = True,
                     before_send: Callable[[], None] | None = None) -> None:
        self._enter("remove", proxy, toxic_name, before_send=before_send)
        self.toxics.get(proxy, {}).pop(toxic_name, None)

    def set_enabled(self, proxy: str, enabled: bool, *,
                    before_send: Callable[[], None] | None = None) -> None:
        self._enter("enable" if enabled else "disable", proxy, before_send=before_send)
        self._proxy(proxy)
        self.enabled[proxy] = enabled


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter("nlu", "orders")


@pytest.fixture
def events() -> list[FaultEvent]:
    return []


@pytest.fixture
def injector(adapter: FakeAdapter, events: list[FaultEvent], tmp_path: Path) -> FaultInjector:
    return make_injector(adapter, events, tmp_path, "run1")


def make_injector(adapter: FakeAdapter, events: list[FaultEvent], ledger_dir: Path,
                  run_id: str) -> FaultInjector:
    return FaultInjector(adapter, run_id, ledger_dir=ledger_dir, on_event=events.append,  # type: ignore[arg-type]
                         clock=Clock(), wall_clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def window(fault: Fault, start_s: float = 0.0, end_s: float = 10.0) -> FaultWindow:
    return FaultWindow(fault, start_s, end_s)


LATENCY = Fault(name="nlu-latency", proxy="nlu", type="latency", latency_ms=1500, jitter_ms=200)
DOWN = Fault(name="orders-down", proxy="orders", type="down")


def test_apply_names_the_toxic_after_the_run(injector: FaultInjector, adapter: FakeAdapter,
                                            events: list[FaultEvent]) -> None:
    """A toxic is added as harness.<run>.<fault> with Toxiproxy's attribute names."""
    injector.apply(window(LATENCY))
    toxic = adapter.toxics["nlu"]["harness.run1.nlu-latency"]
    assert toxic.attributes == {"latency": 1500, "jitter": 200}
    assert events == [FaultEvent(FaultEventKind.APPLIED, "nlu-latency", "nlu",
                                 "harness.run1.nlu-latency", 100.0,
                                 datetime(2024, 1, 1, tzinfo=UTC), window=window(LATENCY))]


def test_apply_is_idempotent(injector: FaultInjector, adapter: FakeAdapter,
                             events: list[FaultEvent]) -> None:
    """Applying the same fault twice changes the server once and emits one event."""
    injector.apply(window(LATENCY))
    injector.apply(window(LATENCY))
    injector.apply(window(DOWN))
    injector.apply(window(DOWN))
    assert [c[0] for c in adapter.calls if c[0] in ("add", "disable")] == ["add", "disable"]
    assert [e.kind for e in events] == [FaultEventKind.APPLIED] * 2


def test_revert_is_safe_twice_and_when_never_applied(injector: FaultInjector,
                                                     adapter: FakeAdapter,
                                                     events: list[FaultEvent]) -> None:
    """revert() of a never-applied fault does nothing; a second revert does nothing either."""
    injector.revert(window(DOWN))
    assert adapter.calls == [] and events == []
    injector.apply(window(DOWN))
    injector.revert(window(DOWN))
    injector.revert(window(DOWN))
    assert adapter.enabled["orders"] is True
    assert [e.kind for e in events] == [FaultEventKind.APPLIED, FaultEventKind.REVERTED]
    assert [e.toxic for e in events] == ["down", "down"]


def test_ledger_is_written_before_the_proxy_is_disabled(injector: FaultInjector,
                                                        adapter: FakeAdapter) -> None:
    """When the disable call goes out, the ledger already lists that proxy (with our pid)."""
    seen: list[dict[str, object]] = []

    def check(call: tuple[str, ...]) -> None:
        if call[0] == "disable":
            seen.append(json.loads(injector.ledger_path.read_text()))

    adapter.on_call = check
    injector.apply(window(DOWN))
    (doc,) = seen
    assert doc["pid"] == os.getpid() and doc["run_id"] == "run1" and doc["server_url"] == URL
    assert doc["entries"] == [{"kind": "down", "proxy": "orders", "fault": "orders-down",
                               "toxic": None, "was_enabled": True}]


def test_clean_revert_removes_the_ledger(injector: FaultInjector) -> None:
    """After every fault is reverted the run's ledger file is gone."""
    injector.apply(window(DOWN))
    injector.apply(window(LATENCY))
    assert injector.ledger_path.exists()
    injector.revert(window(DOWN))
    assert injector.ledger_path.exists()
    injector.revert(window(LATENCY))
    assert not injector.ledger_path.exists()


def test_already_disabled_proxy_is_left_disabled(injector: FaultInjector,
                                                 adapter: FakeAdapter) -> None:
    """A proxy someone else took down stays down after our down fault is reverted."""
    adapter.enabled["orders"] = False
    injector.apply(window(DOWN))
    injector.revert(window(DOWN))
    assert adapter.enabled["orders"] is False
    assert not any(c[0] in ("enable", "disable") for c in adapter.calls)


def test_existing_toxic_of_same_name_is_updated(injector: FaultInjector,
                                                adapter: FakeAdapter) -> None:
    """A toxic left with our exact name (e.g. a retried POST) is updated, not an error."""
    adapter.toxics["nlu"]["harness.run1.nlu-latency"] = ToxicSpec("harness.run1.nlu-latency",
                                                                  "latency")
    injector.apply(window(LATENCY))
    assert ("update", "nlu", "harness.run1.nlu-latency") in adapter.calls
    assert adapter.toxics["nlu"]["harness.run1.nlu-latency"].attributes["latency"] == 1500


def test_apply_on_unknown_proxy_leaves_nothing_behind(injector: FaultInjector) -> None:
    """ProxyNotFound propagates and neither state nor ledger keeps the fault."""
    with pytest.raises(ProxyNotFound):
        injector.apply(window(Fault(name="x", proxy="crm", type="latency", latency_ms=1)))
    assert injector.active == [] and not injector.ledger_path.exists()


def test_revert_all_after_partial_failure(injector: FaultInjector, adapter: FakeAdapter,
                                          events: list[FaultEvent]) -> None:
    """revert_all tries every fault, raises one ToxiproxyError, and a retry finishes the job."""
    injector.apply(window(LATENCY))
    injector.apply(window(DOWN))
    adapter.down = True
    with pytest.raises(ToxiproxyError) as info:
        injector.revert_all()
    assert "could not revert 2 fault(s)" in str(info.value)
    assert "fault 'orders-down' on proxy 'orders'" in str(info.value)
    assert str(injector.ledger_path) in str(info.value)
    assert [e.kind for e in events[2:]] == [FaultEventKind.REVERT_FAILED] * 2
    assert sorted(injector.active) == ["nlu-latency", "orders-down"]
    adapter.down = False
    injector.revert_all()
    assert injector.active == [] and adapter.enabled["orders"] and not adapter.toxics["nlu"]
    assert not injector.ledger_path.exists()


def test_revert_all_continues_past_one_failure(injector: FaultInjector,
                                               adapter: FakeAdapter) -> None:
    """One fault failing to revert does not stop the others from being reverted."""
    injector.apply(window(LATENCY))
    injector.apply(window(DOWN))

    def fail_enable(call: tuple[str, ...]) -> None:
        if call[0] == "enable":
            raise ToxiproxyError("boom")

    adapter.on_call = fail_enable
    with pytest.raises(ToxiproxyError, match="could not revert 1 fault"):
        injector.revert_all()
    assert not adapter.toxics["nlu"] and injector.active == ["orders-down"]


def test_revert_all_tolerates_gone_toxic_and_gone_proxy(injector: FaultInjector,
                                                        adapter: FakeAdapter) -> None:
    """A toxic or proxy removed behind our back counts as reverted."""
    injector.apply(window(LATENCY))
    injector.apply(window(DOWN))
    adapter.toxics["nlu"].clear()
    del adapter.enabled["orders"]
    injector.revert_all()
    assert injector.active == []


def test_failed_apply_stays_registered_for_revert(injector: FaultInjector,
                                                  adapter: FakeAdapter) -> None:
    """An apply that fails midway (server gone) is still undone by revert_all later."""
    adapter.down = True
    with pytest.raises(ToxiproxyError):
        injector.apply(window(LATENCY))
    assert injector.active == ["nlu-latency"] and injector.ledger_path.exists()
    adapter.down = False
    injector.revert_all()
    assert ("remove", "nlu", "harness.run1.nlu-latency") in adapter.calls


def test_flapping_windows_reuse_one_toxic_name(injector: FaultInjector,
                                               adapter: FakeAdapter) -> None:
    """Successive windows of one fault apply and revert the same named toxic."""
    for start in (0.0, 4.0):
        injector.apply(window(LATENCY, start, start + 2))
        injector.revert(window(LATENCY, start, start + 2))
    assert [c[0] for c in adapter.calls if c[0] in ("add", "remove")] == ["add", "remove"] * 2


def test_bad_run_id_is_refused(adapter: FakeAdapter, tmp_path: Path) -> None:
    """A run id that cannot live inside a toxic name is refused up front."""
    with pytest.raises(InputError, match="run id 'a.b'"):
        make_injector(adapter, [], tmp_path, "a.b")


def test_toxic_names_round_trip() -> None:
    """Harness toxic names parse back to (run, fault); others are not ours."""
    assert parse_toxic_name(toxic_name("r-1", "nlu-slow")) == ("r-1", "nlu-slow")
    assert parse_toxic_name("latency_downstream") is None
    assert parse_toxic_name("harness.") is None


def dead_pid() -> int:
    return 2**31 - 1  # above any pid_max: no such process


def plant_ledger(ledger_dir: Path, run_id: str, pid: int, *entries: dict[str, object]) -> Path:
    path = ledger_dir / f"{run_id}.json"
    path.write_text(json.dumps({"format": 1, "run_id": run_id, "pid": pid, "pid_start": None,
                                "host": "", "server_url": URL, "entries": list(entries)}))
    return path


def test_remove_leftovers_of_dead_run_only(adapter: FakeAdapter, tmp_path: Path) -> None:
    """A dead run's proxy is re-enabled and its toxic removed; live and foreign ones stay."""
    adapter.enabled["orders"] = False
    adapter.toxics["nlu"] = {n: ToxicSpec(n, "latency") for n in
                             ("harness.dead.a", "harness.live.b", "someone-elses")}
    ledger = plant_ledger(tmp_path, "dead", dead_pid(), {"kind": "down", "proxy": "orders",
                                                         "fault": "o", "was_enabled": True})
    plant_ledger(tmp_path, "live", os.getpid())
    done = remove_leftovers(adapter, ledger_dir=tmp_path)  # type: ignore[arg-type]
    assert done == ["proxy 'orders': re-enabled (taken down by fault 'o' of run 'dead')",
                    "proxy 'nlu': removed toxic 'harness.dead.a'"]
    assert adapter.enabled["orders"] is True
    assert set(adapter.toxics["nlu"]) == {"harness.live.b", "someone-elses"}
    assert not ledger.exists() and (tmp_path / "live.json").exists()


def test_remove_leftovers_for_one_run_id(adapter: FakeAdapter, tmp_path: Path) -> None:
    """With run_id, every harness toxic of that run goes, even if its owner lives."""
    adapter.toxics["nlu"] = {n: ToxicSpec(n, "latency") for n in
                             ("harness.me.a", "harness.other.b")}
    plant_ledger(tmp_path, "me", os.getpid())
    plant_ledger(tmp_path, "other", os.getpid())
    done = remove_leftovers(adapter, ledger_dir=tmp_path, run_id="me")  # type: ignore[arg-type]
    assert done == ["proxy 'nlu': removed toxic 'harness.me.a'"]
    assert set(adapter.toxics["nlu"]) == {"harness.other.b"}


def test_remove_leftovers_ignores_other_servers(adapter: FakeAdapter, tmp_path: Path) -> None:
    """A dead ledger written against another server URL is left alone."""
    adapter.enabled["orders"] = False
    path = plant_ledger(tmp_path, "dead", dead_pid(), {"kind": "down", "proxy": "orders",
                                                       "fault": "o", "was_enabled": True})
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "server_url": "http://10.0.0.1:8474"}))
    assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # type: ignore[arg-type]
    assert adapter.enabled["orders"] is False and path.exists()


def test_remove_leftovers_skips_unreadable_ledgers(adapter: FakeAdapter, tmp_path: Path) -> None:
    """A corrupt ledger is skipped (and kept), not a crash."""
    (tmp_path / "bad.json").write_text("{not json")
    assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # type: ignore[arg-type]
    assert (tmp_path / "bad.json").exists()


def test_overlapping_flap_windows_adopt_the_newer_one(injector: FaultInjector,
                                                      adapter: FakeAdapter) -> None:
    """Applying the next window before reverting the last changes nothing; only it reverts."""
    first, second = window(DOWN, 0, 2), window(DOWN, 2, 4)
    injector.apply(first)
    injector.apply(second)
    injector.revert(first)
    assert adapter.enabled["orders"] is False
    injector.revert(second)
    assert adapter.enabled["orders"] is True
    assert [c[0] for c in adapter.calls if c[0] in ("enable", "disable")] == ["disable", "enable"]


def test_same_fault_name_for_different_faults_is_refused(injector: FaultInjector) -> None:
    """Two different faults with one name on one proxy cannot be active together."""
    injector.apply(window(LATENCY))
    other = Fault(name="nlu-latency", proxy="nlu", type="latency", latency_ms=1)
    with pytest.raises(InputError, match="two different faults named 'nlu-latency'"):
        injector.apply(window(other))


def test_same_fault_name_on_two_proxies_is_fine(injector: FaultInjector,
                                                adapter: FakeAdapter) -> None:
    """Toxic names are per proxy, so one fault name may be used on two proxies."""
    injector.apply(window(LATENCY))
    injector.apply(window(LATENCY.model_copy(update={"proxy": "orders"})))
    assert set(adapter.toxics["orders"]) == set(adapter.toxics["nlu"]) == {
        "harness.run1.nlu-latency"}
    injector.revert_all()
    assert not adapter.toxics["orders"] and not adapter.toxics["nlu"]


def timed_injector(adapter: FakeAdapter, events: list[FaultEvent], ledger_dir: Path,
                   clock: Clock) -> FaultInjector:
    return FaultInjector(adapter, "run1", ledger_dir=ledger_dir, on_event=events.append,  # type: ignore[arg-type]
                         clock=clock, wall_clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def test_event_times_are_read_right_before_the_effective_request(adapter: FakeAdapter,
                                                                 tmp_path: Path) -> None:
    """Reads before the change and the request's own round trip do not delay t_s."""
    clock, events = Clock(), []
    injector = timed_injector(adapter, events, tmp_path, clock)

    def before_request(call: tuple[str, ...]) -> None:
        clock.now += 1.0  # time passing before a request goes out (reads, lock waits)

    def on_the_wire(call: tuple[str, ...]) -> None:
        clock.now += 5.0  # the request's round trip (and its retries) take long

    adapter.on_call, adapter.on_send = before_request, on_the_wire
    injector.apply(window(LATENCY))  # add: sent at 101, back at 106
    injector.apply(window(DOWN))  # require 107 -> 112, proxies 113 -> 118, disable sent at 119
    injector.revert(window(LATENCY))  # remove sent at 125
    injector.revert(window(DOWN))  # enable sent at 131
    assert [(e.kind.value, e.fault, e.t_s) for e in events] == [
        ("applied", "nlu-latency", 101.0), ("applied", "orders-down", 119.0),
        ("reverted", "nlu-latency", 125.0), ("reverted", "orders-down", 131.0)]
    assert [e.window for e in events] == [window(LATENCY), window(DOWN)] * 2


def test_already_disabled_proxy_is_timed_when_decided(adapter: FakeAdapter,
                                                      tmp_path: Path) -> None:
    """No request makes the down effective: its time is when the injector decided."""
    clock, events = Clock(), []
    injector = timed_injector(adapter, events, tmp_path, clock)
    adapter.enabled["orders"] = False
    injector.apply(window(DOWN))
    assert [(e.kind, e.t_s, e.detail) for e in events] == [
        (FaultEventKind.APPLIED, 100.0, "proxy was already disabled")]


def test_failing_on_event_is_logged_not_raised(adapter: FakeAdapter, tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """A journal that cannot be written does not stop a revert half-way."""
    def broken(event: FaultEvent) -> None:
        raise OSError("disk full")

    injector = FaultInjector(adapter, "run1", ledger_dir=tmp_path, on_event=broken)  # type: ignore[arg-type]
    injector.apply(window(DOWN))
    injector.revert_all()
    assert adapter.enabled["orders"] and injector.active == []
    assert "disk full" in caplog.text


def test_is_applied_follows_the_window(injector: FaultInjector) -> None:
    """is_applied/applied_windows say which window the injector holds, half-applied ones too."""
    first, second = window(DOWN, 0, 2), window(DOWN, 4, 6)
    assert not injector.is_applied(first) and injector.applied_windows == []
    injector.apply(first)
    assert injector.is_applied(first) and not injector.is_applied(second)
    assert injector.applied_windows == [first]
    injector.revert(first)
    assert not injector.is_applied(first) and injector.applied_windows == []


def test_failed_apply_is_undone_not_reverted(injector: FaultInjector, adapter: FakeAdapter,
                                             events: list[FaultEvent]) -> None:
    """An apply that failed was never 'applied', so undoing it is no 'reverted' event either."""
    adapter.down = True
    with pytest.raises(ToxiproxyError):
        injector.apply(window(LATENCY))
    assert injector.is_applied(window(LATENCY))  # still to be undone
    adapter.down = False
    injector.revert_all()
    assert [e.kind for e in events] == [FaultEventKind.APPLY_UNDONE]
    assert "apply had failed midway" in events[0].detail


def test_failed_revert_then_revert_all_reports_both(injector: FaultInjector, adapter: FakeAdapter,
                                                    events: list[FaultEvent]) -> None:
    """A revert that fails stays applied; the later successful revert_all reports 'reverted'."""
    injector.apply(window(DOWN))
    adapter.down = True
    with pytest.raises(ToxiproxyError):
        injector.revert(window(DOWN))
    assert injector.is_applied(window(DOWN))
    adapter.down = False
    injector.revert_all()
    assert [e.kind for e in events] == [FaultEventKind.APPLIED, FaultEventKind.REVERT_FAILED,
                                        FaultEventKind.REVERTED]
    assert adapter.enabled["orders"] and not injector.is_applied(window(DOWN))


def test_toxic_of_a_run_without_ledger_is_left_alone_and_reported(adapter: FakeAdapter,
                                                                  tmp_path: Path) -> None:
    """No ledger names the run: maybe it is starting, maybe it uses another ledger folder."""
    adapter.toxics["nlu"] = {"harness.elsewhere.a": ToxicSpec("harness.elsewhere.a", "latency")}
    sweep = sweep_leftovers(adapter, ledger_dir=tmp_path)  # type: ignore[arg-type]
    assert sweep.removed == []
    [line] = sweep.unowned
    assert "left toxic 'harness.elsewhere.a' alone" in line and "run 'elsewhere'" in line
    assert "--force-unowned" in line
    assert set(adapter.toxics["nlu"]) == {"harness.elsewhere.a"}
    assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # type: ignore[arg-type]


def test_force_unowned_removes_toxics_without_ledger_but_never_live_ones(
        adapter: FakeAdapter, tmp_path: Path) -> None:
    """--force-unowned takes toxics of runs without ledger; a live run's toxic still stays."""
    adapter.toxics["nlu"] = {n: ToxicSpec(n, "latency") for n in
                             ("harness.elsewhere.a", "harness.live.b", "someone-elses")}
    plant_ledger(tmp_path, "live", os.getpid())
    sweep = sweep_leftovers(adapter, ledger_dir=tmp_path, force_unowned=True)  # type: ignore[arg-type]
    assert sweep.removed == ["proxy 'nlu': removed toxic 'harness.elsewhere.a'"]
    assert sweep.unowned == []
    assert set(adapter.toxics["nlu"]) == {"harness.live.b", "someone-elses"}


def test_run_starting_during_cleanup_keeps_its_toxic(adapter: FakeAdapter,
                                                     tmp_path: Path) -> None:
    """The race: run A ledgers and adds a toxic after B read the ledgers, before B lists proxies."""
    run_a = make_injector(adapter, [], tmp_path, "run-a")

    def a_starts_now(call: tuple[str, ...]) -> None:
        if call == ("proxies",) and not run_a.active:
            run_a.apply(window(LATENCY))

    adapter.on_call = a_starts_now
    assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # type: ignore[arg-type]
    assert set(adapter.toxics["nlu"]) == {"harness.run-a.nlu-latency"}
    assert run_a.ledger_path.exists()


def test_dead_run_id_reused_by_a_new_run_during_cleanup_is_spared(adapter: FakeAdapter,
                                                                  tmp_path: Path) -> None:
    """A dead ledger replaced by a live run of the same id before the listing: its toxic stays."""
    adapter.toxics["nlu"] = {"harness.again.a": ToxicSpec("harness.again.a", "latency")}
    plant_ledger(tmp_path, "again", dead_pid())

    def reused(call: tuple[str, ...]) -> None:
        if call == ("proxies",):
            plant_ledger(tmp_path, "again", os.getpid())

    adapter.on_call = reused
    assert remove_leftovers(adapter, ledger_dir=tmp_path) == []  # type: ignore[arg-type]
    assert set(adapter.toxics["nlu"]) == {"harness.again.a"}
    assert (tmp_path / "again.json").exists()  # the new run's ledger is not deleted either
