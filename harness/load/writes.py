"""Recognising writes in the load: acknowledged, indeterminate, or neither and why (no Locust).

A request on a write rule's endpoint (docs/drills.md, ``writes``) ends one of three ways:

- **acknowledged**: the answer to the write has a status the rule accepts (default
  2xx; 2xx or 3xx for a rule reading a header) and the id is found in it. It must
  exist after the drill: the read-back counts it lost when it is absent.
- **indeterminate** (Jepsen's word): the request was sent but its answer was lost:
  a timeout, a connection reset or closed before an answer, or a 5xx other than a
  declared shed status. The write may or may not have happened. Its id is known
  only when the rule takes it from the request (``id_from_request``); then it is
  read back too, and found means "created although the client saw an error".
  A refused connection is not indeterminate: nothing was sent.
- **unmatched**: any other answer (a 4xx, a shed status, an acknowledging status
  without the id, a request the scenario marked failed). Only the first of each
  kind (endpoint, status, reason) is kept, so that "no writes were tracked" can
  say why.

Redirects: Locust's ``HttpUser`` (requests) and ``FastHttpUser`` (geventhttpclient)
follow them by default, and both keep the redirect answers in ``response.history``
(measured with Locust 2.47: a POST answered 302 then GET 200 gives ``status_code``
200 and ``history[0]`` the 302 with its ``Location``). The answer *to the write* is
the first of the chain (``history[0]``, else the response): its status decides,
a header id is read from the first answer in the chain that carries the header,
a body id from the final body. ``FastHttpUser`` redirects in place: its request
object then describes the last GET, its body gone, so ``id_from_request: {json:}``
needs ``allow_redirects=False`` there (a request header survives).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from harness.load import jsonpath
from harness.results.model import Outcome
from harness.results.raw import AckedWrite, WriteKind

if TYPE_CHECKING:
    from harness.load.spec import WriteRule

NOTE_CHARS = 160  # an unmatched answer's example text is cut to this


class WriteReader:
    """What the requests on one rule's endpoint said about its writes."""

    def __init__(self, rule: WriteRule, shed_status: Iterable[int]) -> None:
        self.rule = rule
        self.shed_status = frozenset(shed_status)
        self._json = jsonpath.parse(rule.id_json) if rule.id_json is not None else None
        self._regex = re.compile(rule.id_regex) if rule.id_regex is not None else None
        self._body_regex = re.compile(rule.id_body_regex) if rule.id_body_regex else None
        request = rule.id_from_request
        self._request_json = (
            jsonpath.parse(request.json_path) if request and request.json_path else None
        )
        self._unmatched_seen: set[tuple[int, str]] = set()

    def read(
        self,
        *,
        t_s: float,
        response: Any,
        exception: BaseException | None,
        outcome: Outcome,
        body: bytes | None,
    ) -> AckedWrite | None:
        """The write row of one request event (None: an unmatched answer already kept)."""
        chain = _chain(response)
        first = chain[0] if chain else None
        status = _status(first)
        if not status:
            lost = answer_lost(exception)
            if lost is None:
                return self._unmatched(t_s, 0, "refused", "not sent: connection refused")
            return self._indeterminate(t_s, 0, f"no answer: {lost}", first)
        if status >= 500 and status not in self.shed_status:
            return self._indeterminate(t_s, status, f"answered {status}", first)
        if not self.rule.acknowledges(status):
            accepted = _accepted(self.rule)
            note = f"answered {status}: not an acknowledgement ({accepted})"
            location = _header(first, "Location") if 300 <= status < 400 else None
            if location is not None and self.rule.id_header is None:
                note += f"; Location: {_excerpt(location)} (id_header: Location reads it)"
            return self._unmatched(t_s, status, "status", note)
        if outcome is Outcome.ERROR and len(chain) == 1:
            return self._unmatched(
                t_s, status, "failed", f"answered {status} but the request was marked failed"
            )
        write_id, why = self._id(chain, body, first)
        if write_id is None:
            return self._unmatched(t_s, status, "no id", f"answered {status}: {why}")
        return self._row(t_s, WriteKind.ACKNOWLEDGED, status, write_id, "")

    def _id(self, chain: list[Any], body: bytes | None, first: Any) -> tuple[str | None, str]:
        """The id in the answer (or the request), or None and why not."""
        rule = self.rule
        if rule.id_header is not None:
            return self._header_id(chain)
        if rule.id_from_request is not None:
            found = self._request_id(first)
            return found, "" if found else f"the request carries no id ({_describe(rule)})"
        if rule.id_body_regex is not None:
            assert self._body_regex is not None
            text = (body or b"").decode("utf-8", "replace")
            match = self._body_regex.search(text)
            if match and match.group(1):
                return match.group(1), ""
            return None, f"no match of id_body_regex in the body ({_excerpt(text)})"
        path = self._json if self._json is not None else (rule.id_field or "",)
        parsed, value = jsonpath.lookup_in(body, path)
        if not parsed:
            return None, f"the body is not JSON ({_describe(rule)}; {_excerpt(body)})"
        if value is None or value == "" or isinstance(value, dict | list):
            return None, f"the JSON has no value at {_describe(rule)} ({_excerpt(body)})"
        return str(value), ""

    def _header_id(self, chain: list[Any]) -> tuple[str | None, str]:
        name = self.rule.id_header or ""
        values = [v for v in (_header(r, name) for r in chain) if v is not None]
        for value in values:
            if self._regex is None:
                return value, ""
            match = self._regex.search(value)
            if match and match.group(1):
                return match.group(1), ""
        if not values:
            return None, f"no {name} header"
        return None, f"{name}: {_excerpt(values[0])} does not match id_regex {self.rule.id_regex!r}"

    def _request_id(self, first: Any) -> str | None:
        """The id the request carried (header or JSON body field), or None."""
        spec = self.rule.id_from_request
        request = getattr(first, "request", None)
        if spec is None or request is None:
            return None
        if spec.header is not None:
            value = _header_of(getattr(request, "headers", None), spec.header)
            return value or None
        assert self._request_json is not None
        raw = getattr(request, "body", None)
        if raw is None:
            raw = getattr(request, "payload", None)
        if not isinstance(raw, bytes | str):
            return None
        _, value = jsonpath.lookup_in(raw, self._request_json)
        if value is None or value == "" or isinstance(value, dict | list):
            return None
        return str(value)

    def _indeterminate(self, t_s: float, status: int, note: str, first: Any) -> AckedWrite:
        write_id = self._request_id(first) if self.rule.id_from_request is not None else None
        return self._row(t_s, WriteKind.INDETERMINATE, status, write_id, note)

    def _unmatched(self, t_s: float, status: int, reason: str, note: str) -> AckedWrite | None:
        key = (status, reason)
        if key in self._unmatched_seen:
            return None
        self._unmatched_seen.add(key)
        return self._row(t_s, WriteKind.UNMATCHED, status, None, note)

    def _row(
        self, t_s: float, kind: WriteKind, status: int, write_id: str | None, note: str
    ) -> AckedWrite:
        return AckedWrite(
            t_s=t_s,
            endpoint=self.rule.endpoint,
            write_id=write_id,
            read_path=self.rule.read_path.replace("{id}", write_id) if write_id else None,
            kind=kind,
            status=status,
            note=note,
        )


