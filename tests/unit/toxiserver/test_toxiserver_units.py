"""Unit tests for toxiserver's pure parts: schema decoding, slicing, seeding, CLI, exports."""

from __future__ import annotations

import random

import pytest

import toxiserver
from toxiserver import cli
from toxiserver._errors import ApiError
from toxiserver._link import derive_rng
from toxiserver._proxy import join_host_port, split_host_port
from toxiserver._toxics import slice_offsets, toxic_from_body, update_from_body


def test_all_matches_namespace() -> None:
    """__all__ lists exactly the public names the package exposes."""
    # pytest's assertion rewriting adds '@py_*' names to modules of this distribution
    public = {n for n in dir(toxiserver) if not n.startswith(("_", "@")) and n != "cli"}
    assert set(toxiserver.__all__) == public


def test_toxic_defaults() -> None:
    """A toxic body with only a type gets Toxiproxy's defaults."""
    toxic = toxic_from_body(b'{"type": "bandwidth"}')
    assert toxic.to_json() == {
        "name": "bandwidth_downstream",
        "type": "bandwidth",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"rate": 0},
    }


def test_float_into_int_attribute_rejected() -> None:
    """A float for an integer attribute is a 400 bad request body, as in Go."""
    with pytest.raises(ApiError, match="cannot unmarshal number 1.5") as info:
        toxic_from_body(b'{"type": "latency", "attributes": {"latency": 1.5}}')
    assert info.value.status == 400


def test_update_keeps_unset_attributes() -> None:
    """An update merges attributes over the current ones."""
    toxic = toxic_from_body(b'{"type": "latency", "attributes": {"latency": 5, "jitter": 2}}')
    toxicity, attrs = update_from_body(toxic, b'{"attributes": {"jitter": 9}}')
    assert (toxicity, attrs) == (1.0, {"latency": 5, "jitter": 9})


@pytest.mark.parametrize("total", [0, 1, 9, 10, 100, 4097])
def test_slice_offsets_cover_everything(total: int) -> None:
    """Slice cut points start at 0, end at the total and strictly increase."""
    cuts = slice_offsets(total, 10, 3, random.Random(1))
    assert cuts[0] == 0 and cuts[-1] == total
    assert all(a < b for a, b in zip(cuts, cuts[1:], strict=False))
    if total > 13:
        assert len(cuts) > 2


def test_derive_rng_is_deterministic() -> None:
    """The same seed and parts give the same sequence; different parts differ."""
    a = [derive_rng(5, "p", 1).random() for _ in range(3)]
    b = [derive_rng(5, "p", 1).random() for _ in range(3)]
    c = [derive_rng(5, "p", 2).random() for _ in range(3)]
    assert a == b and a != c


@pytest.mark.parametrize(
    ("address", "expected"),
    [("127.0.0.1:80", ("127.0.0.1", 80)), ("[::1]:9", ("::1", 9)), (":7", ("127.0.0.1", 7))],
)
def test_split_host_port(address: str, expected: tuple[str, int]) -> None:
    """Listen addresses parse like Go's, an empty host meaning loopback."""
    assert split_host_port(address) == expected
    assert split_host_port(join_host_port(*expected)) == expected


def test_cli_refuses_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI refuses a non-loopback host without --allow-remote."""
    with pytest.raises(SystemExit) as info:
        cli.main(["--host", "0.0.0.0", "--port", "0"])
    assert info.value.code == 2
    assert "--allow-remote" in capsys.readouterr().err
