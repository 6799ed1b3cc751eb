"""Control API under hostile input: what Toxiproxy's source decides is matched; the rest is bounded.

The first group holds on a real Toxiproxy too (its Go source decides them: the
decoder's depth limit and types, net.Listen's port check). The second group is
toxiserver's own bounds (Toxiproxy stores such input as given): embedded only.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from toxiserver import ToxiproxyServer
from toxiserver._api import MAX_BODY_BYTES, ControlApi
from toxiserver._schema import MAX_NAME_CHARS

from ._servers import EchoServer
from .conftest import Api
from .test_api import assert_error

DEEP = 20_000  # Go's decoder stops at 10,000 levels, Python's at about 1,000


def _assert_absent(api: Api, name: str) -> None:
    assert api.request("GET", f"/proxies/{name}").status_code == 404


# ---------------------------------------------------------------- as Toxiproxy's source decides


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_body_is_400_and_the_server_keeps_answering(api: Api, opener: str) -> None:
    """A body nested 20,000 deep answers 400 bad request body (not a 500), then /version still works."""
    body = (opener * DEEP).encode()
    assert_error(api.request("POST", "/proxies", content=body), 400, "bad request body")
    assert "exceeded max depth" in api.request("POST", "/populate", content=body).json()["error"]
    assert api.request("GET", "/version").status_code == 200


@pytest.mark.parametrize("port", ["99999", "65536"])
def test_listen_port_out_of_range_is_refused_not_wrapped(
    api: Api, echo: EchoServer, port: str
) -> None:
    """listen 127.0.0.1:99999 answers 500 `listen tcp: address 99999: invalid port` (Go's net.Listen)."""
    name = api.name()
    resp = api.request(
        "POST",
        "/proxies",
        json={"name": name, "upstream": echo.address, "listen": f"127.0.0.1:{port}"},
    )
    assert_error(resp, 500, "listen tcp")
    assert f"address {port}: invalid port" in resp.json()["error"]
    _assert_absent(api, name)


def test_nan_is_not_json(api: Api, echo_proxy: dict) -> None:
    """`NaN` as a toxicity is a 400 bad request body (it is not JSON), nothing is added."""
    resp = api.request(
        "POST",
        f"/proxies/{echo_proxy['name']}/toxics",
        content=b'{"type": "latency", "toxicity": NaN}',
    )
    assert_error(resp, 400, "bad request body")
    assert api.request("GET", f"/proxies/{echo_proxy['name']}/toxics").json() == []


def test_attribute_beyond_int64_is_400(api: Api, echo_proxy: dict) -> None:
    """An attribute that does not fit Go's int64 answers 400 bad request body: cannot unmarshal."""
    resp = api.request(
        "POST",
        f"/proxies/{echo_proxy['name']}/toxics",
        json={"type": "latency", "attributes": {"latency": 10**20}},
    )
    assert_error(resp, 400, "bad request body")
    assert "cannot unmarshal number" in resp.json()["error"]


# ---------------------------------------------------------------- toxiserver's own bounds


@pytest.mark.usefixtures("embedded_only")
def test_body_over_1_mib_is_413_and_nothing_is_stored(api: Api, echo: EchoServer) -> None:
    """A 10 MB proxy name is refused with 413 before it is read; listing proxies stays small and fast."""
    name = "x" * (10 * 1024 * 1024)
    body = json.dumps({"name": name, "upstream": echo.address}).encode()
    assert len(body) > MAX_BODY_BYTES
    assert_error(api.request("POST", "/proxies", content=body), 413, "request body too large")
    chunked = api.request(
        "POST", "/proxies", content=iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    )
    assert_error(chunked, 413, "request body too large")
    started = time.perf_counter()
    listing = api.request("GET", "/proxies")
    assert listing.status_code == 200 and len(listing.content) < 100_000
    assert time.perf_counter() - started < 1.0


@pytest.mark.usefixtures("embedded_only")
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a/b", "contains '/'"),
        ("a\nb", "control character"),
        ("tab\there", "control character"),
        ("n" * (MAX_NAME_CHARS + 1), f"more than the {MAX_NAME_CHARS} allowed"),
    ],
)
def test_unusable_names_are_400(api: Api, echo_proxy: dict, name: str, message: str) -> None:
    """Proxy and toxic names with '/', control characters or over 256 characters answer 400."""
    for path, body in [
        ("/proxies", {"name": name, "upstream": echo_proxy["upstream"]}),
        ("/populate", [{"name": name, "upstream": echo_proxy["upstream"]}]),
        (f"/proxies/{echo_proxy['name']}/toxics", {"name": name, "type": "latency"}),
    ]:
        resp = api.request("POST", path, json=body)
        if path == "/populate":  # populate's errors are JSON, with "proxies": null
            assert resp.status_code == 400 and resp.json()["proxies"] is None, resp.text
            assert resp.json()["error"].startswith("bad request body")
        else:
            assert_error(resp, 400, "bad request body")
        assert message in resp.json()["error"]
    assert name not in api.request("GET", "/proxies").json()
    assert api.request("GET", f"/proxies/{echo_proxy['name']}/toxics").json() == []


