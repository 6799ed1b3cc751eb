"""Indeterminate writes with the id in the request (id_from_request), against a purpose-built
order API that loses answers on purpose (writes_server.py); ground truth from the server.

Orders whose answer was a timeout or a 500 are indeterminate: never lost, read back by
their idempotency key, and those the server stored were "created although the client
saw an error". Both Locust clients (HttpUser and FastHttpUser) carry the key.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.pytest_plugin import run_drill_in_child
from harness.results.model import Verdict
from tests.servers import served

pytestmark = pytest.mark.slow
LOG = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DRILL_TIMEOUT_S = 90.0


class OrderApi:
    def __init__(self, url: str) -> None:
        self.url = url

    def truth(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/truth", timeout=5) as response:
            return json.loads(response.read())


@pytest.fixture
def orders_api() -> Iterator[OrderApi]:
    """A fresh writes_server.py per test (its ground truth starts empty); always stopped."""
    with served(HERE / "writes_server.py", health_path="/health") as url:
        yield OrderApi(url)


def drill_file(tmp_path: Path, url: str, user_class: str) -> Path:
    drill = {
        "name": "orders-indeterminate",
        "target": {"url": url, "health_path": "/health"},
        "toxiproxy": {"url": "embedded"},
        "load": {
            "scenario": str(HERE / "writes_scenario.py"),
            "user_classes": [user_class],
            "shape": {"type": "steady", "level": 4},
            "spawn_rate_per_s": 50,
            "drain_s": 5,
        },
        "writes": [
            {
                "endpoint": "orders:create",
                "id_from_request": {"header": "Idempotency-Key"},
                "read_path": "/orders/{id}",
                "settle_timeout_s": 1,  # stored before the answer or never: no 10 s re-reads
            }
        ],
        "bucket_s": 0.25,
        "phases": [{"name": "orders", "duration_s": 3}],
        "checks": [{"name": "no lost orders", "type": "lost_writes"}],
    }
    path = tmp_path / "orders.yaml"
    path.write_text(yaml.safe_dump(drill), encoding="utf-8")
    return path


@pytest.mark.parametrize("user_class", ["Orders", "OrdersFast"])
def test_lost_answers_are_indeterminate_and_read_back_by_their_key(
    orders_api: OrderApi, tmp_path: Path, user_class: str
) -> None:
    """Every ok order is acknowledged and verified; every timeout or 500 is indeterminate
    (none lost); those the server stored are exactly the ones found by their key."""
    outcome = run_drill_in_child(
        drill_file(tmp_path, orders_api.url, user_class),
        reports_dir=tmp_path / "reports",
        timeout_s=DRILL_TIMEOUT_S,
    )
    truth = orders_api.truth()
    modes, stored = truth["modes"], set(truth["stored"])
    LOG.info("ground truth: server_requests_per_mode = %s", json.dumps(modes, sort_keys=True))
    writes = outcome.report.writes
    assert writes is not None, outcome.explain()
    assert modes["ok"] > 0 and modes["slow"] > 0 and modes["before"] > 0, truth
    assert writes.acknowledged == modes["ok"], (writes, modes)
    assert writes.verified == modes["ok"] and writes.lost == [] and writes.unverifiable == []
    lost_answers = modes["slow"] + modes["after"] + modes["before"]
    assert writes.indeterminate == lost_answers, (writes, modes)
    assert writes.indeterminate_answers == {
        "answered 500": modes["after"] + modes["before"],
        "no answer: timeout": modes["slow"],
    }
    assert writes.indeterminate_known_id == lost_answers
    # created although the client saw an error: server truth says slow + after were stored
    assert set(writes.indeterminate_found) <= stored
    assert len(writes.indeterminate_found) == modes["slow"] + modes["after"], (writes, modes)
    assert len(stored) == modes["ok"] + modes["slow"] + modes["after"]
    check = outcome.check("no lost orders")
    assert check.passed and check.measured == 0, outcome.explain()
    assert f"{len(writes.indeterminate_found)} of them found" in check.detail
    assert outcome.report.verdict is Verdict.PASS, outcome.explain()
