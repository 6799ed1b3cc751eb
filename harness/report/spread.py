"""Run-to-run spread: is a difference between two runs larger than their noise?

``compare`` calls a figure a regression only when it moved beyond its tolerance (a
minimum effect size) AND beyond what sampling alone explains:

- a latency percentile: the two runs' 99 % confidence intervals do not overlap. The
  interval of the q-th percentile of n requests is the order statistics at ranks
  ``n q -+ 2.576 sqrt(n q (1 - q))`` (the rank is binomial), read off the phase's latency
  histogram, rebuilt from ``raw/metrics.jsonl`` (every outcome but shed). With or without
  the raw records, a percentile is compared only when at least ``MIN_TAIL`` requests lie
  above it in both runs (a p99 needs 1,000 requests, a p95 200): requests close in time are
  not independent, so a thinner tail is not judged;
- a ratio (errors, fallbacks, shed): a one-sided two-proportion z-test on the counts;
- throughput: a one-sided test on the two request counts as Poisson rates.

The tests share one false-alarm budget per comparison: ``FAMILY_ALPHA`` split over the
figures compared (Bonferroni), so comparing 3 phases x 4 counted figures tests each at
p < 0.001 / 12 (z > 3.77): a gate in CI should cry wolf about once in a thousand runs, and
a real change (errors 0 -> 5 % over 800 requests: z ~ 6) still clears it. Two 99 %
intervals that do not overlap mean p < 0.0002 on their own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

from harness.metrics.histogram import Latency
from harness.results.model import Outcome, RunReport

Z_INTERVAL = 2.576  # two-sided 99 % interval of a percentile
FAMILY_ALPHA = 0.001  # chance that two runs of one healthy drill show any counted change
MIN_TAIL = 10  # requests above a percentile, in both runs, needed to compare it


@dataclass(frozen=True)
class Interval:
    """A percentile's value and its 99 % confidence interval, in ms."""

    value_ms: float
    low_ms: float
    high_ms: float


def percentile_interval(latency: Latency, q: float) -> Interval | None:
    """The ``q``-th quantile (0..1) of ``latency`` with its 99 % interval, None when empty."""
    n = latency.count
    if n == 0:
        return None
    half = Z_INTERVAL * math.sqrt(q * (1 - q) / n)
    lo, hi = max(q - half, 0.0), min(q + half, 1.0)
    value, low = latency.percentile_ms(q * 100), latency.percentile_ms(max(lo * 100, 1e-9))
    high = latency.max_ms() if hi >= 1.0 else latency.percentile_ms(hi * 100)
    if value is None or low is None or high is None:
        return None
    return Interval(value, low, high)


def phase_latencies(run_dir: Path, report: RunReport) -> dict[str, Latency] | None:
    """Per phase, the latency histogram of every outcome but shed; None without raw records."""
    raw = run_dir / "raw" / "metrics.jsonl"
    if not raw.is_file():
        return None
    bucket_s = report.series.bucket_s or 1.0
    out = {p.name: Latency() for p in report.phases}
    spans = [(p.name, p.start_s, p.end_s) for p in report.phases]
    with raw.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("outcome") == Outcome.SHED.value or not row.get("hist"):
                continue
            t = row["bucket"] * bucket_s
            name = next((n for n, a, b in spans if a - 1e-9 <= t < b - 1e-9), None)
            if name is not None:
                out[name].add_blob(row["hist"])
    return out


def z_limit(tests: int) -> float:
    """The one-sided z a single test must pass when ``tests`` share ``FAMILY_ALPHA``."""
    return NormalDist().inv_cdf(1 - FAMILY_ALPHA / max(tests, 1))


def proportion_z(k_base: int, n_base: int, k_cand: int, n_cand: int) -> float:
    """One-sided two-proportion z: how far the candidate's share is above the baseline's."""
    if n_base <= 0 or n_cand <= 0:
        return 0.0
    pooled = (k_base + k_cand) / (n_base + n_cand)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_base + 1 / n_cand))
    diff = k_cand / n_cand - k_base / n_base
    if se == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / se


def rate_drop_z(n_base: int, d_base_s: float, n_cand: int, d_cand_s: float) -> float:
    """One-sided z of a drop in request rate, the counts taken as Poisson."""
    if d_base_s <= 0 or d_cand_s <= 0:
        return 0.0
    se = math.sqrt(n_base / d_base_s**2 + n_cand / d_cand_s**2)
    diff = n_base / d_base_s - n_cand / d_cand_s
    return 0.0 if se == 0 else diff / se