@pytest.mark.usefixtures("embedded_only")
def test_a_name_of_256_characters_is_fine(api: Api, echo: EchoServer) -> None:
    """The longest allowed name (256 characters, dots and dashes included) is accepted."""
    name = api.name("n")
    name += "-." * ((MAX_NAME_CHARS - len(name)) // 2)
    name += "z" * (MAX_NAME_CHARS - len(name))
    api.created.add(name)
    resp = api.request("POST", "/proxies", json={"name": name, "upstream": echo.address})
    assert resp.status_code == 201, resp.text


@pytest.mark.usefixtures("embedded_only")
@pytest.mark.parametrize("toxicity", [2, -0.1, 1.0000001])
def test_toxicity_outside_0_1_is_400(api: Api, echo_proxy: dict, toxicity: float) -> None:
    """Toxicity is a probability: 2 or -0.1 answers 400 on create and on update, nothing changes."""
    path = f"/proxies/{echo_proxy['name']}/toxics"
    resp = api.request("POST", path, json={"type": "latency", "toxicity": toxicity})
    assert_error(resp, 400, "bad request body: toxicity must be between 0 and 1")
    api.add_toxic(echo_proxy, name="lat", type="latency", toxicity=0.5)
    resp = api.request("PATCH", f"{path}/lat", json={"toxicity": toxicity})
    assert_error(resp, 400, "bad request body: toxicity must be between 0 and 1")
    assert api.request("GET", f"{path}/lat").json()["toxicity"] == 0.5


@pytest.mark.usefixtures("embedded_only")
@pytest.mark.parametrize(
    ("toxic_type", "attribute"),
    [
        ("latency", "latency"),
        ("latency", "jitter"),
        ("slicer", "average_size"),
        ("bandwidth", "rate"),
    ],
)
def test_negative_attributes_are_400(
    api: Api, echo_proxy: dict, toxic_type: str, attribute: str
) -> None:
    """A negative attribute answers 400 on create and on update (a real Toxiproxy takes it)."""
    path = f"/proxies/{echo_proxy['name']}/toxics"
    resp = api.request("POST", path, json={"type": toxic_type, "attributes": {attribute: -1}})
    assert_error(resp, 400, f"bad request body: attribute '{attribute}'")
    api.add_toxic(echo_proxy, name="t", type=toxic_type)
    resp = api.request("PATCH", f"{path}/t", json={"attributes": {attribute: -5}})
    assert_error(resp, 400, "bad request body")
    assert api.request("GET", f"{path}/t").json()["attributes"][attribute] == 0


@pytest.mark.usefixtures("embedded_only")
def test_address_fields_are_bounded(api: Api) -> None:
    """An upstream longer than 1024 characters answers 400 (Toxiproxy would store and list it)."""
    resp = api.request("POST", "/proxies", json={"name": api.name(), "upstream": "h" * 2000 + ":1"})
    assert_error(resp, 400, "bad request body: upstream is 2002 characters long")


@pytest.mark.usefixtures("embedded_only")
def test_a_handler_bug_answers_500_with_the_error_body(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected exception in a handler is a 500 with the JSON error body, and the server goes on."""

    async def broken(self: ControlApi, body: bytes) -> None:
        raise RuntimeError("injected")

    with ToxiproxyServer() as srv, httpx.Client(base_url=srv.url) as http:
        monkeypatch.setattr(ControlApi, "reset", broken)
        resp = http.post("/reset")
        assert resp.status_code == 500 and resp.headers["content-type"].startswith("text/plain")
        assert resp.json() == {"error": "internal error: RuntimeError: injected", "status": 500}
        assert http.get("/version").status_code == 200