def answer_lost(exception: BaseException | None) -> str | None:
    """What the client saw of a request that got no answer: ``timeout``, ``connection
    reset``...; None when the request was never sent (connection refused)."""
    causes = list(_causes(exception))
    if any(isinstance(e, ConnectionRefusedError) for e in causes):
        return None
    names = [type(e).__name__ for e in causes]
    if any(isinstance(e, TimeoutError) for e in causes) or any("Timeout" in n for n in names):
        return "timeout"
    if any(isinstance(e, ConnectionResetError) for e in causes):
        return "connection reset"
    if any(n in ("RemoteDisconnected", "HTTPConnectionClosed") for n in names):
        return "connection closed without an answer"
    if any(isinstance(e, BrokenPipeError) for e in causes):
        return "connection broken while sending"
    return names[0] if names else "no answer"


def _causes(exception: BaseException | None) -> Iterator[BaseException]:
    """The exception and what it wraps (cause, context, an exception argument, urllib3's reason)."""
    seen: set[int] = set()
    todo = [exception]
    while todo and len(seen) < 12:
        exc = todo.pop(0)
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo += [exc.__cause__, exc.__context__, getattr(exc, "reason", None)]
        todo += [a for a in exc.args if isinstance(a, BaseException)]


def _chain(response: Any) -> list[Any]:
    if response is None:
        return []
    history = getattr(response, "history", None)
    return [*history, response] if isinstance(history, list) and history else [response]


def _status(response: Any) -> int:
    return int(getattr(response, "status_code", 0) or 0) if response is not None else 0


def _header(response: Any, name: str) -> str | None:
    return _header_of(getattr(response, "headers", None), name)


def _header_of(headers: Any, name: str) -> str | None:
    # `is None`, not truthiness: on Locust's header objects `not headers` walks every header
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None and isinstance(headers, dict):  # a plain dict is case-sensitive
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value if isinstance(value, str) else None


def _accepted(rule: WriteRule) -> str:
    if rule.ack_status is not None:
        return ", ".join(map(str, rule.ack_status))
    return "2xx or 3xx" if rule.id_header is not None else "2xx"


def _describe(rule: WriteRule) -> str:
    if rule.id_from_request is not None:
        spec = rule.id_from_request
        return f"header {spec.header}" if spec.header else f"JSON {spec.json_path}"
    return f"id_json {rule.id_json}" if rule.id_json else f"id_field {rule.id_field}"


def _excerpt(text: bytes | str | None) -> str:
    if text is None or not text:
        return "empty"
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " ".join(text.split())
    return repr(text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…")
