"""Control API conformance: endpoints, status codes, JSON shapes and error bodies."""

from __future__ import annotations

import json
import socket

import pytest

from ._servers import EchoServer, connect, recv_all, round_trip_s
from .conftest import REAL_URL, Api, listen_port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_error(resp, status: int, message_prefix: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    body = json.loads(resp.text)
    assert body["status"] == status
    assert body["error"].startswith(message_prefix), body


def test_version(api: Api) -> None:
    """GET /version answers 200 with a version string."""
    resp = api.request("GET", "/version")
    assert resp.status_code == 200
    assert isinstance(resp.json()["version"], str)


def test_create_proxy_shape(api: Api, echo: EchoServer) -> None:
    """POST /proxies answers 201 with the proxy, a real port for port 0 and enabled true."""
    name = api.name()
    resp = api.request(
        "POST", "/proxies", json={"name": name, "upstream": echo.address, "listen": "127.0.0.1:0"}
    )
    assert resp.status_code == 201
    body = resp.json()
    assert {k: body[k] for k in ("name", "upstream", "enabled", "toxics")} == {
        "name": name,
        "upstream": echo.address,
        "enabled": True,
        "toxics": [],
    }
    assert listen_port(body) > 0


def test_create_without_listen_picks_port(api: Api, echo: EchoServer) -> None:
    """A proxy created without `listen` binds a random port that accepts connections."""
    name = api.name()
    resp = api.request("POST", "/proxies", json={"name": name, "upstream": echo.address})
    assert resp.status_code == 201
    port = listen_port(resp.json())
    assert port > 0
    with connect(port) as sock:
        round_trip_s(sock)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"upstream": "127.0.0.1:1"}, "missing required field: name"),
        ({"name": "conf_x"}, "missing required field: upstream"),
        ({"name": "conf_x", "upstream": "127.0.0.1:1", "enabled": "yes"}, "bad request body"),
    ],
)
def test_create_proxy_invalid(api: Api, body: dict, message: str) -> None:
    """Missing fields and wrongly typed fields answer 400 with Toxiproxy's message."""
    assert_error(api.request("POST", "/proxies", json=body), 400, message)


def test_create_proxy_malformed_json(api: Api) -> None:
    """A body that is not JSON answers 400 bad request body."""
    resp = api.request("POST", "/proxies", content=b"{not json")
    assert_error(resp, 400, "bad request body")


def test_create_proxy_conflict(api: Api, echo: EchoServer) -> None:
    """Creating a proxy whose name exists answers 409 proxy already exists."""
    proxy = api.create_proxy(echo.address)
    resp = api.request("POST", "/proxies", json={"name": proxy["name"], "upstream": echo.address})
    assert_error(resp, 409, "proxy already exists")


