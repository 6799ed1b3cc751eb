"""The adapter against a real Toxiproxy at $TOXIPROXY_URL (skipped when it is not set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from harness.errors import ProxyNotFound
from harness.faults import FAULT_TYPES, Fault, ProxySpec, ToxiproxyAdapter

pytestmark = [
    pytest.mark.toxiproxy_real,
    pytest.mark.skipif(not os.environ.get("TOXIPROXY_URL"), reason="TOXIPROXY_URL is not set"),
]


@pytest.fixture
def proxy() -> Iterator[tuple[ToxiproxyAdapter, str]]:
    """A uniquely named proxy on the real server, deleted afterwards (others are untouched)."""
    adapter = ToxiproxyAdapter(os.environ["TOXIPROXY_URL"])
    name = f"harness-it-{uuid.uuid4().hex[:8]}"
    adapter.ensure_proxies([ProxySpec(name, "127.0.0.1:9", "127.0.0.1:0")])
    try:
        yield adapter, name
    finally:
        adapter.delete_proxy(name)


def test_real_server_toxics_and_down(proxy: tuple[ToxiproxyAdapter, str]) -> None:
    """Every toxic type and enable/disable work on a real Toxiproxy, and repeats are no-ops."""
    adapter, name = proxy
    assert adapter.ensure_proxies([ProxySpec(name, "127.0.0.1:9", "127.0.0.1:0")])[name].enabled
    for type_name, spec in FAULT_TYPES.items():
        if not spec.toxic:
            continue
        attrs = {a.field: 5 for a in spec.attributes}
        if type_name == "slicer":
            attrs["size_variation_bytes"] = 1
        toxic = Fault(name="f", proxy=name, type=type_name, **attrs).toxic_spec(
            f"harness.it.{type_name}"
        )
        adapter.add_toxic(name, toxic)
        assert adapter.proxies()[name].toxic(toxic.name) is not None
        adapter.remove_toxic(name, toxic.name)
    adapter.set_enabled(name, False)
    assert not adapter.proxies()[name].enabled
    adapter.set_enabled(name, True)
    with pytest.raises(ProxyNotFound, match=f"known: .*{name}"):
        adapter.require_proxies([name + "-missing"])
