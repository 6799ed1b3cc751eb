"""Tests for harness.load.protocol: what workers send the master, without Locust."""

from __future__ import annotations

import sys

from harness.load.classify import RequestSample
from harness.load.outcome import OutcomeRules
from harness.load.protocol import LIVE_SAMPLES_PER_SECOND, WorkerBatch, WorkerConfig, decode_batch
from harness.metrics.histogram import decode
from harness.results.model import Outcome
from harness.results.raw import AckedWrite


def config() -> WorkerConfig:
    return WorkerConfig(t0_unix_s=0.0, bucket_s=0.5, outcomes=OutcomeRules(), writes=[])


def sample(t_s: float, outcome: Outcome = Outcome.OK, ms: float = 10.0) -> RequestSample:
    return RequestSample(t_s, "orders", outcome, int(ms * 1000), None, False)


def test_protocol_does_not_import_locust() -> None:
    """The protocol is plain data: importable where Locust must not be."""
    assert "locust" not in sys.modules


def test_config_round_trips_as_plain_json() -> None:
    """The config survives Locust's msgpack transport as a plain dict."""
    c = config()
    assert WorkerConfig.model_validate(c.model_dump(mode="json")) == c


def test_drain_sends_closed_buckets_only_and_everything_when_final() -> None:
    """A report carries buckets closed grace_s ago; the final one carries the rest, once."""
    batch = WorkerBatch(config())
    for t in (0.1, 0.2, 1.7, 2.9):
        batch.add([sample(t)])
    first, _, _ = decode_batch(batch.drain(now_s=3.0))  # grace 2 s: buckets ending <= 1.0
    assert [(r.bucket, r.count) for r in first] == [(0, 2)]
    final, _, _ = decode_batch(batch.drain(None, final=True))
    assert sorted((r.bucket, r.count) for r in final) == [(3, 1), (5, 1)]
    assert decode_batch(batch.drain(None, final=True))[0] == []


def test_rows_keep_latencies_and_writes_travel() -> None:
    """Rows hold the recorded latencies; acknowledged writes are sent once."""
    batch = WorkerBatch(config())
    write = AckedWrite(t_s=0.1, endpoint="tickets:create", write_id="T1", read_path="/t/T1")
    batch.add([sample(0.1, ms=40.0)], [write])
    rows, writes, _ = decode_batch(batch.drain(None, final=True))
    assert writes == [write]
    assert abs(decode(rows[0].hist).percentile_ms(50) - 40.0) <= 0.05


def test_live_samples_keep_exact_counts_when_latencies_are_capped() -> None:
    """Above the per-second cap latencies are sampled, but every request still counts."""
    batch = WorkerBatch(config())
    n = LIVE_SAMPLES_PER_SECOND + 500
    for i in range(n):
        batch.add([sample(3.0 + i / (2 * n), Outcome.OK, ms=5.0)])
    batch.add([sample(3.2, Outcome.ERROR, ms=1.0)])
    payload = batch.drain(None, final=True)
    ok_entry = next(e for e in payload["live"] if e[1] == "ok")
    assert ok_entry[2] == n and len(ok_entry[3]) == LIVE_SAMPLES_PER_SECOND
    _, _, live = decode_batch(payload)
    assert sum(1 for _, o, _ in live if o is Outcome.OK) == n
    assert sum(1 for _, o, _ in live if o is Outcome.ERROR) == 1
    assert all(3.0 <= t < 4.0 for t, _, _ in live)
