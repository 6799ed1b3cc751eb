"""The open model's split over Locust workers: rate and max_concurrency shares (no Locust)."""

from __future__ import annotations

import sys

import pytest

from harness.load.outcome import OutcomeRules
from harness.load.protocol import (
    WorkerBatch,
    WorkerConfig,
    decode_arrivals,
    split_count,
    worker_shares,
)


def test_no_locust_imported() -> None:
    """The split is plain arithmetic: importable where Locust must not be."""
    assert "locust" not in sys.modules


@pytest.mark.parametrize(
    ("total", "parts", "expected"),
    [(10, 2, [5, 5]), (5, 2, [3, 2]), (7, 3, [3, 2, 2]), (2, 2, [1, 1]), (0, 2, [0, 0])],
)
def test_split_count_is_near_equal_and_adds_up(total: int, parts: int, expected: list[int]) -> None:
    """Whole shares that differ by at most one and add up to the total."""
    assert split_count(total, parts) == expected
    assert sum(split_count(total, parts)) == total


def test_split_count_of_no_parts_is_empty() -> None:
    assert split_count(5, 0) == []


def test_each_worker_gets_the_rate_over_the_number_of_workers() -> None:
    """40 arrivals/s over 3 workers: 13.33/s each, 40/s together; concurrency 10 as 4+3+3."""
    shares = worker_shares(40.0, 10, ["w-c", "w-a", "w-b"])
    assert sorted(shares) == ["w-a", "w-b", "w-c"]
    assert all(s.rate_per_s == pytest.approx(40 / 3) for s in shares.values())
    assert sum(s.rate_per_s for s in shares.values()) == pytest.approx(40.0)
    assert [shares[w].max_backlog for w in ("w-a", "w-b", "w-c")] == [4, 3, 3]


def test_shares_follow_the_set_of_workers() -> None:
    """A worker joining halves the others' rate; the same set always gets the same shares."""
    assert worker_shares(30.0, 6, ["a"])["a"].rate_per_s == pytest.approx(30.0)
    two = worker_shares(30.0, 6, ["b", "a"])
    assert {w: s.rate_per_s for w, s in two.items()} == {"a": 15.0, "b": 15.0}
    assert two == worker_shares(30.0, 6, ["a", "b"])


def test_a_negative_or_zero_rate_issues_nothing_and_no_workers_no_shares() -> None:
    assert worker_shares(-5.0, 4, ["a", "b"])["a"].rate_per_s == 0.0
    assert worker_shares(0.0, 4, ["a"])["a"].rate_per_s == 0.0
    assert worker_shares(10.0, 4, []) == {}


def test_a_batch_carries_the_workers_cumulative_arrivals() -> None:
    """Every report carries the latest issued/dropped totals; a closed-model batch none."""
    config = WorkerConfig(t0_unix_s=0.0, bucket_s=0.5, outcomes=OutcomeRules(), writes=[])
    batch = WorkerBatch(config)
    assert decode_arrivals(batch.drain(1.0)) is None
    batch.set_arrivals(10, 3)
    assert decode_arrivals(batch.drain(2.0)) == (10, 3)
    batch.set_arrivals(25, 4)
    assert decode_arrivals(batch.drain(None, final=True)) == (25, 4)
