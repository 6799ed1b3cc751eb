"""Toxic endpoints: defaults, listing, update, delete and every error."""

from __future__ import annotations

import pytest

from .conftest import Api
from .test_api import assert_error

ALL_TYPES = {
    "latency": {"latency": 10, "jitter": 1},
    "bandwidth": {"rate": 100},
    "slow_close": {"delay": 10},
    "timeout": {"timeout": 10},
    "reset_peer": {"timeout": 10},
    "slicer": {"average_size": 10, "size_variation": 2, "delay": 10},
    "limit_data": {"bytes": 10},
}


def test_toxic_defaults(api: Api, echo_proxy: dict) -> None:
    """A bare toxic gets name <type>_downstream, toxicity 1 and all attributes."""
    resp = api.request("POST", f"/proxies/{echo_proxy['name']}/toxics", json={"type": "latency"})
    assert resp.status_code == 200
    assert resp.json() == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 0, "jitter": 0},
    }


@pytest.mark.parametrize(("toxic_type", "attributes"), sorted(ALL_TYPES.items()))
def test_every_type_round_trips(
    api: Api, echo_proxy: dict, toxic_type: str, attributes: dict
) -> None:
    """Each toxic type is accepted on both streams and read back with its attributes."""
    for stream in ("upstream", "downstream"):
        created = api.add_toxic(
            echo_proxy, type=toxic_type, stream=stream, toxicity=0.5, attributes=attributes
        )
        assert created["name"] == f"{toxic_type}_{stream}"
        assert created["attributes"] == attributes and created["toxicity"] == 0.5
    listed = api.request("GET", f"/proxies/{echo_proxy['name']}/toxics").json()
    assert sorted(t["stream"] for t in listed) == ["downstream", "upstream"]
    shown = api.request("GET", f"/proxies/{echo_proxy['name']}/toxics/{toxic_type}_upstream")
    assert shown.status_code == 200 and shown.json()["stream"] == "upstream"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_update_toxic(api: Api, echo_proxy: dict, method: str) -> None:
    """POST/PATCH on a toxic updates attributes and toxicity and answers 200."""
    api.add_toxic(echo_proxy, name="lat", type="latency", attributes={"latency": 5, "jitter": 1})
    resp = api.request(
        method,
        f"/proxies/{echo_proxy['name']}/toxics/lat",
        json={"attributes": {"latency": 50}, "toxicity": 0.25},
    )
    assert resp.status_code == 200
    assert resp.json()["attributes"] == {"latency": 50, "jitter": 1}
    assert resp.json()["toxicity"] == 0.25


def test_delete_toxic(api: Api, echo_proxy: dict) -> None:
    """DELETE on a toxic answers 204 and it is gone (404 afterwards)."""
    api.add_toxic(echo_proxy, name="gone", type="timeout")
    path = f"/proxies/{echo_proxy['name']}/toxics/gone"
    resp = api.request("DELETE", path)
    assert resp.status_code == 204 and resp.content == b""
    assert_error(api.request("GET", path), 404, "toxic not found")
    assert_error(api.request("DELETE", path), 404, "toxic not found")
    assert_error(api.request("POST", path, json={}), 404, "toxic not found")


def test_toxic_conflict(api: Api, echo_proxy: dict) -> None:
    """A second toxic with the same name answers 409 toxic already exists."""
    api.add_toxic(echo_proxy, type="latency")
    resp = api.request("POST", f"/proxies/{echo_proxy['name']}/toxics", json={"type": "latency"})
    assert_error(resp, 409, "toxic already exists")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"type": "latency", "stream": "sideways"}, 400, "stream was invalid"),
        ({"type": "explode"}, 400, "invalid toxic type"),
        ({}, 400, "invalid toxic type"),
        ({"type": "latency", "attributes": {"latency": "abc"}}, 400, "bad request body"),
        ({"type": "latency", "toxicity": "high"}, 400, "bad request body"),
    ],
)
def test_toxic_create_errors(
    api: Api, echo_proxy: dict, body: dict, status: int, message: str
) -> None:
    """Invalid stream, type or attribute types answer 400 with Toxiproxy's message."""
    resp = api.request("POST", f"/proxies/{echo_proxy['name']}/toxics", json=body)
    assert_error(resp, status, message)


def test_toxic_unknown_attribute_ignored(api: Api, echo_proxy: dict) -> None:
    """Unknown attribute keys are ignored."""
    toxic = api.add_toxic(echo_proxy, type="latency", attributes={"latency": 3, "colour": "red"})
    assert toxic["attributes"] == {"latency": 3, "jitter": 0}


def test_toxic_update_bad_type(api: Api, echo_proxy: dict) -> None:
    """Updating an attribute with the wrong type answers 400 bad request body."""
    api.add_toxic(echo_proxy, name="lat", type="latency")
    resp = api.request(
        "PATCH",
        f"/proxies/{echo_proxy['name']}/toxics/lat",
        json={"attributes": {"latency": "slow"}},
    )
    assert_error(resp, 400, "bad request body")


def test_toxics_on_unknown_proxy(api: Api) -> None:
    """Toxic calls on an unknown proxy answer 404 proxy not found."""
    assert_error(api.request("GET", "/proxies/conf_nope/toxics"), 404, "proxy not found")
    resp = api.request("POST", "/proxies/conf_nope/toxics", json={"type": "latency"})
    assert_error(resp, 404, "proxy not found")


def test_toxic_wrong_method(api: Api, echo_proxy: dict) -> None:
    """DELETE on the toxic collection answers 405."""
    assert api.request("DELETE", f"/proxies/{echo_proxy['name']}/toxics").status_code == 405
