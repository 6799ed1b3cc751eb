"""Writes on a server-rendered app (deskapp): ids from a 302 Location, read back through a page
that answers 200 "Invalid ticket ID" or through the staff API with basic auth, tickets deleted
behind the harness's back, and answers cut off by a stalled database.

Ground truth is deskapp's own: its staff API lists every ticket in Redis, and a ticket the
test deletes (DELETE on the staff API, 204) is gone for certain.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.pytest_plugin import DrillOutcome, run_drill_in_child
from harness.results.model import Outcome, Verdict
from tests.systems.deskapp import INVALID_TICKET_TEXT, STAFF_PASSWORD, STAFF_USER
from tests.systems.deskapp.fixtures import HERE as DESKAPP_DIR
from tests.systems.deskapp.fixtures import DeskappEnv

pytestmark = pytest.mark.slow
LOG = logging.getLogger(__name__)

DRILL_TIMEOUT_S = 120.0
SCENARIO = DESKAPP_DIR / "scenarios" / "customer_path.py"
FROM_LOCATION = {"id_header": "Location", "id_regex": r"/tickets/(T-\d+)"}
PUBLIC_PAGE = {"read_path": "/tickets/{id}", "absent": {"body_contains": INVALID_TICKET_TEXT}}
STAFF_API = {
    "read_path": "/staff/api/tickets/{id}",
    "read_headers": {"Authorization": "Basic ${DESK_AUTH}"},
}


def drill(
    tmp_path: Path,
    env: DeskappEnv,
    rule: dict[str, Any],
    *,
    phases: list[dict[str, Any]] | None = None,
) -> Path:
    data = {
        "name": "deskapp-writes",
        "target": {"url": env.app_url, "health_path": "/health"},
        "toxiproxy": {"url": env.toxiproxy_url},
        "proxies": [{"name": env.proxy_name}],
        "load": {
            "scenario": str(SCENARIO),
            "shape": {"type": "steady", "level": 4},
            "spawn_rate_per_s": 50,
            "drain_s": 5,
        },
        "writes": [{"endpoint": "ticket:create", **rule}],
        "bucket_s": 0.25,
        "phases": phases or [{"name": "tickets", "duration_s": 4}],
        "checks": [{"name": "no lost tickets", "type": "lost_writes"}],
    }
    path = tmp_path / "deskapp-writes.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(path: Path, tmp_path: Path) -> DrillOutcome:
    return run_drill_in_child(path, reports_dir=tmp_path / "reports", timeout_s=DRILL_TIMEOUT_S)


def ticket_ids(env: DeskappEnv) -> set[str]:
    with env.client(staff=True) as staff:
        listed = staff.get("/staff/api/tickets", params={"limit": 500}).json()
    assert listed["count"] <= 500, "more tickets than one page: raise the limit"
    return {t["id"] for t in listed["tickets"]}


class Deleter(threading.Thread):
    """Deletes tickets behind the harness's back while the drill runs (every other ticket
    older than ``min_age_s``, up to ``limit``); ``deleted`` holds those that answered 204."""

    def __init__(self, env: DeskappEnv, before: set[str], limit: int, min_age_s: float = 1.0):
        super().__init__(daemon=True)
        self.env, self.before, self.limit, self.min_age_s = env, before, limit, min_age_s
        self.deleted: set[str] = set()
        self.skipped: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        with self.env.client(staff=True, timeout_s=5) as staff:
            while not self.stop.wait(0.2) and len(self.deleted) < self.limit:
                listed = staff.get("/staff/api/tickets", params={"limit": 500}).json()
                for ticket in sorted(listed["tickets"], key=lambda t: t["id"]):
                    ticket_id = ticket["id"]
                    if ticket_id in self.before | self.deleted | self.skipped:
                        continue
                    if time.time() - ticket["created_at"] < self.min_age_s:
                        continue
                    if len(self.skipped) <= len(self.deleted):
                        self.skipped.add(ticket_id)  # every other one stays
                        continue
                    if staff.delete(f"/staff/api/tickets/{ticket_id}").status_code == 204:
                        self.deleted.add(ticket_id)
                    if len(self.deleted) >= self.limit:
                        return


def test_ids_from_the_302_location_are_tracked_and_all_verified(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """(a) POST -> 302 Location: /tickets/T-...: every ticket created is an acknowledged write,
    read back on the public page, all verified: lost 0, pass."""
    before = ticket_ids(deskapp_env)
    outcome = run(drill(tmp_path, deskapp_env, {**FROM_LOCATION, **PUBLIC_PAGE}), tmp_path)
    created = ticket_ids(deskapp_env) - before
    writes = outcome.report.writes
    LOG.info("ground truth: tickets_created = %s", len(created))
    assert writes is not None and len(created) > 10, outcome.explain()
    assert writes.acknowledged == len(created), (writes, len(created))
    assert writes.verified == len(created) and writes.lost == [] and writes.indeterminate == 0
    check = outcome.check("no lost tickets")
    assert check.passed and check.measured == 0, outcome.explain()
    assert outcome.report.verdict is Verdict.PASS and outcome.exit_code == 0, outcome.explain()


@pytest.mark.parametrize("read_back", ["public page", "staff api"])
def test_tickets_deleted_behind_the_harness_are_exactly_the_lost_writes(
    deskapp_env: DeskappEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    read_back: str,
) -> None:
    """(b) While the drill runs, the test deletes tickets through the staff API: lost_writes
    equals exactly the number deleted (and names those ids) and fails, whether the read-back
    tells "absent" by the 200 'Invalid ticket ID' page or by the staff API's 404 (basic
    auth from $DESK_AUTH)."""
    token = base64.b64encode(f"{STAFF_USER}:{STAFF_PASSWORD}".encode()).decode()
    monkeypatch.setenv("DESK_AUTH", token)  # inherited by the drill's process
    rule = {**FROM_LOCATION, **(PUBLIC_PAGE if read_back == "public page" else STAFF_API)}
    rule["settle_timeout_s"] = 1  # a deleted ticket stays deleted: no need to wait 10 s
    before = ticket_ids(deskapp_env)
    deleter = Deleter(deskapp_env, before, limit=6)
    deleter.start()
    try:
        outcome = run(drill(tmp_path, deskapp_env, rule), tmp_path)
    finally:
        deleter.stop.set()
        deleter.join(timeout=10)
    assert len(deleter.deleted) >= 3, "the deleter found too few tickets to delete"
    kept = ticket_ids(deskapp_env) - before
    writes = outcome.report.writes
    LOG.info("ground truth: tickets_deleted = %s", len(deleter.deleted))
    LOG.info("ground truth: tickets_kept = %s", len(kept))
    assert writes is not None, outcome.explain()
    assert sorted(writes.lost) == sorted(deleter.deleted), (writes.lost, deleter.deleted)
    assert writes.acknowledged == len(kept) + len(deleter.deleted)
    assert writes.verified == len(kept) and writes.unverifiable == []
    check = outcome.check("no lost tickets")
    assert not check.passed and check.measured == len(deleter.deleted), outcome.explain()
    assert outcome.report.verdict is Verdict.FAIL and outcome.exit_code == 1, outcome.explain()
    run_json = (outcome.run_dir / "raw" / "run.json").read_text(encoding="utf-8")
    assert token not in run_json  # the drill keeps ${DESK_AUTH}, never its value


def test_a_stalled_database_makes_indeterminate_writes(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """(c) Redis answers 2.5 s late (past deskapp's 2 s command timeout): the customer gets a
    500, and the ticket may or may not be stored. Every such create is indeterminate
    (counted, reported, never lost); with the id only in the answer, none can be read back.
    Server truth: the tickets stored but not acknowledged (created although the customer
    saw an error) are at most the indeterminate count, and more than none."""
    fault = tmp_path / "db-stalled.yaml"
    fault.write_text(
        yaml.safe_dump(
            {
                "name": "db-stalled",
                "faults": [
                    {
                        "name": "db-latency-2500ms",
                        "proxy": deskapp_env.proxy_name,
                        "type": "latency",
                        "stream": "downstream",
                        "latency_ms": 2500,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    phases = [
        {"name": "baseline", "duration_s": 2},
        {"name": "stalled", "duration_s": 3, "faults": [str(fault)]},
        {"name": "after", "duration_s": 2},
    ]
    before = ticket_ids(deskapp_env)
    outcome = run(
        drill(tmp_path, deskapp_env, {**FROM_LOCATION, **PUBLIC_PAGE}, phases=phases), tmp_path
    )
    deskapp_env.wait_db_reachable()
    stored = ticket_ids(deskapp_env) - before
    writes = outcome.report.writes
    assert writes is not None, outcome.explain()
    assert writes.indeterminate > 0, writes
    assert writes.indeterminate_answers == {"answered 500": writes.indeterminate}, writes
    assert writes.indeterminate_known_id == 0 and writes.indeterminate_found == []
    failed_creates = sum(
        p.endpoints["ticket:create"].outcome_counts.get(Outcome.ERROR, 0)
        for p in outcome.report.phases
        if "ticket:create" in p.endpoints
    )
    assert writes.indeterminate == failed_creates, (writes, failed_creates)
    created_despite_error = len(stored) - writes.acknowledged
    LOG.info("ground truth: tickets_stored = %s", len(stored))
    LOG.info("ground truth: created_despite_error = %s", created_despite_error)
    assert 0 < created_despite_error <= writes.indeterminate, (len(stored), writes)
    assert writes.lost == [] and writes.verified == writes.acknowledged
    check = outcome.check("no lost tickets")
    assert check.passed, outcome.explain()
    assert f"{writes.indeterminate} indeterminate (sent, answer lost: " in check.detail
    assert "their ids unknown" in check.detail


def test_a_json_rule_on_a_redirecting_form_says_why_nothing_was_tracked(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """The issue's case: id_field on a form that answers 302: lost_writes is 'no data' and
    says the rule saw 302s with the id in Location, and how to read it."""
    outcome = run(drill(tmp_path, deskapp_env, {"id_field": "id", **PUBLIC_PAGE}), tmp_path)
    check = outcome.check("no lost tickets")
    assert not check.passed and check.measured is None, outcome.explain()
    assert check.detail.startswith("no data: no writes were tracked: rule 'ticket:create' took")
    assert "answered 302: not an acknowledgement (2xx); Location: '/tickets/T-" in check.detail
    assert "id_header: Location reads it" in check.detail
