"""ToxiproxyAdapter with a fake transport: error translation, retries, URL handling."""

from __future__ import annotations

import json
from typing import Any

import pytest

import harness.faults as faults_pkg
from harness.errors import (
    InputError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxicNotFound,
    ToxiproxyError,
)
from harness.faults import ProxySpec, Stream, ToxicSpec, ToxiproxyAdapter
from harness.faults.adapter import Reply, TransportConnectError, TransportTimeout

URL = "http://127.0.0.1:8474"
PROXIES = {
    "nlu": {"name": "nlu", "listen": "127.0.0.1:40001", "upstream": "127.0.0.1:9001",
            "enabled": True, "toxics": []},
    "orders": {"name": "orders", "listen": "127.0.0.1:40002", "upstream": "127.0.0.1:9002",
               "enabled": True, "toxics": []},
}


class FakeTransport:
    """Answers from a table keyed by (method, path); raises queued connection errors first."""

    def __init__(self, answers: dict[tuple[str, str], Reply] | None = None) -> None:
        self.answers = {("GET", "/proxies"): Reply(200, json.dumps(PROXIES)), **(answers or {})}
        self.failures: list[Exception] = []
        self.requests: list[tuple[str, str, Any]] = []

    def request(self, method: str, path: str, body: Any | None = None) -> Reply:
        self.requests.append((method, path, body))
        if self.failures:
            raise self.failures.pop(0)
        return self.answers.get((method, path), Reply(200, "{}"))


def err(status: int, message: str) -> Reply:
    return Reply(status, json.dumps({"error": message, "status": status}))


def make(transport: FakeTransport, sleeps: list[float] | None = None) -> ToxiproxyAdapter:
    return ToxiproxyAdapter(URL, transport=transport,
                            sleep=(sleeps if sleeps is not None else []).append)


TOXIC = ToxicSpec("harness.r.f", "latency", Stream.DOWNSTREAM, 1.0, {"latency": 10})


def test_public_namespace_matches_all() -> None:
    """harness.faults exports exactly what __all__ lists."""
    public = {n for n in vars(faults_pkg) if not n.startswith(("_", "@"))}
    modules = {"adapter", "injector", "ledger", "loader", "model", "registry", "specs",
               "timeline", "local", "process"}
    assert public - modules == set(faults_pkg.__all__)


def test_require_proxies_names_missing_known_and_url() -> None:
    """The unknown-proxy message names the proxy, the server URL and the known proxies."""
    with pytest.raises(ProxyNotFound) as info:
        make(FakeTransport()).require_proxies(["nlu", "crm"])
    assert str(info.value) == (
        "proxy 'crm' does not exist on Toxiproxy at http://127.0.0.1:8474 "
        "(known: nlu, orders) - create it or fix 'proxy:'"
    )


def test_add_toxic_to_missing_proxy() -> None:
    """A 404 on adding a toxic becomes ProxyNotFound listing the known proxies."""
    t = FakeTransport({("POST", "/proxies/crm/toxics"): err(404, "proxy not found")})
    with pytest.raises(ProxyNotFound, match=r"proxy 'crm' .* \(known: nlu, orders\)"):
        make(t).add_toxic("crm", TOXIC)


def test_add_toxic_conflict_and_bad_toxic() -> None:
    """409 becomes ToxicAlreadyExists; 400 a ToxiproxyError quoting the server."""
    t = FakeTransport({("POST", "/proxies/nlu/toxics"): err(409, "toxic already exists")})
    with pytest.raises(ToxicAlreadyExists, match="toxic 'harness.r.f' already exists on proxy "
                                                 "'nlu' at Toxiproxy http://127.0.0.1:8474"):
        make(t).add_toxic("nlu", TOXIC)
    t.answers[("POST", "/proxies/nlu/toxics")] = err(400, "invalid toxic type")
    with pytest.raises(ToxiproxyError, match="refused to add toxic 'harness.r.f' .* on proxy "
                                             "'nlu': HTTP 400 invalid toxic type"):
        make(t).add_toxic("nlu", TOXIC)


def test_add_toxic_sends_toxiproxy_json() -> None:
    """The toxic goes out in Toxiproxy's JSON shape."""
    t = FakeTransport()
    make(t).add_toxic("nlu", TOXIC)
    assert t.requests == [("POST", "/proxies/nlu/toxics", {
        "name": "harness.r.f", "type": "latency", "stream": "downstream", "toxicity": 1.0,
        "attributes": {"latency": 10}})]


def test_remove_toxic_missing_ok_or_not() -> None:
    """A missing toxic is fine by default and ToxicNotFound when missing_ok=False."""
    t = FakeTransport({("DELETE", "/proxies/nlu/toxics/x"): err(404, "toxic not found")})
    make(t).remove_toxic("nlu", "x")
    with pytest.raises(ToxicNotFound, match="toxic 'x' does not exist on proxy 'nlu'"):
        make(t).remove_toxic("nlu", "x", missing_ok=False)


def test_connection_errors_are_retried_then_translated() -> None:
    """Refused connections are retried with growing, bounded waits, then name URL and the fix."""
    t = FakeTransport()
    t.failures = [TransportConnectError("Connection refused")] * 3
    sleeps: list[float] = []
    with pytest.raises(ToxiproxyError) as info:
        make(t, sleeps).version()
    assert len(t.requests) == 3 and len(sleeps) == 2 and all(0 < s <= 0.55 for s in sleeps)
    assert str(info.value) == (
        "Toxiproxy at http://127.0.0.1:8474 is not reachable (GET /version: Connection "
        "refused; tried 3 times) - start one with 'toxiserver --port 8474' or pass the URL of "
        "a running Toxiproxy"
    )


