"""Each ``--disable`` switch removes exactly its mechanism.

For every mechanism a front is started with only that mechanism disabled (on the shared
dependency processes), then one probe per mechanism checks whether it is observed.
The disabled one must be absent and every other one present.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from hd_helpers import events_of, set_fault, wait_for

from helpdesk import FrontSettings, Mechanism, RunningSystem, SystemConfig, start_system

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]  # slow: ~50 s in all, best started early

Probe = Callable[[RunningSystem, RunningSystem, httpx.Client], bool]


def probe_failover(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    set_fault(deps.direct_urls["orders_primary"], "error")
    try:
        response = front.get("/api/orders/A1002")
    finally:
        set_fault(deps.direct_urls["orders_primary"], "none")
    return response.status_code == 200 and response.json()["served_by"] == "replica"


def probe_failback(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    set_fault(deps.direct_urls["orders_primary"], "error")
    try:
        front.get("/api/orders/A1004")  # to the replica (a 503 without failover)
    finally:
        set_fault(deps.direct_urls["orders_primary"], "none")
    deadline = time.monotonic() + 4.0  # the breaker the probes before opened resets in 2 s
    while time.monotonic() < deadline:
        response = front.get("/api/orders/A1004")
        if response.status_code == 200 and response.json()["served_by"] == "primary":
            return True
        time.sleep(0.2)
    return False


def probe_breaker(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    # first of the probes (PROBES' order): the first read's retries reach the primary even
    # on a front that then stays on the replica (failback disabled)
    opened = len(events_of(sut, "breaker_state", dependency="orders_primary", to="open"))
    set_fault(deps.direct_urls["orders_primary"], "error")
    try:
        for _ in range(4):
            front.get("/api/orders/A1003")
    finally:
        set_fault(deps.direct_urls["orders_primary"], "none")
    return len(events_of(sut, "breaker_state", dependency="orders_primary", to="open")) > opened


def probe_fallback(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    set_fault(deps.direct_urls["nlu"], "error")
    try:
        response = front.post(
            "/api/chat", json={"customer_id": "c", "channel": "app", "message": "card payment"}
        )
    finally:
        set_fault(deps.direct_urls["nlu"], "none")
    return response.status_code == 200 and response.json()["mode"] == "fallback"


def probe_outbox(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    set_fault(deps.direct_urls["tickets"], "error")
    try:
        response = front.post(
            "/api/tickets", json={"customer_id": "c", "kind": "complaint", "text": "late"}
        )
    finally:
        set_fault(deps.direct_urls["tickets"], "none")
    if response.status_code != 201:
        return False
    ticket_id = response.json()["ticket_id"]
    wait_for(lambda: front.get(f"/api/tickets/{ticket_id}").json()["status"] == "stored", 5)
    return True


def probe_shedding(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    time.sleep(1.05)  # an empty arrival window first
    # a burst, not a trickle: past the front's shed_rps (5 here) in one second, the rest
    # is shed; each recommendation it admits costs ~70 ms of CPU (all 40 without shedding)
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(
            pool.map(
                lambda i: (
                    front.get("/api/recommendations", params={"customer_id": "c"}).status_code
                ),
                range(40),
            )
        )
    return 429 in codes


def probe_timeouts(deps: RunningSystem, sut: RunningSystem, front: httpx.Client) -> bool:
    set_fault(deps.direct_urls["nlu"], "delay", delay_s=1.5)
    try:
        started = time.monotonic()
        front.post("/api/chat", json={"customer_id": "c", "channel": "web", "message": "hi"})
        elapsed_s = time.monotonic() - started
    finally:
        set_fault(deps.direct_urls["nlu"], "none")
    return elapsed_s < 1.2


PROBES: dict[Mechanism, Probe] = {
    Mechanism.BREAKER: probe_breaker,  # first: see probe_breaker
    Mechanism.FAILOVER: probe_failover,
    Mechanism.FAILBACK: probe_failback,
    Mechanism.FALLBACK: probe_fallback,
    Mechanism.OUTBOX: probe_outbox,
    Mechanism.SHEDDING: probe_shedding,
    Mechanism.TIMEOUTS: probe_timeouts,
}


def test_probe_registry_covers_every_mechanism() -> None:
    """There is one probe per mechanism, so a new mechanism cannot go untested."""
    assert set(PROBES) == set(Mechanism)


@pytest.fixture()
def front_without(
    request: pytest.FixtureRequest, system: RunningSystem, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningSystem, httpx.Client]]:
    """A second front with one mechanism disabled, calling the shared dependencies."""
    config = SystemConfig(
        state_dir=tmp_path_factory.mktemp(f"without-{request.param.value}"),
        disabled=frozenset({request.param}),
        settings=FrontSettings(shed_rps=5, timeout_s=0.5, no_timeout_s=10),
        dependency_url_overrides=system.direct_urls,
    )
    sut = start_system(config)
    try:
        with httpx.Client(base_url=sut.front_url, timeout=15, trust_env=False) as client:
            yield sut, client
    finally:
        sut.stop()


@pytest.mark.parametrize("front_without", list(Mechanism), indirect=True, ids=lambda m: m.value)
def test_disable_removes_exactly_one_mechanism(
    system: RunningSystem, front_without: tuple[RunningSystem, httpx.Client]
) -> None:
    """With one mechanism disabled, its probe fails and every other probe still passes."""
    sut, front = front_without
    (disabled,) = sut.config.disabled
    observed = {m: PROBES[m](system, sut, front) for m in PROBES}
    expected = {m: m != disabled for m in PROBES}
    assert observed == expected
