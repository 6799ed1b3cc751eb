"""Preflight never re-points a shared proxy: a drill whose proxy differs from the server's is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_helpers import echo_server

from harness.drill.model import Drill
from harness.drill.plan import DrillPlan
from harness.drill.preflight import preflight
from harness.errors import ProxyConflict
from harness.faults import ProxySpec, ToxiproxyAdapter

toxiserver = pytest.importorskip("toxiserver")


@pytest.fixture
def server() -> Iterator[str]:
    with toxiserver.ToxiproxyServer(host="127.0.0.1", port=0) as srv:
        yield srv.url


def _plan(proxies: list[dict[str, str]], toxiproxy_url: str) -> DrillPlan:
    drill = Drill.model_validate(
        {
            "name": "proxy-conflict",
            "target": {"url": "http://127.0.0.1:9"},
            "toxiproxy": {"url": toxiproxy_url},
            "proxies": proxies,
            "load": {"scenario": "s.py", "shape": {"type": "steady", "level": 1}},
            "phases": [
                {"name": "p", "duration_s": 1, "checks": [{"type": "error_rate", "max_ratio": 0.1}]}
            ],
        }
    )
    return DrillPlan(drill, None, scenario_path=None, faults=[], toxiproxy_url=toxiproxy_url)  # type: ignore[arg-type]


def test_a_proxy_with_another_upstream_is_refused_and_left_as_it_was(server: str) -> None:
    """The app's 'db' proxy points at A; a drill saying B is refused (exit 3) and 'db' still points at A."""
    with echo_server() as a, echo_server() as b, ToxiproxyAdapter(server) as adapter:
        adapter.ensure_proxies([ProxySpec("db", a)])
        before = adapter.proxies()["db"]
        plan = _plan([{"name": "db", "upstream": b}], server)
        with pytest.raises(ProxyConflict) as refused:
            preflight(plan, adapter, health_timeout_s=0.5)
        message = str(refused.value)
        assert f"upstream {a}" in message and f"upstream {b}" in message
        assert "never re-points" in message
        assert adapter.proxies()["db"] == before


def test_a_matching_proxy_is_kept_and_a_missing_one_is_created(server: str) -> None:
    """Same upstream (any port for listen 127.0.0.1:0): kept as is; an absent proxy is created."""
    with echo_server() as a, ToxiproxyAdapter(server) as adapter:
        adapter.ensure_proxies([ProxySpec("db", a)])
        before = adapter.proxies()["db"]
        plan = _plan([{"name": "db", "upstream": a}, {"name": "cache", "upstream": a}], server)
        with pytest.raises(Exception, match="target health check"):  # proxies done; no target
            preflight(plan, adapter, health_timeout_s=0.3)
        after = adapter.proxies()
        assert after["db"] == before
        assert after["cache"].upstream == a
