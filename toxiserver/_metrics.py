"""Prometheus text for /metrics, from a private registry reading live proxy counters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ._proxy import Proxy
from ._toxics import STREAMS

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _ProxyCollector(Collector):
    def __init__(self, proxies: Callable[[], Iterable[Proxy]]) -> None:
        self._proxies = proxies

    def collect(self) -> Iterator[Metric]:
        labels = ["direction", "proxy", "listener", "upstream"]
        received = CounterMetricFamily(
            "toxiproxy_proxy_received_bytes", "Bytes received by the proxy", labels=labels
        )
        sent = CounterMetricFamily(
            "toxiproxy_proxy_sent_bytes", "Bytes sent by the proxy", labels=labels
        )
        conns = CounterMetricFamily(
            "toxiserver_proxy_connections", "Client connections accepted", labels=["proxy"]
        )
        active = GaugeMetricFamily(
            "toxiserver_proxy_active_connections", "Open proxied connections", labels=["proxy"]
        )
        for proxy in self._proxies():
            for stream in STREAMS:
                values = [stream, proxy.name, proxy.listen, proxy.upstream]
                received.add_metric(values, proxy.stats.received[stream])
                sent.add_metric(values, proxy.stats.sent[stream])
            conns.add_metric([proxy.name], proxy.stats.connections_total)
            active.add_metric([proxy.name], len(proxy.connections))
        yield from (received, sent, conns, active)


def make_renderer(proxies: Callable[[], Iterable[Proxy]]) -> Callable[[], bytes]:
    """A function returning the current metrics text for `proxies`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProxyCollector(proxies))
    return lambda: generate_latest(registry)
