"""What went wrong with one failed request, as a short key: its *error kind* (no Locust).

A 500 from a dead database and a client timeout from a slow one are both outcome
``error``; their kinds tell them apart. The classifier names a kind for error
samples only (an ok request pays nothing here):

- ``http 503``: the target answered with an error status;
- ``failure: <message>``: the scenario called ``response.failure("...")`` (``catch_response``);
  the message with every run of digits and every long id replaced by ``#`` (so ticket
  ids do not make one kind per ticket), whitespace collapsed, cut to ``FAILURE_CHARS``;
- ``ConnectionRefusedError``, ``ReadTimeout`` (HttpUser), ``TimeoutError`` (FastHttpUser)...:
  no answer, named by the exception's class; a generic wrapper (requests'
  ``ConnectionError``, geventhttpclient's ``RetriesExceeded``) is named by the error under
  it, when there is one;
- ``marker: <header or field>=<value>``: a 2xx the drill's markers call an error;
- ``task exception: KeyError``: the scenario's own code raised inside a task (Locust's
  ``user_error`` event); its endpoint is the task, ``task:<UserClass>.<function>``;
- ``harness: cut off at drain`` and ``harness: dropped`` (open model), the harness's own.

Counting kinds per bucket and endpoint, with a cap, is the recorder's job
(:mod:`harness.metrics.recorder`).
"""

from __future__ import annotations

import re
from types import TracebackType

from harness.load.outcome import Marker

__all__ = [
    "FAILURE_CHARS",
    "TASK_ENDPOINT_PREFIX",
    "failure_kind",
    "http_kind",
    "marker_kind",
    "request_error_kind",
    "task_endpoint",
    "task_error_kind",
]

FAILURE_CHARS = 120  # a failure() message is cut to this many characters
TASK_ENDPOINT_PREFIX = "task:"
_CACHE_SIZE = 512  # normalised failure messages remembered (an error storm repeats itself)

# ids first (a UUID or a long hex/alphanumeric token with a digit), then any run of digits
_IDS = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    r"|\b(?=[A-Za-z_]*\d)[0-9A-Za-z_]{16,}\b"
    r"|\d+(?:[.,]\d+)*"
)
_SPACE = re.compile(r"\s+")
# wrappers that say only "something went wrong on the way": the OS error under them says what
_GENERIC = frozenset(
    {
        "ConnectionError",
        "MaxRetryError",
        "NewConnectionError",
        "OSError",
        "ProtocolError",
        "RetriesExceeded",
    }
)
_MACHINERY = ("locust", "gevent", "harness")  # packages whose frames are not the scenario's

_http_kinds: dict[int, str] = {}
_failure_kinds: dict[str, str] = {}


def http_kind(status: int) -> str:
    """``http 503``."""
    kind = _http_kinds.get(status)
    if kind is None:
        kind = _http_kinds[status] = f"http {status}"
    return kind


def failure_kind(message: str) -> str:
    """``failure: <message>`` with digits and ids as ``#``, cut to ``FAILURE_CHARS``."""
    kind = _failure_kinds.get(message)
    if kind is None:
        if len(_failure_kinds) >= _CACHE_SIZE:
            _failure_kinds.clear()
        text = _SPACE.sub(" ", _IDS.sub("#", message)).strip() or "(no message)"
        if len(text) > FAILURE_CHARS:
            text = text[: FAILURE_CHARS - 1].rstrip() + "…"
        kind = _failure_kinds[message] = f"failure: {text}"
    return kind


def marker_kind(marker: Marker) -> str:
    """``marker: X-Mode=error`` for a 2xx that a drill's error marker matched."""
    source = marker.header if marker.header is not None else marker.json_field
    return f"marker: {source}={marker.value}"


def exception_kind(exception: BaseException) -> str:
    """The class name of a transport failure; for a generic wrapper, the error's under it."""
    name = type(exception).__name__
    if name not in _GENERIC:
        return name
    cause = _specific_error_under(exception)
    return type(cause).__name__ if cause is not None else name


def request_error_kind(
    status: int, exception: BaseException | None, marker: Marker | None = None
) -> str:
    """The kind of a request classified as an error (see the module docs for the kinds)."""
    if exception is not None and type(exception).__name__ == "CatchResponseError":
        return failure_kind(str(exception))  # response.failure("...") with a message
    if status >= 400:
        return http_kind(status)
    if exception is not None:
        return exception_kind(exception)
    if marker is not None:
        return marker_kind(marker)
    return "no response" if not status else http_kind(status)


def task_error_kind(exception: BaseException) -> str:
    """``task exception: KeyError``."""
    return f"task exception: {type(exception).__name__}"


def task_endpoint(user_class: str, tb: TracebackType | None) -> str:
    """``task:<UserClass>.<function>``: the scenario's outermost function in ``tb``.

    Frames of Locust, gevent and the harness are skipped; when the scenario has no frame
    (Locust itself raised, e.g. a user without tasks) the endpoint is ``task:<UserClass>``.
    """
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] not in _MACHINERY:
            return f"{TASK_ENDPOINT_PREFIX}{user_class}.{frame.f_code.co_name}"
        tb = tb.tb_next
    return f"{TASK_ENDPOINT_PREFIX}{user_class}"


def _specific_error_under(exception: BaseException) -> BaseException | None:
    """The deepest non-generic error below ``exception`` (causes, ``reason``, ``original``, args)."""
    seen: set[int] = set()
    found: BaseException | None = None
    todo: list[object] = [exception]
    while todo and len(seen) < 16:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if current is not exception and type(current).__name__ not in _GENERIC:
            found = current
        todo += [current.__cause__, current.__context__]
        todo += [getattr(current, "reason", None), getattr(current, "original", None)]
        todo += [a for a in current.args if isinstance(a, BaseException)]
    return found
