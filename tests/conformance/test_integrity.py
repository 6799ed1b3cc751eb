"""Data integrity: checksummed random data both ways through every non-dropping toxic."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from ._servers import connect
from .conftest import Api, listen_port

PAYLOAD_BYTES = 2 * 1024 * 1024

NON_DROPPING = {
    "none": [],
    "latency_jitter": [{"type": "latency", "attributes": {"latency": 5, "jitter": 4}}],
    "bandwidth_high": [{"type": "bandwidth", "attributes": {"rate": 200_000}}],
    "slicer": [
        {
            "type": "slicer",
            "attributes": {"average_size": 2048, "size_variation": 1024, "delay": 10},
        }
    ],
    "slow_close": [{"type": "slow_close", "attributes": {"delay": 20}}],
    "toxicity_half": [
        {"type": "latency", "toxicity": 0.5, "attributes": {"latency": 5}},
        {"type": "slicer", "toxicity": 0.5, "attributes": {"average_size": 4096}},
    ],
}


def _transfer(port: int, payload: bytes) -> bytes:
    """Send `payload` through an echo connection while reading the echo back.

    The reader stops once it has as many bytes as were sent: no half-close, since
    Toxiproxy ends the whole connection at the first EOF (the echo still in flight
    would be lost).
    """
    with connect(port, timeout_s=30) as sock:
        received = bytearray()

        def reader() -> None:
            while len(received) < len(payload) and (chunk := sock.recv(262144)):
                received.extend(chunk)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        sock.sendall(payload)
        thread.join(30)
        assert not thread.is_alive(), "transfer did not finish"
        return bytes(received)


@pytest.mark.parametrize("case", sorted(NON_DROPPING))
def test_sha256_both_ways(api: Api, echo_proxy: dict, case: str) -> None:
    """Random data pushed up and echoed down through the toxics arrives unchanged."""
    for toxic in NON_DROPPING[case]:
        for stream in ("upstream", "downstream"):
            api.add_toxic(echo_proxy, stream=stream, name=f"{toxic['type']}_{stream}", **toxic)
    payload = os.urandom(PAYLOAD_BYTES)
    got = _transfer(listen_port(echo_proxy), payload)
    assert len(got) == len(payload)
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest()
