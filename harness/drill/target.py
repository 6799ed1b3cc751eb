"""Talking to the target outside the load: health, its Prometheus metrics, reading writes back.

Everything here uses httpx with explicit timeouts and tenacity for bounded
retries; none of it counts toward the drill's load figures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential_jitter

from harness.drill.model import ENV_REFERENCE, AbsentSpec, TargetSpec, WriteRule, is_loopback
from harness.errors import InputError, TargetUnreachable
from harness.load import jsonpath
from harness.results.raw import AckedWrite, WriteCheckOutcome, WriteKind

_TRANSPORT_ERRORS = (httpx.TransportError,)


def require_loopback(url: str, *, what: str, allow_hosts: list[str], allow_remote: bool) -> None:
    """Refuse traffic to a host outside loopback unless the drill or a flag allows it.

    ``url`` is a URL or a bare ``host:port`` (a proxy's upstream or listen address)."""
    host = urlsplit(url if "://" in url else f"//{url}").hostname or ""
    if is_loopback(host) or allow_remote or host in allow_hosts:
        return
    raise InputError(
        f"{what} {url} is not on loopback; drills send load and faults only to 127.0.0.0/8 "
        f"or ::1 unless allowed: add {host!r} to target.allow_hosts in the drill, or pass --allow-remote"
    )


class Reachability(StrEnum):
    """What one liveness probe of the target saw."""

    ANSWERED = "answered"  # any HTTP status: the service is there
    SLOW = "slow"  # connected, but no answer within the probe's timeout: alive, not dead
    REFUSED = "refused"  # no connection: refused, reset, or the connect itself timed out


class TargetClient:
    """One long-lived HTTP client to the target's side endpoints (health, /metrics).

    Made once per watcher and closed at the end: a new ``httpx`` client per call
    builds an SSL context (tens of ms of CPU) on the loop that runs every Locust
    user, which shows up as a tail in the drill's own latency figures. Connections
    are kept alive between probes.
    """

    def __init__(self, target: TargetSpec, *, timeout_s: float) -> None:
        self.target = target
        self.timeout_s = timeout_s
        # trust_env=False: an HTTP_PROXY meant for the internet must not carry loopback probes.
        self._client = httpx.Client(base_url=target.url, timeout=timeout_s, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def health_path(self) -> str:
        """The drill's health path, or ``/`` when it names none."""
        return self.target.health_path or "/"

    def probe(self) -> Reachability:
        """One GET of the health path; any status counts as an answer."""
        try:
            self._client.get(self.health_path)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            return Reachability.REFUSED
        except httpx.TimeoutException:
            return Reachability.SLOW
        except _TRANSPORT_ERRORS:
            return Reachability.REFUSED  # reset or closed before an answer
        return Reachability.ANSWERED

    def health(self) -> httpx.Response:
        """GET the health path (transport errors propagate)."""
        return self._client.get(self.health_path)

    def metrics_text(self) -> str:
        """The body of the target's Prometheus endpoint (``metrics_path`` must be set)."""
        assert self.target.metrics_path is not None
        response = self._client.get(self.target.metrics_path)
        response.raise_for_status()
        return response.text


def wait_healthy(target: TargetSpec, *, timeout_s: float = 15.0) -> None:
    """Return when the target is healthy; TargetUnreachable after ``timeout_s``.

    Healthy: ``health_path`` answers 2xx; a drill without one only needs any answer
    below 500 from ``/`` (a login redirect or a 404 page is a running app)."""
    url = target.url + (target.health_path or "/")
    healthy = (lambda s: 200 <= s < 300) if target.health_path else (lambda s: s < 500)

    @retry(
        retry=retry_if_exception_type((*_TRANSPORT_ERRORS, _NotHealthy)),
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential_jitter(multiplier=0.1, max=1.0),
        reraise=True,
    )
    def probe(client: TargetClient) -> None:
        response = client.health()
        if not healthy(response.status_code):
            raise _NotHealthy(f"answered {response.status_code}")

    try:
        with TargetClient(target, timeout_s=min(2.0, timeout_s)) as client:
            probe(client)
    except (*_TRANSPORT_ERRORS, _NotHealthy) as exc:
        raise TargetUnreachable(
            f"target health check {url} failed for {timeout_s:g} s ({exc or type(exc).__name__}); "
            "start the system under test or fix target.url / target.health_path"
        ) from exc


class _NotHealthy(Exception):
    pass


def parse_metrics(text: str, *, max_series: int = 300) -> dict[str, float]:
    """Prometheus text as ``{'name{labels}': value}`` (counters and gauges; at most ``max_series``)."""
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.type in ("histogram", "summary"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = float(sample.value)
            if len(values) >= max_series:
                return values
    return values


def metric_value(text: str, name: str, labels: dict[str, str]) -> float | None:
    """The value of the first sample ``name`` whose labels include ``labels``; None if none."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return None


def verify_writes(
    target: TargetSpec,
    writes: list[AckedWrite],
    rules: list[WriteRule],
    *,
    clock: Callable[[], float] = time.monotonic,
    should_stop: Callable[[], bool] = lambda: False,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[WriteCheckOutcome]:
    """Read back every write with a known id (acknowledged, or indeterminate with its id
    from the request). A write is absent when its rule's ``absent`` says so (default: 404
    or 410), or when its rule names a settled state it never reaches within the rule's
    ``settle_timeout_s``; absent or unverifiable writes are read again until then.

    Read-back requests carry the rule's ``read_headers`` with ``${NAME}`` taken from
    ``environ`` (default: the process environment); a variable unset by now makes the
    rule's writes unverifiable, never a request with an empty value. ``should_stop``
    (e.g. Ctrl-C was pressed) ends the read-back early: writes not read yet are left
    out of the result, so they count as unverifiable, never as lost. ``transport``: tests."""
    by_endpoint = {rule.endpoint: rule for rule in rules}
    env = os.environ if environ is None else environ
    headers = {rule.endpoint: read_headers(rule, env) for rule in rules}
    to_read = [w for w in writes if w.write_id and w.read_path and w.kind in _READ_BACK]
    pending = {w.write_id: w for w in to_read}
    last: dict[str, WriteCheckOutcome] = {}
    started = clock()
    default_s = WriteRule.model_fields["settle_timeout_s"].default

    def deadline(write: AckedWrite) -> float:
        rule = by_endpoint.get(write.endpoint)
        return started + (rule.settle_timeout_s if rule is not None else default_s)

    with httpx.Client(
        base_url=target.url, timeout=3.0, transport=transport, trust_env=False
    ) as client:  # like every peer's client: no proxy from the environment on the way
        while True:
            for write_id, write in list(pending.items()):
                if should_stop():
                    break
                rule = by_endpoint.get(write.endpoint)
                last[write_id] = _read_back(client, write, rule, headers.get(write.endpoint, {}))
                if last[write_id].found or clock() >= deadline(write):
                    del pending[write_id]  # present, or out of time: its last answer stands
            if not pending or should_stop():
                break
            time.sleep(0.25)
    ids = dict.fromkeys(w.write_id for w in to_read if w.write_id in last)
    return [last[write_id] for write_id in ids if write_id]


_READ_BACK = (WriteKind.ACKNOWLEDGED, WriteKind.INDETERMINATE)


def read_headers(rule: WriteRule, environ: Mapping[str, str]) -> dict[str, str] | str:
    """The rule's read-back headers with ``${NAME}`` filled in, or a sentence naming the
    variables that are unset or empty (nothing is sent with a hole in it)."""
    named = {name for names in rule.env_references().values() for name in names}
    missing = sorted(name for name in named if not environ.get(name))
    if missing:
        return (
            f"environment variable {', '.join(missing)} is not set (read_headers of "
            f"{rule.endpoint!r}); the read-back was not sent"
        )
    return {
        name: ENV_REFERENCE.sub(lambda m: environ[m.group(1)], value)
        for name, value in rule.read_headers.items()
    }


def _read_back(
    client: httpx.Client,
    write: AckedWrite,
    rule: WriteRule | None,
    headers: dict[str, str] | str,
) -> WriteCheckOutcome:
    assert write.write_id is not None and write.read_path is not None
    write_id = write.write_id
    if isinstance(headers, str):
        return WriteCheckOutcome(write_id=write_id, found=None, status=None, detail=headers)
    try:
        response = client.get(write.read_path, headers=headers)
    except _TRANSPORT_ERRORS as exc:
        return WriteCheckOutcome(
            write_id=write_id, found=None, status=None, detail=f"read failed: {exc}"
        )
    status = response.status_code
    absent_why = _absent(rule.absent if rule is not None else AbsentSpec(), response)
    if absent_why is not None:
        return WriteCheckOutcome(
            write_id=write_id, found=False, status=status, detail=f"not found: {absent_why}"
        )
    if not response.is_success:
        hint = " (credentials? see read_headers)" if status in (401, 403) else ""
        hint = " (redirects are not followed)" if 300 <= status < 400 else hint
        return WriteCheckOutcome(
            write_id=write_id,
            found=None,
            status=status,
            detail=f"read-back answered {status}{hint}: cannot tell whether it exists",
        )
    if rule is not None and rule.settled_field is not None:
        try:
            state = response.json().get(rule.settled_field)
        except (ValueError, AttributeError):
            state = None
        if str(state) not in rule.settled_values:
            return WriteCheckOutcome(
                write_id=write_id,
                found=False,
                status=status,
                detail=f"{rule.settled_field} is {state!r}, never became one of "
                f"{', '.join(rule.settled_values)}",
            )
    return WriteCheckOutcome(write_id=write_id, found=True, status=status)


def _absent(spec: AbsentSpec, response: httpx.Response) -> str | None:
    """Why the read-back's answer says "not there" (None: it does not say so)."""
    status = response.status_code
    if status in spec.status:
        return f"read-back answered {status}"
    if status >= 500:
        return None
    if spec.body_contains is not None and spec.body_contains in response.text:
        return f"read-back answered {status} with {spec.body_contains!r}"
    if spec.json_match is not None:
        match = spec.json_match
        parsed, value = jsonpath.lookup_in(response.content, jsonpath.parse(match.path))
        if parsed and _json_equal(value, match.equals):
            return f"read-back answered {status} with {match.path} = {value!r}"
    return None


def _json_equal(value: object, expected: object) -> bool:
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected  # true is not 1
    return value == expected
