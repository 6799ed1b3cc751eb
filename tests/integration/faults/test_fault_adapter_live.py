"""ToxiproxyAdapter and FaultInjector against the embedded toxiserver over loopback TCP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_helpers import echo_server, round_trip_s

from harness.errors import ProxyNotFound, ToxicNotFound, ToxiproxyError
from harness.faults import (
    FAULT_TYPES,
    Fault,
    FaultEvent,
    FaultEventKind,
    FaultInjector,
    ProxySpec,
    ToxiproxyAdapter,
    expand,
    resolve_fault_script,
)

toxiserver = pytest.importorskip("toxiserver")

REPO = Path(__file__).resolve().parents[3]
HELPDESK = ["helpdesk_nlu", "helpdesk_kb", "helpdesk_orders_primary", "helpdesk_orders_replica",
            "helpdesk_tickets", "helpdesk_agents"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with echo_server() as addr:
        yield addr


@pytest.fixture(scope="module")
def shared_server() -> Iterator[str]:
    with toxiserver.ToxiproxyServer(host="127.0.0.1", port=0) as srv:
        yield srv.url


@pytest.fixture
def server(shared_server: str) -> Iterator[str]:
    """The module's server, emptied of proxies after each test."""
    yield shared_server
    cleaner = ToxiproxyAdapter(shared_server)
    for name in cleaner.proxies():
        cleaner.delete_proxy(name)


@pytest.fixture
def adapter(server: str, upstream: str) -> ToxiproxyAdapter:
    adapter = ToxiproxyAdapter(server, timeout_s=5.0)
    adapter.ensure_proxies([ProxySpec(name, upstream) for name in HELPDESK])
    return adapter


def test_ensure_proxies_creates_then_keeps(server: str, upstream: str) -> None:
    """ensure_proxies creates proxies on free ports and a repeat changes nothing."""
    adapter = ToxiproxyAdapter(server)
    first = adapter.ensure_proxies([ProxySpec("a", upstream), ProxySpec("b", upstream,
                                                                        "127.0.0.1:0")])
    again = adapter.ensure_proxies([ProxySpec("a", upstream), ProxySpec("b", upstream,
                                                                        "127.0.0.1:0")])
    assert first == again and first["a"].enabled and not first["a"].listen.endswith(":0")
    assert round_trip_s(first["b"].listen) < 1.0
    moved = adapter.ensure_proxies([ProxySpec("a", "127.0.0.1:1")])
    assert moved["a"].upstream == "127.0.0.1:1"
    assert adapter.version()


@pytest.mark.parametrize("type_name", [t for t, spec in FAULT_TYPES.items() if spec.toxic])
def test_every_toxic_type_round_trips(adapter: ToxiproxyAdapter, type_name: str) -> None:
    """Each toxic type can be added with its wire attributes and removed again."""
    required = {a.field: 5 for a in FAULT_TYPES[type_name].attributes}
    if type_name == "slicer":
        required["size_variation_bytes"] = 1
    fault = Fault(name="f", proxy="helpdesk_kb", type=type_name, toxicity=0.5, **required)
    spec = fault.toxic_spec("harness.t.f")
    adapter.add_toxic("helpdesk_kb", spec)
    (seen,) = adapter.proxies()["helpdesk_kb"].toxics
    assert (seen.name, seen.type, seen.stream, seen.toxicity) == ("harness.t.f", type_name,
                                                                  "downstream", 0.5)
    assert {k: seen.attributes[k] for k in spec.attributes} == dict(spec.attributes)
    adapter.remove_toxic("helpdesk_kb", "harness.t.f")
    assert adapter.proxies()["helpdesk_kb"].toxics == []


def test_latency_and_down_take_effect(adapter: ToxiproxyAdapter) -> None:
    """A 200 ms latency toxic slows a round trip; a disabled proxy refuses connections."""
    listen = adapter.proxies()["helpdesk_nlu"].listen
    fault = Fault(name="slow", proxy="helpdesk_nlu", type="latency", latency_ms=200)
    adapter.add_toxic("helpdesk_nlu", fault.toxic_spec("harness.t.slow"))
    assert round_trip_s(listen) >= 0.19
    adapter.remove_toxic("helpdesk_nlu", "harness.t.slow")
    adapter.set_enabled("helpdesk_nlu", False)
    with pytest.raises(OSError):
        round_trip_s(listen, timeout_s=1.0)
    adapter.set_enabled("helpdesk_nlu", True)
    assert round_trip_s(listen) < 0.19


def test_unknown_proxy_message(adapter: ToxiproxyAdapter) -> None:
    """An unknown proxy is named with the server URL and every known proxy."""
    known = ", ".join(sorted(HELPDESK))
    expected = (f"proxy 'crm' does not exist on Toxiproxy at {adapter.url} (known: {known}) "
                "- create it or fix 'proxy:'")
    with pytest.raises(ProxyNotFound) as info:
        adapter.require_proxies(["crm"])
    assert str(info.value) == expected
    fault = Fault(name="f", proxy="crm", type="latency", latency_ms=1)
    with pytest.raises(ProxyNotFound) as info:
        adapter.add_toxic("crm", fault.toxic_spec("x"))
    assert str(info.value) == expected
    with pytest.raises(ProxyNotFound, match="proxy 'crm'"):
        adapter.set_enabled("crm", False)


def test_unknown_toxic_message(adapter: ToxiproxyAdapter) -> None:
    """Removing a missing toxic is quiet by default and ToxicNotFound on request."""
    adapter.remove_toxic("helpdesk_kb", "nope")
    with pytest.raises(ToxicNotFound, match=f"toxic 'nope' does not exist on proxy "
                                            f"'helpdesk_kb' at Toxiproxy {adapter.url}"):
        adapter.remove_toxic("helpdesk_kb", "nope", missing_ok=False)


def test_server_down_names_url_and_fix() -> None:
    """A stopped server gives a ToxiproxyError naming its URL and how to start one."""
    proc = toxiserver.start_subprocess(port=0)
    try:
        url = proc.url
        assert ToxiproxyAdapter(url).version()
    finally:
        proc.stop()
    with pytest.raises(ToxiproxyError) as info:
        ToxiproxyAdapter(url, sleep=lambda s: None).proxies()
    message = str(info.value)
    assert message.startswith(f"Toxiproxy at {url} is not reachable")
    assert f"toxiserver --port {proc.port}" in message


def test_injector_runs_a_shipped_timeline(adapter: ToxiproxyAdapter, tmp_path: Path) -> None:
    """The multi-dependency script applies and reverts on a real server, leaving it clean."""
    script = resolve_fault_script("multi-dependency", search_dirs=[REPO / "faults"])
    adapter.require_proxies(script.proxies)
    events: list[FaultEvent] = []
    injector = FaultInjector(adapter, "it1", ledger_dir=tmp_path, on_event=events.append)
    windows = expand(script, 0.0, 10.0)
    try:
        for w in windows:
            injector.apply(w)
        state = adapter.proxies()
        assert not state["helpdesk_orders_primary"].enabled
        assert [t.name for t in state["helpdesk_nlu"].toxics] == ["harness.it1.nlu-latency"]
        assert [t.type for t in state["helpdesk_kb"].toxics] == ["slow_close"]
        injector.revert(windows[1])
        assert adapter.proxies()["helpdesk_orders_primary"].enabled
    finally:
        injector.revert_all()
    state = adapter.proxies()
    assert all(p.enabled and not p.toxics for p in state.values())
    assert [e.kind for e in events].count(FaultEventKind.REVERTED) == 3
    assert not injector.ledger_path.exists()
