"""Metrics: recording requests into per-bucket rows, and querying them afterwards.

No Locust import anywhere in this package: the load package calls
:meth:`Recorder.record` from its request hook.
"""

from harness.metrics.histogram import BadHistogram, Latency, decode, encode_values, merge
from harness.metrics.recorder import Recorder, bucket_of
from harness.metrics.store import NON_SHED, SUCCESS, MetricStore, sliding_windows
from harness.metrics.summary import PhaseSpan, phase_summaries, phase_summary, time_series

__all__ = [
    "NON_SHED",
    "SUCCESS",
    "BadHistogram",
    "Latency",
    "MetricStore",
    "PhaseSpan",
    "Recorder",
    "bucket_of",
    "decode",
    "encode_values",
    "merge",
    "phase_summaries",
    "phase_summary",
    "sliding_windows",
    "time_series",
]
