"""Tests for harness.load.error_kind and the error kinds the classifier gives (no Locust here)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import pytest

from harness.clock import DrillClock
from harness.load import error_kind as ek
from harness.load.classify import RequestClassifier
from harness.load.outcome import Marker, OutcomeRules
from harness.results.model import Outcome
from harness.results.raw import CUT_OFF_KIND

T0 = 1_000_000.0


# -- stand-ins named as the clients' exceptions are (the kind is the class name) ----------


class CatchResponseError(Exception):
    """Locust wraps response.failure("...") messages in an exception of this name."""


class ConnectionError(OSError):  # noqa: A001 - requests' wrapper is named so
    pass


class MaxRetryError(Exception):
    def __init__(self, reason: BaseException) -> None:
        super().__init__("max retries")
        self.reason = reason


class NewConnectionError(OSError):
    pass


class RetriesExceeded(Exception):  # geventhttpclient: the last error as ``original``
    def __init__(self, url: str, original: BaseException) -> None:
        super().__init__(url)
        self.original = original


class ReadTimeout(Exception):
    pass


@dataclass
class FakeResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


def classifier(**rules: object) -> RequestClassifier:
    return RequestClassifier(OutcomeRules(**rules), [], DrillClock.started_at(T0))


def sample(c: RequestClassifier, response=None, exception=None, name="orders"):
    return c.classify(
        name=name,
        response_time=20.0,
        response=response,
        context=None,
        exception=exception,
        start_time=T0 + 1.0,
    )[0]


def test_module_does_not_import_locust() -> None:
    """Error kinds are named without Locust (the unit tests run without its monkey-patching)."""
    assert "locust" not in sys.modules


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("ticket T-123 rejected", "failure: ticket T-# rejected"),
        ("ticket T-98765 rejected", "failure: ticket T-# rejected"),
        ("order 3f2a9c1e-0b7d-4c1a-9e2f-1a2b3c4d5e6f missing", "failure: order # missing"),
        ("token ab12cd34ef56ab78cd90 expired", "failure: token # expired"),
        ("took 1.25 s, limit 1,000 ms", "failure: took # s, limit # ms"),
        ("  spaced \n\t out  ", "failure: spaced out"),
        ("", "failure: (no message)"),
    ],
)
def test_failure_messages_are_normalised(message: str, kind: str) -> None:
    """Digits and ids become #, whitespace collapses: one kind per message, not per ticket."""
    assert ek.failure_kind(message) == kind


def test_failure_messages_are_cut_to_120_characters() -> None:
    """A long message is cut (with an ellipsis) so one kind stays a short string."""
    kind = ek.failure_kind("x" * 500)
    assert kind.startswith("failure: xxx") and kind.endswith("…")
    assert len(kind) == len("failure: ") + ek.FAILURE_CHARS


def test_the_failure_cache_is_bounded() -> None:
    """Thousands of distinct messages never hold more than the cache size."""
    for i in range(3000):
        ek.failure_kind(f"unique message {'ab' * (i % 7)} {chr(65 + i % 26)}{i}")
    assert len(ek._failure_kinds) <= ek._CACHE_SIZE


def test_exception_kinds_name_the_error_under_a_generic_wrapper() -> None:
    """requests' ConnectionError -> the OS error; geventhttpclient's RetriesExceeded -> original."""
    refused = ConnectionRefusedError(111, "Connection refused")
    new_connection = NewConnectionError("failed")
    new_connection.__cause__ = refused
    wrapped = ConnectionError(MaxRetryError(new_connection))
    assert ek.request_error_kind(0, wrapped) == "ConnectionRefusedError"
    assert ek.request_error_kind(0, RetriesExceeded("u", TimeoutError("timed out"))) == (
        "TimeoutError"
    )
    assert ek.request_error_kind(0, ReadTimeout("read timed out")) == "ReadTimeout"
    assert ek.request_error_kind(0, ConnectionError("nothing under it")) == "ConnectionError"


def test_request_error_kinds() -> None:
    """Status first (an HTTPError of a 500 is 'http 500'), failure() by its message."""
    assert ek.request_error_kind(500, Exception("500 Server Error")) == "http 500"
    assert ek.request_error_kind(503, None) == "http 503"
    assert ek.request_error_kind(500, CatchResponseError("db 7 down")) == "failure: db # down"
    assert ek.request_error_kind(200, CatchResponseError("bad body")) == "failure: bad body"
    assert ek.request_error_kind(0, None) == "no response"
    marker = Marker(outcome=Outcome.ERROR, json_field="status", value="failed")
    assert ek.request_error_kind(200, None, marker) == "marker: status=failed"