def test_one_connection_error_is_absorbed() -> None:
    """A single refused connection followed by success is invisible to the caller."""
    t = FakeTransport({("GET", "/version"): Reply(200, '{"version": "2.7.0"}')})
    t.failures = [TransportConnectError("reset")]
    assert make(t).version() == "2.7.0"


def test_timeouts_are_not_retried() -> None:
    """A read timeout fails at once (the server saw the request)."""
    t = FakeTransport()
    t.failures = [TransportTimeout("read timed out")]
    with pytest.raises(ToxiproxyError, match="did not answer POST /proxies/nlu within 5 s"):
        make(t).set_enabled("nlu", False)
    assert len(t.requests) == 1


def test_plain_text_version() -> None:
    """Old servers answer /version with plain text; that works too."""
    assert make(FakeTransport({("GET", "/version"): Reply(200, "2.1.4\n")})).version() == "2.1.4"


def test_ensure_proxies_is_idempotent() -> None:
    """Matching proxies (port 0 matches any port) are not re-created; others go to /populate."""
    t = FakeTransport()
    got = make(t).ensure_proxies([ProxySpec("nlu", "127.0.0.1:9001", "127.0.0.1:0"),
                                  ProxySpec("orders", "127.0.0.1:9002")])
    assert set(got) == {"nlu", "orders"}
    assert [r[:2] for r in t.requests] == [("GET", "/proxies")]
    make(t).ensure_proxies([ProxySpec("orders", "127.0.0.1:9999")])
    assert ("POST", "/populate", [{"name": "orders", "upstream": "127.0.0.1:9999",
                                   "listen": "127.0.0.1:0", "enabled": True}]) in t.requests


def test_set_enabled_on_missing_proxy() -> None:
    """Disabling an unknown proxy is ProxyNotFound naming it and the URL."""
    t = FakeTransport({("POST", "/proxies/crm"): err(404, "proxy not found")})
    with pytest.raises(ProxyNotFound, match="proxy 'crm' does not exist on Toxiproxy at "
                                            "http://127.0.0.1:8474"):
        make(t).set_enabled("crm", False)


@pytest.mark.parametrize("body", ["<html>", '{"status": true}', "[1, 2]"])
def test_not_a_toxiproxy(body: str) -> None:
    """A server that answers /proxies with anything but an object of proxies is called out."""
    t = FakeTransport({("GET", "/proxies"): Reply(200, body)})
    with pytest.raises(ToxiproxyError, match="is that URL really a Toxiproxy"):
        make(t).proxies()


@pytest.mark.parametrize(("given", "normal"), [
    ("http://127.0.0.1:8474/", "http://127.0.0.1:8474"),
    ("localhost:9000", "http://localhost:9000"),
    ("http://[::1]:8474", "http://[::1]:8474"),
    ("http://toxiproxy", "http://toxiproxy:8474"),
    ("http://127.0.0.1:8474//", "http://127.0.0.1:8474"),
])
def test_urls_are_normalised(given: str, normal: str) -> None:
    """URLs are reduced to http://host:port (the form messages and ledgers use)."""
    assert ToxiproxyAdapter(given, transport=FakeTransport()).url == normal


@pytest.mark.parametrize(("bad", "why"), [
    ("https://x:1", "scheme 'https'"),
    ("http://x:1/api", "path '/api'"),
    ("http://", "no host"),
    ("http:///", "no host"),
    ("://x", "scheme 'none'"),
])  # fmt: skip
def test_unsupported_urls_are_input_errors(bad: str, why: str) -> None:
    """https, path prefixes and URLs without a host are refused, saying which, with the form."""
    with pytest.raises(InputError, match="http://host:port") as error:
        ToxiproxyAdapter(bad)
    assert f"({why}" in str(error.value)


def test_before_send_runs_before_each_attempt_after_the_backoff() -> None:
    """before_send is called right before every attempt, so its last call dates the one that went out."""
    log: list[str] = []
    t = FakeTransport()
    t.failures = [TransportConnectError("Connection refused")]
    adapter = ToxiproxyAdapter(URL, transport=t, sleep=lambda s: log.append("sleep"))
    adapter.add_toxic("nlu", TOXIC, before_send=lambda: log.append("send"))
    assert log == ["send", "sleep", "send"] and len(t.requests) == 2
    for call in (lambda b: adapter.set_enabled("nlu", False, before_send=b),
                 lambda b: adapter.update_toxic("nlu", TOXIC, before_send=b),
                 lambda b: adapter.remove_toxic("nlu", TOXIC.name, before_send=b)):
        log.clear()
        call(lambda: log.append("send"))
        assert log == ["send"]


def test_before_send_is_called_after_the_client_lock_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Waiting for another call's turn on toxiproxy-python's global does not count as sending."""
    from harness.faults import adapter as adapter_module

    class Answer:
        status_code, text = 200, "{}"

    seen: list[bool] = []
    monkeypatch.setitem(adapter_module._ClientTransport._CALLS, "POST",
                        lambda path, **kwargs: Answer())
    adapter = ToxiproxyAdapter(URL)
    adapter.add_toxic("nlu", TOXIC, before_send=lambda: seen.append(
        adapter_module._CLIENT_LOCK.locked()))
    assert seen == [True]
