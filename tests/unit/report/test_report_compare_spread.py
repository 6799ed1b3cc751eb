"""compare judges against the run-to-run spread: same distribution compares clean, a real shift does not.

Each run is synthetic but complete: report.json plus raw/metrics.jsonl with the per-bucket
latency histograms, drawn from one distribution with its own seed (no real drill runs).
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path

import pytest

from harness.metrics.histogram import decode, encode_values
from harness.report.compare import Tolerances, compare
from harness.report.sample import sample_report
from harness.report.spread import percentile_interval, proportion_z
from harness.results.model import Outcome, PhaseSummary, RunReport

RATE_RPS = 40.0  # about 400 requests in a 10 s phase, 800 in the 20 s fault phase
HEALTHY = {  # phase -> (median latency ms, error share, fallback share)
    "baseline": (80.0, 0.004, 0.0),
    "fault": (140.0, 0.01, 0.25),
    "recovery": (90.0, 0.004, 0.02),
}


def write_run(root: Path, name: str, seed: int, shape: dict[str, tuple[float, float, float]],
              slower: float = 1.0) -> Path:
    """A run directory drawn from ``shape`` with ``seed``; ``slower`` multiplies the fault's latency."""
    rng = random.Random(seed)
    base = sample_report()
    rows: dict[tuple[int, str], list[int]] = defaultdict(list)
    phases = []
    for p in base.phases:
        median_ms, err, fallback = shape[p.name]
        duration = p.end_s - p.start_s
        n = max(1, round(rng.gauss(RATE_RPS * duration, math.sqrt(RATE_RPS * duration))))
        counts = {o: 0 for o in (Outcome.OK, Outcome.ERROR, Outcome.FALLBACK)}
        values = []
        factor = slower if p.name == "fault" else 1.0
        for _ in range(n):
            u = rng.random()
            outcome = Outcome.ERROR if u < err else Outcome.FALLBACK if u < err + fallback \
                else Outcome.OK
            counts[outcome] += 1
            us = int(rng.lognormvariate(math.log(median_ms * 1000 * factor), 0.5))
            values.append(us)
            bucket = int(p.start_s + rng.random() * duration)
            rows[(bucket, outcome.value)].append(us)
        latency = decode(encode_values(values))
        p50, p95, p99 = latency.percentiles_ms([50, 95, 99])
        phases.append(PhaseSummary(
            name=p.name, start_s=p.start_s, end_s=p.end_s, faults=p.faults, requests=n,
            rps=n / duration, outcome_counts=counts, error_ratio=counts[Outcome.ERROR] / n,
            fallback_ratio=counts[Outcome.FALLBACK] / n, degraded_ratio=0.0, shed_ratio=0.0,
            p50_ms=p50, p95_ms=p95, p99_ms=p99, max_ms=latency.max_ms(),
        ))
    report = base.model_copy(update={"run_id": name, "phases": phases, "checks": [],
                                     "timings": [], "writes": None})
    run = root / name
    (run / "raw").mkdir(parents=True)
    (run / "report.json").write_text(report.model_dump_json(), encoding="utf-8")
    with (run / "raw" / "metrics.jsonl").open("w", encoding="utf-8") as out:
        for (bucket, outcome), us in sorted(rows.items()):
            out.write(json.dumps({"bucket": bucket, "endpoint": "orders", "outcome": outcome,
                                  "count": len(us), "hist": encode_values(us)}) + "\n")
    return run


def load(run: Path) -> RunReport:
    return RunReport.model_validate_json((run / "report.json").read_text(encoding="utf-8"))


def test_ten_pairs_of_runs_from_one_distribution_compare_clean(tmp_path: Path) -> None:
    """Ten pairs of healthy runs with different seeds: no regression, no improvement claimed."""
    flagged = []
    for pair in range(10):
        a = write_run(tmp_path, f"a{pair}", seed=2 * pair, shape=HEALTHY)
        b = write_run(tmp_path, f"b{pair}", seed=2 * pair + 1, shape=HEALTHY)
        result = compare(load(a), load(b), Tolerances(), a, b)
        flagged += [(pair, c.metric, c.phase) for c in result.regressions + result.improvements]
    assert flagged == []


def test_a_real_regression_is_still_flagged(tmp_path: Path) -> None:
    """p95 of the fault phase +50 % and its error ratio 0 -> 5 %: both are regressions."""
    a = write_run(tmp_path, "a", seed=1, shape={**HEALTHY, "fault": (140.0, 0.0, 0.25)})
    b = write_run(tmp_path, "b", seed=2, shape={**HEALTHY, "fault": (140.0, 0.05, 0.25)},
                  slower=1.5)
    result = compare(load(a), load(b), Tolerances(), a, b)
    found = {(c.metric, c.phase) for c in result.regressions}
    assert {("p95_ms", "fault"), ("error_ratio", "fault")} <= found  # p99: 8 requests above it
    assert not result.ok


def test_without_raw_records_a_thin_tail_is_not_judged(tmp_path: Path) -> None:
    """From report.json alone, a p99 over fewer than 1,000 requests is noise, not a regression."""
    a = write_run(tmp_path, "a", seed=1, shape=HEALTHY)
    b = write_run(tmp_path, "b", seed=2, shape=HEALTHY, slower=1.3)
    result = compare(load(a), load(b), Tolerances())  # no run directories: no histograms
    assert ("p99_ms", "fault") not in {(c.metric, c.phase) for c in result.regressions}
    assert any("p99_ms" in n and "within the run-to-run spread" in n for n in result.notes)


def test_different_drill_definitions_are_warned_about(tmp_path: Path) -> None:
    """A changed check limit or phase length is named in a WARNING note."""
    a = load(write_run(tmp_path, "a", seed=1, shape=HEALTHY))
    phases = [a.phases[0].model_copy(update={"end_s": 12.0}), *a.phases[1:]]
    result = compare(a, a.model_copy(update={"phases": phases}), Tolerances())
    assert any(n.startswith("WARNING: the drill definitions differ: phases:") and "0-12 s" in n
               for n in result.notes)


def test_percentile_interval_narrows_with_more_requests() -> None:
    """The 99 % interval of a p95 shrinks as requests grow; a proportion test on 0/1000 vs 50/1000
    is far beyond p < 0.01."""
    rng = random.Random(7)
    small = decode(encode_values(int(rng.lognormvariate(11, 0.5)) for _ in range(200)))
    large = decode(encode_values(int(rng.lognormvariate(11, 0.5)) for _ in range(20_000)))
    i_small, i_large = percentile_interval(small, 0.95), percentile_interval(large, 0.95)
    assert i_small is not None and i_large is not None
    assert i_large.high_ms - i_large.low_ms < (i_small.high_ms - i_small.low_ms) / 3
    assert proportion_z(0, 1000, 50, 1000) > 5
    assert proportion_z(3, 400, 5, 400) == pytest.approx(0.71, abs=0.01)