def test_listen_in_use_is_500(api: Api, echo: EchoServer) -> None:
    """A listen address already in use answers 500 with the bind error."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        resp = api.request(
            "POST",
            "/proxies",
            json={"name": api.name(), "upstream": echo.address, "listen": listen},
        )
    assert_error(resp, 500, "listen tcp")
    assert "address already in use" in resp.json()["error"]


def test_list_and_show(api: Api, echo_proxy: dict) -> None:
    """GET /proxies is keyed by name and GET /proxies/{name} shows the proxy with toxics."""
    listing = api.request("GET", "/proxies").json()
    assert listing[echo_proxy["name"]]["listen"] == echo_proxy["listen"]
    shown = api.request("GET", f"/proxies/{echo_proxy['name']}")
    assert shown.status_code == 200
    assert shown.json() == echo_proxy


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST"])
def test_unknown_proxy_404(api: Api, method: str) -> None:
    """Any call on an unknown proxy answers 404 proxy not found."""
    resp = api.request(method, "/proxies/conf_missing_proxy", json={"enabled": True})
    assert_error(resp, 404, "proxy not found")


def test_delete_proxy(api: Api, echo_proxy: dict) -> None:
    """DELETE answers 204 with no body and the port stops accepting."""
    resp = api.request("DELETE", f"/proxies/{echo_proxy['name']}")
    assert resp.status_code == 204 and resp.content == b""
    with pytest.raises(ConnectionRefusedError):
        connect(listen_port(echo_proxy)).close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/proxies"),
        ("GET", "/reset"),
        ("PUT", "/proxies/x"),
        ("GET", "/populate"),
        ("DELETE", "/version"),
    ],
)
def test_wrong_method_405(api: Api, method: str, path: str) -> None:
    """A known path with the wrong method answers 405."""
    assert api.request(method, path).status_code == 405


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_enabled(api: Api, echo_proxy: dict, method: str) -> None:
    """POST/PATCH enabled=false closes and refuses connections; true restores the address."""
    name, port = echo_proxy["name"], listen_port(echo_proxy)
    sock = connect(port)
    round_trip_s(sock)
    resp = api.request(method, f"/proxies/{name}", json={"enabled": False})
    assert resp.status_code == 200 and resp.json()["enabled"] is False
    try:
        try:
            assert recv_all(sock) == b""
        except ConnectionResetError:
            pass
    finally:
        sock.close()
    with pytest.raises(ConnectionRefusedError):
        connect(port).close()
    resp = api.request(method, f"/proxies/{name}", json={"enabled": True})
    assert resp.json()["enabled"] is True and resp.json()["listen"] == echo_proxy["listen"]
    with connect(port) as again:
        round_trip_s(again)


def test_update_upstream_restarts(api: Api, echo_proxy: dict) -> None:
    """Changing upstream restarts the proxy: open connections see EOF, new ones use it."""
    other = EchoServer()
    try:
        sock = connect(listen_port(echo_proxy))
        with sock:
            round_trip_s(sock)
            resp = api.request(
                "POST", f"/proxies/{echo_proxy['name']}", json={"upstream": other.address}
            )
            assert resp.status_code == 200 and resp.json()["upstream"] == other.address
            try:
                assert recv_all(sock) == b""
            except ConnectionResetError:
                pass
        with connect(listen_port(resp.json())) as fresh:
            round_trip_s(fresh)
    finally:
        other.close()


def test_update_bad_body(api: Api, echo_proxy: dict) -> None:
    """Updating with a wrongly typed field answers 400 bad request body."""
    resp = api.request("POST", f"/proxies/{echo_proxy['name']}", json={"enabled": "no"})
    assert_error(resp, 400, "bad request body")


def test_populate(api: Api, echo: EchoServer) -> None:
    """POST /populate creates (201), is idempotent, and replaces only on a changed upstream."""
    name = api.name()
    item = {"name": name, "upstream": echo.address, "listen": f"127.0.0.1:{_free_port()}"}
    first = api.request("POST", "/populate", json=[item])
    assert first.status_code == 201
    assert [p["name"] for p in first.json()["proxies"]] == [name]
    api.add_toxic(first.json()["proxies"][0], type="latency", attributes={"latency": 1})
    again = api.request("POST", "/populate", json=[item])
    assert again.status_code == 201
    assert again.json()["proxies"][0]["toxics"], "unchanged proxy must be kept, toxics included"
    other = EchoServer()
    try:
        changed = api.request("POST", "/populate", json=[{**item, "upstream": other.address}])
        assert changed.status_code == 201
        assert changed.json()["proxies"][0]["upstream"] == other.address
        assert changed.json()["proxies"][0]["toxics"] == []
    finally:
        other.close()


def test_populate_missing_field(api: Api) -> None:
    """Populate with a proxy lacking upstream answers 400 missing required field.

    Unlike every other error, populate's is served as application/json and carries
    `proxies`: null when the input is refused before any proxy is made.
    """
    resp = api.request("POST", "/populate", json=[{"name": "conf_nope"}])
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {
        "error": "missing required field: upstream at proxy 1",
        "status": 400,
        "proxies": None,
    }


def test_populate_failure_lists_proxies_made(api: Api, echo: EchoServer) -> None:
    """A populate that fails part way answers the error and the proxies made before it."""
    made, bad = api.name(), api.name()
    items = [
        {"name": made, "upstream": echo.address, "listen": "127.0.0.1:0"},
        {"name": bad, "upstream": echo.address, "listen": "127.0.0.1:99999"},
    ]
    resp = api.request("POST", "/populate", json=items)
    assert resp.status_code == 500, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["error"] == "listen tcp: address 99999: invalid port"
    assert [p["name"] for p in body["proxies"]] == [made]
    assert api.request("GET", f"/proxies/{made}").status_code == 200


def test_reset(api: Api, echo_proxy: dict) -> None:
    """POST /reset answers 204, keeps proxies, enables them, removes toxics, keeps connections."""
    name = echo_proxy["name"]
    with connect(listen_port(echo_proxy)) as sock:
        round_trip_s(sock)
        api.add_toxic(echo_proxy, type="latency", attributes={"latency": 300})
        other = api.create_proxy(echo_proxy["upstream"], enabled=False)
        assert api.request("POST", "/reset").status_code == 204
        assert api.request("GET", f"/proxies/{name}").json()["toxics"] == []
        assert api.request("GET", f"/proxies/{other['name']}").json()["enabled"] is True
        assert round_trip_s(sock) < 0.2


def test_metrics(api: Api) -> None:
    """GET /metrics answers 200 with Prometheus text.

    Toxiproxy routes /metrics only when started with -proxy-metrics or
    -runtime-metrics (404 otherwise); toxiserver always serves it.
    """
    resp = api.request("GET", "/metrics")
    if resp.status_code == 404 and "x-toxiserver" not in resp.headers:
        pytest.skip("this Toxiproxy was started without -proxy-metrics/-runtime-metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")


def test_metrics_counts_bytes(api: Api, echo_proxy: dict, embedded_only: None) -> None:
    """/metrics reports per-proxy byte and connection counters."""
    with connect(listen_port(echo_proxy)) as sock:
        round_trip_s(sock, b"x" * 100)
    text = api.request("GET", "/metrics").text
    wanted = f'direction="upstream",listener="{echo_proxy["listen"]}",proxy="{echo_proxy["name"]}"'
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("toxiproxy_proxy_received_bytes_total") and wanted in ln
    )
    assert float(line.rsplit(" ", 1)[1]) == 100
    assert f'toxiserver_proxy_connections_total{{proxy="{echo_proxy["name"]}"}} 1.0' in text


def test_seed_extension_field(api: Api, echo: EchoServer, embedded_only: None) -> None:
    """The `seed` extension field is accepted on create and update and shown back."""
    proxy = api.create_proxy(echo.address, seed=42)
    assert proxy["seed"] == 42
    resp = api.request("PATCH", f"/proxies/{proxy['name']}", json={"seed": 7})
    assert resp.json()["seed"] == 7


def test_unknown_path_404(api: Api) -> None:
    """An unknown path answers 404."""
    assert api.request("GET", "/nope").status_code == 404


@pytest.mark.toxiproxy_real
@pytest.mark.skipif(not REAL_URL, reason="needs $TOXIPROXY_URL")
def test_real_server_reachable(api: Api) -> None:
    """The real Toxiproxy at $TOXIPROXY_URL answers /version."""
    assert api.request("GET", "/version").status_code == 200
