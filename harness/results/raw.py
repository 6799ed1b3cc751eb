"""The raw records a drill writes while it runs, one JSON object a line.

A run directory ``reports/<run id>/`` holds ``raw/`` with:

- ``run.json``       :class:`RunMeta`: the resolved drill and how the run was set up (written first)
- ``journal.jsonl``  :class:`~harness.results.model.TimelineEvent` lines, appended as things happen
- ``metrics.jsonl``  :class:`MetricRow` lines: one per (time bucket, endpoint, outcome), flushed each bucket
- ``writes.jsonl``   :class:`AckedWrite` lines: every acknowledged and indeterminate write seen in
  the load, and the first answer of each kind a write rule did not take as an acknowledgement
- ``verification.json`` :class:`WriteVerification`: the read-back of acknowledged writes after the drill
- ``server.jsonl``   :class:`~harness.results.model.ServerSample` lines (scrapes of the target's /metrics)
- ``generator.jsonl`` :class:`GeneratorRow` lines: the load generator's own event-loop lag and CPU,
  one per (time bucket, load process); absent in runs made before it existed
- ``probes.jsonl``   :class:`ProbeRun` lines: each run of a drill's probes (HTTP, command,
  Prometheus metric), absent when the drill has none
- ``load.jsonl``     :class:`LoadLevelRow` lines: the load level the shape set and the users
  running, one per time bucket; absent in runs made before it existed

Rows for the same (bucket, endpoint, outcome) may appear more than once (late
requests, several Locust workers): readers merge them. Open model: arrivals that
were dropped (no free user, backlog full) are rows of the endpoint
:data:`DROPPED_ENDPOINT`, outcome ``error``, in the bucket of their intended time,
with an empty histogram (``count`` > 0, no latency). Everything a report needs
is rebuilt from these files alone, so a crash mid-drill still leaves a reportable run.

Error rows (outcome ``error``) carry ``errors``: how many of their requests failed
in which way (error kind -> count, :mod:`harness.load.error_kind`), at most
:data:`MAX_ERROR_KINDS` kinds, the rest summed under :data:`OTHER_KIND`; the counts
add up to ``count``. An exception in a task's own code is a row of the endpoint
``task:<UserClass>.<function>`` with no latency (``count`` > 0, empty histogram), as
are drops. Rows written before error kinds existed have no ``errors`` (read as ``{}``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from harness.results.model import Outcome

DROPPED_ENDPOINT = "harness:dropped"  # open model: arrivals never sent (see the module docs)
DROPPED_KIND = "harness: dropped"  # the error kind of a dropped arrival
CUT_OFF_KIND = "harness: cut off at drain"  # a request still in flight when load.drain_s ran out
OTHER_KIND = "other"  # the kinds beyond the cap of a row (or of a report's top list), summed
MAX_ERROR_KINDS = 20  # distinct error kinds per row; the rest go to OTHER_KIND


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricRow(_Row):
    """Latencies of the requests that *started* in one time bucket, for one endpoint and outcome."""

    bucket: int  # index: the bucket covers [bucket * bucket_s, (bucket + 1) * bucket_s) from drill start
    endpoint: str  # Locust request name
    outcome: Outcome
    count: int
    hist: str  # HdrHistogram (microseconds), base64-encoded as hdrhistogram's encode() writes it
    hist_corrected: str | None = (
        None  # coordinated-omission corrected latency (open model), same unit
    )
    retry_after_missing: int = 0  # shed responses (429) that carried no Retry-After header
    errors: dict[str, int] = {}  # outcome error: count per error kind (see the module docs)


class GeneratorRow(_Row):
    """The load generator's own health in one time bucket, measured in one load process.

    Written by :class:`harness.load.health.LoopMonitor`: how much later than asked
    the process's event loop woke from its short sleeps (lag), and the process's CPU
    time over wall time. A bucket holds the wake-ups that happened in it.
    """

    bucket: int  # the bucket covers [bucket * bucket_s, (bucket + 1) * bucket_s) from drill start
    process: str  # "harness" (the drill's own process) or "worker-<pid>" (a Locust worker)
    samples: int  # wake-ups measured in the bucket
    lag_max_ms: float  # the latest wake-up
    lag_mean_ms: float
    cpu_percent: float  # process CPU time / wall time, % of one core (threads add up)


class LoadLevelRow(_Row):
    """The load level at the start of one time bucket, written by the drill runner.

    ``level`` is what the drill's shape asked for: users (closed model) or arrivals a
    second (open model, over all workers); ``users`` is how many users were running.
    """

    bucket: int  # the bucket covers [bucket * bucket_s, (bucket + 1) * bucket_s) from drill start
    level: float
    users: int


class WriteKind(StrEnum):
    """What the answer to a request on a write rule's endpoint said about the write."""

    ACKNOWLEDGED = "acknowledged"  # an acknowledging status and an id: must exist after the drill
    INDETERMINATE = "indeterminate"  # sent, answer lost (timeout, reset, 5xx): may or may not exist
    UNMATCHED = "unmatched"  # answered, not an acknowledgement: the first of each kind, as a reason


class AckedWrite(_Row):
    """A request on a write rule's endpoint: an acknowledged write (must still exist after the
    drill), an indeterminate one (its answer was lost), or the first of a kind of answer that
    the rule did not take as an acknowledgement (``note`` says why; no id).

    ``write_id`` and ``read_path`` are None when the id is unknown (an indeterminate write
    whose rule cannot know the id in advance, an unmatched answer). Rows written before
    ``kind`` existed are acknowledged writes.
    """

    t_s: float
    endpoint: str
    write_id: str | None
    read_path: str | None  # path to read it back, e.g. /api/tickets/T-123
    kind: WriteKind = WriteKind.ACKNOWLEDGED
    status: int | None = None  # status of the answer to the write (0: none came)
    note: str = ""  # indeterminate: what the client saw; unmatched: why it is not acknowledged


class WriteCheckOutcome(_Row):
    write_id: str
    found: bool | None  # None: could not be checked (read failed for another reason)
    status: int | None
    detail: str = ""


class WriteVerification(_Row):
    checked_at_s: float
    results: list[WriteCheckOutcome]


class RunMeta(_Row):
    """How the run was set up: written once, first, so every later file can be interpreted."""

    run_id: str
    drill: dict[str, Any]  # the resolved drill definition (as validated), for rebuilding reports
    drill_file: str | None
    started_at: str  # ISO 8601 UTC of t_s == 0
    started_at_unix_s: float  # time.time() at t_s == 0 (for comparing with the target's own logs)
    bucket_s: float
    target_url: str
    toxiproxy_url: str | None
    workers: int = 1


class ProbeRun(_Row):
    """One run of one of the drill's probes (``probes:``, harness.drill.probes)."""

    t_s: float  # drill time the probe started
    probe: str  # the probe's name
    kind: str  # "http", "command" or "metric"
    passed: bool
    duration_ms: float
    detail: str = ""  # what was seen, e.g. "status 503, expected 200" or "exit 1, expected 0"