def test_classifier_gives_error_samples_a_kind_and_ok_samples_none() -> None:
    """Only errors are named; ok, fallback and shed samples carry no kind."""
    c = classifier(markers=[Marker(outcome=Outcome.ERROR, header="X-Mode", value="broken")])
    assert sample(c, FakeResponse(200)).error_kind is None
    assert sample(c, FakeResponse(429)).error_kind is None
    assert sample(c, FakeResponse(500), Exception("500 Server Error")).error_kind == "http 500"
    assert sample(c, None, ConnectionRefusedError(111, "refused")).error_kind == (
        "ConnectionRefusedError"
    )
    failed = sample(c, FakeResponse(200), CatchResponseError("ticket T-42 rejected"))
    assert (failed.outcome, failed.error_kind) == (Outcome.ERROR, "failure: ticket T-# rejected")
    marked = sample(c, FakeResponse(200, headers={"X-Mode": "broken"}))
    assert (marked.outcome, marked.error_kind) == (Outcome.ERROR, "marker: X-Mode=broken")


def test_json_marker_errors_are_named_from_the_body() -> None:
    """A json_field marker that says error is named after its field and value."""
    c = classifier(markers=[Marker(outcome=Outcome.ERROR, json_field="state", value="failed")])
    s = sample(c, FakeResponse(200, content=b'{"state": "failed"}'))
    assert (s.outcome, s.error_kind) == (Outcome.ERROR, "marker: state=failed")


def test_a_request_cut_off_at_drain_has_the_harness_kind() -> None:
    """The drain's cut-off requests are errors of kind 'harness: cut off at drain'."""
    s = classifier().cut_off(name="slow", start_unix_s=T0 + 1, end_unix_s=T0 + 3, lateness_s=None)
    assert (s.outcome, s.error_kind, s.latency_us) == (Outcome.ERROR, CUT_OFF_KIND, 2_000_000)


# -- exceptions in a task's own code --------------------------------------------------------


class Shopper:
    """A stand-in for a Locust user class."""

    def browse(self) -> None:
        {}["missing"]


# Locust's TaskSet.run catches a task's exception; its traceback starts there (Locust frames)
_LOCUST: dict[str, object] = {"__name__": "locust.user.task"}
exec(
    compile(
        "def run(task):\n"
        "    try:\n"
        "        execute_task(task)\n"
        "    except Exception as exc:\n"
        "        return exc\n"
        "def execute_task(task):\n"
        "    task()\n"
        "def no_tasks():\n"
        "    raise Exception('No tasks defined on Shopper')\n",
        "<locust/user/task.py>",
        "exec",
    ),
    _LOCUST,
)


def _raised(task) -> BaseException:
    exc = _LOCUST["run"](task)  # type: ignore[operator]
    assert isinstance(exc, BaseException), "the task did not raise"
    return exc


def test_a_task_exception_is_an_error_of_the_task_without_latency() -> None:
    """KeyError in Shopper.browse -> endpoint task:Shopper.browse, kind 'task exception: KeyError'."""
    exc = _raised(Shopper().browse)
    s = classifier().task_error(user_class="Shopper", exception=exc, end_unix_s=T0 + 2.5)
    assert s.endpoint == "task:Shopper.browse"
    assert s.error_kind == "task exception: KeyError"
    assert (s.outcome, s.latency_us, s.latency_ms, s.t_s) == (Outcome.ERROR, None, None, 2.5)


def test_a_task_is_named_after_the_first_frame_outside_the_machinery() -> None:
    """Locust/gevent/harness frames are skipped; none of the scenario's: task:<UserClass>."""

    def checkout() -> None:
        assert False, "cart empty"  # noqa: B011 - an assertion in a scenario

    exc = _raised(checkout)
    assert ek.task_endpoint("Shopper", exc.__traceback__) == "task:Shopper.checkout"
    assert ek.task_error_kind(exc) == "task exception: AssertionError"
    locust_only = _raised(_LOCUST["no_tasks"])
    assert ek.task_endpoint("Shopper", locust_only.__traceback__) == "task:Shopper"


# -- workers ----------------------------------------------------------------------------------


def test_a_worker_sends_error_kinds_and_untimed_task_errors_to_the_master() -> None:
    """WorkerBatch -> drain -> decode_batch keeps each row's kinds; a task error has no latency."""
    from harness.load.classify import RequestSample
    from harness.load.protocol import WorkerBatch, WorkerConfig, decode_batch

    batch = WorkerBatch(
        WorkerConfig(t0_unix_s=0.0, bucket_s=0.5, outcomes=OutcomeRules(), writes=[])
    )
    batch.add(
        [
            RequestSample(0.1, "orders", Outcome.ERROR, 5000, None, False, "http 503"),
            RequestSample(0.2, "orders", Outcome.ERROR, 7000, None, False, "http 503"),
            RequestSample(
                0.3, "task:U.t", Outcome.ERROR, None, None, False, "task exception: KeyError"
            ),
            RequestSample(0.4, "orders", Outcome.OK, 3000, None, False),
        ]
    )
    rows, _, live = decode_batch(batch.drain(None, final=True))
    kinds = {(r.endpoint, r.outcome): (r.count, r.errors) for r in rows}
    assert kinds == {
        ("orders", Outcome.ERROR): (2, {"http 503": 2}),
        ("orders", Outcome.OK): (1, {}),
        ("task:U.t", Outcome.ERROR): (1, {"task exception: KeyError": 1}),
    }
    errors_live = [latency for _, outcome, latency in live if outcome is Outcome.ERROR]
    assert len(errors_live) == 3 and None not in errors_live  # counted; latencies of timed ones
