"""The fault adapter: the only module that talks to a Toxiproxy server.

Everything else in the harness goes through :class:`ToxiproxyAdapter`; it is
also the only module that imports toxiproxy-python (``toxiproxy``).

Which library does what, and why:

* toxiproxy-python's transport (``toxiproxy.api.APIConsumer``) carries the
  plain reads and the toxic create/delete calls: ``GET /version``,
  ``GET /proxies``, ``POST /proxies/{p}/toxics``, ``DELETE .../toxics/{t}``,
  ``DELETE /proxies/{p}``. We call ``APIConsumer`` rather than its ``Proxy``
  and ``Toxiproxy`` objects because only ``APIConsumer`` passes ``timeout=``
  through to ``requests`` (the object methods would hang forever on a
  black-holed server) and because ``GET /proxies`` already carries every
  proxy's toxics in one request (the objects fetch them one proxy at a time).
* The client keeps the server address in the class attributes
  ``APIConsumer.host``/``.port``: a process-wide global. Every client call
  therefore sets them and makes its request while holding ``_CLIENT_LOCK``, so
  two adapters pointed at two servers (or two threads) never cross wires.
* httpx, one long-lived client per adapter (``close()`` it), for ``GET /version``
  (a running drill asks every second: toxiproxy-python's transport makes a new
  ``requests`` session per call) and for what the client lacks or gets wrong:
  ``POST /populate`` (the client's ``populate`` replaces any proxy whose
  listen address is ``host:0``, because the server reports the real port, so
  it is not idempotent; it also makes 2-3 requests per proxy), ``POST /reset``
  (the client's ``reset`` has no timeout), enabling/disabling a proxy (the
  client needs a fetched ``Proxy`` object for that: one more round trip and a
  fetch-then-act race) and updating a toxic's attributes (no client method).
  These updates use ``POST`` rather than ``PATCH`` because every Toxiproxy 2.x
  accepts ``POST`` for updates while ``PATCH`` came later.

Retries: a request that fails to *connect* (refused, reset, DNS) is retried a
few times with a short exponential backoff with jitter (tenacity). HTTP error
answers and read timeouts are never retried: the server saw the request.

Timing: the calls that change what traffic sees (``add_toxic``,
``update_toxic``, ``remove_toxic``, ``set_enabled``) take ``before_send``, called
right before each attempt of the request goes out (after any retry backoff, and
after waiting for ``_CLIENT_LOCK`` while another call holds it). The fault
injector reads its clock there, so a fault's recorded time is when the request
that made it effective was sent, not when the call returned.

Errors: every failure leaves as a harness error (``ToxiproxyError`` or one of
its subclasses) whose message names the server URL and the proxy/toxic.
"""

from __future__ import annotations

import json as jsonlib
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.errors import (
    InputError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxicNotFound,
    ToxiproxyError,
)
from harness.faults.specs import ProxyInfo, ProxySpec, ToxicSpec

__all__ = [
    "Reply",
    "ToxiproxyAdapter",
    "Transport",
    "TransportConnectError",
    "TransportTimeout",
    "proxy_matches",
]

_CLIENT_LOCK = threading.Lock()
"""Guards toxiproxy-python's global ``APIConsumer.host``/``.port`` for one call."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer from a Toxiproxy server: status and body text."""

    status: int
    body: str

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return jsonlib.loads(self.body) if self.body else None
        except ValueError:
            return None

    def error(self) -> str:
        """The server's error text (``{"error": ...}``), or the raw body."""
        data = self.json()
        if isinstance(data, dict) and "error" in data:
            return str(data["error"])
        return self.body.strip() or f"HTTP {self.status}"


class TransportConnectError(Exception):
    """The request never reached the server (refused, reset, DNS): safe to retry."""


class TransportTimeout(Exception):
    """The server took the request but did not answer in time: never retried."""


class Transport(Protocol):
    """One method: send a request, return a :class:`Reply` or raise a Transport* error."""

    def request(self, method: str, path: str, body: Any | None = None) -> Reply: ...


class _ClientTransport:
    """toxiproxy-python's ``APIConsumer``, with its global address set under a lock."""

    _CALLS = {"GET": APIConsumer.get, "POST": APIConsumer.post, "DELETE": APIConsumer.delete}
    _STATUS = {ProxyExists: 409, NotFound: 404, InvalidToxic: 400}

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self._host = f"[{host}]" if ":" in host else host
        self._port = port
        self._timeout_s = timeout_s

    def request(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        before: Callable[[], None] | None = None,
    ) -> Reply:
        kwargs: dict[str, Any] = {"timeout": self._timeout_s}
        if body is not None:
            kwargs["json"] = body
        with _CLIENT_LOCK:
            APIConsumer.host, APIConsumer.port = self._host, self._port
            if before is not None:
                before()  # after the lock wait: the request goes out now
            try:
                resp = self._CALLS[method](path, **kwargs)
            except (ProxyExists, NotFound, InvalidToxic) as exc:
                return Reply(self._STATUS[type(exc)], _text(exc.args[0] if exc.args else ""))
            except requests.ConnectionError as exc:
                raise TransportConnectError(_reason(exc)) from exc
            except requests.RequestException as exc:
                raise TransportTimeout(_reason(exc)) from exc
        return Reply(resp.status_code, resp.text)


class _HttpxTransport:
    """One long-lived ``httpx.Client`` per adapter, closed with it.

    A new client per call would build an SSL context each time (tens of ms of
    CPU) on the gevent loop that also runs every Locust user.
    """

    _CONNECT_ERRORS = (httpx.NetworkError, httpx.ConnectTimeout, httpx.RemoteProtocolError)

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, trust_env=False)
        # An adapter nobody closed (a short-lived one in a command) still closes its socket.
        self._finalizer = weakref.finalize(self, self._client.close)

    def close(self) -> None:
        self._finalizer()

    def request(
        self,
        method: str,
        path: str,
        body: Any | None = None,
        before: Callable[[], None] | None = None,
    ) -> Reply:
        if before is not None:
            before()
        try:
            resp = self._client.request(method, path, json=body)
        except self._CONNECT_ERRORS as exc:
            raise TransportConnectError(_reason(exc)) from exc
        except httpx.HTTPError as exc:
            raise TransportTimeout(_reason(exc)) from exc
        return Reply(resp.status_code, resp.text)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reason(exc: BaseException) -> str:
    """The root cause in a few words: 'Connection refused', not a urllib3 repr."""
    text = str(exc) or type(exc).__name__
    errno_text = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno_text:
        return errno_text.group(1).strip()
    return text if len(text) <= 120 else text[:117] + "..."


class ToxiproxyAdapter:
    """All talk to one Toxiproxy server (embedded ``toxiserver`` or a real one) by URL.

    ``transport`` replaces both HTTP paths with one object (for tests);
    ``attempts`` and ``sleep`` shape the connection-error retries.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        transport: Transport | None = None,
    ) -> None:
        self.url = _normalise_url(url)
        parsed = httpx.URL(self.url)
        self.timeout_s = timeout_s
        self._port = parsed.port or 8474
        self._client: Transport = transport or _ClientTransport(parsed.host, self._port, timeout_s)
        self._http: Transport = transport or _HttpxTransport(self.url, timeout_s)
        self._retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(multiplier=0.05, max=0.5, jitter=0.05),
            retry=retry_if_exception_type(TransportConnectError),
            sleep=sleep,
            reraise=True,
        )
        self._attempts = attempts

    def __repr__(self) -> str:
        return f"ToxiproxyAdapter({self.url!r})"

    def close(self) -> None:
        """Close the long-lived HTTP client (safe to call twice)."""
        close = getattr(self._http, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ToxiproxyAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------

    def version(self) -> str:
        """The server's version string (``{"version": ...}`` or plain text).

        Over the long-lived httpx client: a running drill asks every second."""
        reply = self._send(self._http, "GET", "/version")
        self._raise_unless_ok(reply, "report its version")
        data = reply.json()
        if isinstance(data, dict) and "version" in data:
            return str(data["version"])
        return reply.body.strip()

    def proxies(self) -> dict[str, ProxyInfo]:
        """Every proxy on the server, with its toxics, keyed by name."""
        reply = self._send(self._client, "GET", "/proxies")
        self._raise_unless_ok(reply, "list its proxies")
        data = reply.json()
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ToxiproxyError(
                f"Toxiproxy at {self.url} answered GET /proxies with something that is not an "
                f"object of proxies ({reply.body[:80]!r}) - is that URL really a Toxiproxy?"
            )
        return {name: ProxyInfo.from_json({"name": name, **value}) for name, value in data.items()}

    def require_proxies(self, names: Iterable[str]) -> None:
        """Raise ProxyNotFound naming every proxy in ``names`` that the server lacks."""
        known = self.proxies()
        missing = sorted({n for n in names if n not in known})
        if not missing:
            return
        listed = ", ".join(f"'{n}'" for n in missing)
        verb = "does not exist" if len(missing) == 1 else "do not exist"
        noun = "proxy" if len(missing) == 1 else "proxies"
        raise ProxyNotFound(
            f"{noun} {listed} {verb} on Toxiproxy at {self.url} "
            f"(known: {_known(known)}) - create it or fix 'proxy:'"
        )

    # -- proxies ---------------------------------------------------------------

    def ensure_proxies(self, specs: list[ProxySpec]) -> dict[str, ProxyInfo]:
        """Create or fix the given proxies (``POST /populate``) and return them; idempotent.

        A proxy that already exists with the same upstream and a matching listen
        address (``None`` or port 0 match any port) is left alone, including its
        ``enabled`` state: a proxy that is down belongs to whoever took it down
        (see ``remove_leftovers``). Others are (re)created with ``spec.enabled``.
        """
        current = self.proxies()
        todo = [s for s in specs if not proxy_matches(current.get(s.name), s)]
        if todo:
            body = [
                {
                    "name": s.name,
                    "upstream": s.upstream,
                    "listen": s.listen or "127.0.0.1:0",
                    "enabled": s.enabled,
                }
                for s in todo
            ]
            reply = self._send(self._http, "POST", "/populate", body)
            names = ", ".join(f"'{s.name}'" for s in todo)
            self._raise_unless_ok(reply, f"create proxies {names}")
            current = self.proxies()
        return {s.name: current[s.name] for s in specs if s.name in current}

    def set_enabled(
        self, proxy: str, enabled: bool, *, before_send: Callable[[], None] | None = None
    ) -> None:
        """Bring a proxy up (True) or take it down (False: refuses and drops connections)."""
        reply = self._send(
            self._http, "POST", f"/proxies/{_q(proxy)}", {"enabled": enabled}, before_send
        )
        action = "enable" if enabled else "disable"
        self._raise_unless_ok(reply, f"{action} proxy '{proxy}'", proxy=proxy)

    def delete_proxy(self, proxy: str, *, missing_ok: bool = True) -> None:
        """Delete a proxy; a missing one is fine unless ``missing_ok`` is False."""
        reply = self._send(self._client, "DELETE", f"/proxies/{_q(proxy)}")
        if reply.status == 404 and missing_ok:
            return
        self._raise_unless_ok(reply, f"delete proxy '{proxy}'", proxy=proxy)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic on the server (``POST /reset``)."""
        reply = self._send(self._http, "POST", "/reset")
        self._raise_unless_ok(reply, "reset")

    # -- toxics ----------------------------------------------------------------

    def add_toxic(
        self, proxy: str, toxic: ToxicSpec, *, before_send: Callable[[], None] | None = None
    ) -> None:
        """Add a toxic; ToxicAlreadyExists if one of that name is already on the proxy."""
        reply = self._send(
            self._client, "POST", f"/proxies/{_q(proxy)}/toxics", toxic.to_json(), before_send
        )
        self._raise_unless_ok(
            reply,
            f"add toxic '{toxic.name}' ({toxic.type}, {toxic.stream})",
            proxy=proxy,
            toxic=toxic.name,
        )

    def update_toxic(
        self, proxy: str, toxic: ToxicSpec, *, before_send: Callable[[], None] | None = None
    ) -> None:
        """Change an existing toxic's toxicity and attributes in place."""
        body = {"toxicity": toxic.toxicity, "attributes": dict(toxic.attributes)}
        reply = self._send(
            self._http, "POST", f"/proxies/{_q(proxy)}/toxics/{_q(toxic.name)}", body, before_send
        )
        self._raise_unless_ok(reply, f"update toxic '{toxic.name}'", proxy=proxy, toxic=toxic.name)

    def remove_toxic(
        self,
        proxy: str,
        toxic_name: str,
        *,
        missing_ok: bool = True,
        before_send: Callable[[], None] | None = None,
    ) -> None:
        """Remove a toxic; a missing toxic (or proxy) is fine unless ``missing_ok`` is False."""
        reply = self._send(
            self._client,
            "DELETE",
            f"/proxies/{_q(proxy)}/toxics/{_q(toxic_name)}",
            before_send=before_send,
        )
        if reply.status == 404 and missing_ok:
            return
        self._raise_unless_ok(reply, f"remove toxic '{toxic_name}'", proxy=proxy, toxic=toxic_name)

    # -- plumbing --------------------------------------------------------------

    def _send(
        self,
        transport: Transport,
        method: str,
        path: str,
        body: Any = None,
        before_send: Callable[[], None] | None = None,
    ) -> Reply:
        def attempt() -> Reply:
            if before_send is None:
                return transport.request(method, path, body)
            if isinstance(transport, _ClientTransport | _HttpxTransport):
                return transport.request(method, path, body, before=before_send)
            before_send()  # another Transport (tests): right before its request
            return transport.request(method, path, body)

        try:
            return self._retrying(attempt)
        except TransportConnectError as exc:
            raise ToxiproxyError(
                f"Toxiproxy at {self.url} is not reachable ({method} {path}: {exc}; "
                f"tried {self._attempts} times) - start one with "
                f"'toxiserver --port {self._port}' or pass the URL of a running Toxiproxy"
            ) from exc
        except TransportTimeout as exc:
            raise ToxiproxyError(
                f"Toxiproxy at {self.url} did not answer {method} {path} within "
                f"{self.timeout_s:g} s ({exc}) - check that the server is healthy"
            ) from exc

    def _raise_unless_ok(
        self, reply: Reply, action: str, *, proxy: str | None = None, toxic: str | None = None
    ) -> None:
        if reply.ok:
            return
        where = f" on proxy '{proxy}'" if proxy and toxic else ""
        said = reply.error()
        if reply.status == 404 and proxy is not None:
            if toxic is not None and "toxic" in said.lower():
                raise ToxicNotFound(
                    f"toxic '{toxic}' does not exist on proxy '{proxy}' at Toxiproxy {self.url}"
                )
            raise ProxyNotFound(
                f"proxy '{proxy}' does not exist on Toxiproxy at {self.url} "
                f"(known: {self._known_names()}) - create it or fix 'proxy:'"
            )
        if reply.status == 409 and toxic is not None:
            raise ToxicAlreadyExists(
                f"toxic '{toxic}' already exists on proxy '{proxy}' at Toxiproxy {self.url}"
            )
        raise ToxiproxyError(
            f"Toxiproxy at {self.url} refused to {action}{where}: HTTP {reply.status} {said}"
        )

    def _known_names(self) -> str:
        try:
            return _known(self.proxies())
        except ToxiproxyError:
            return "unknown: listing failed"


def _known(proxies: dict[str, ProxyInfo]) -> str:
    return ", ".join(sorted(proxies)) or "none"


def _q(name: str) -> str:
    return quote(name, safe="")


def _normalise_url(url: str) -> str:
    text = url.strip()  # not rstrip("/") first: "http://" would become the host "http"
    if "://" not in text:
        text = "http://" + text
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise InputError(
            f"Toxiproxy URL {url!r} is not a URL ({exc}) - use http://host:port"
        ) from exc
    if parsed.scheme != "http":
        why = f"scheme {parsed.scheme or 'none'!r}: toxiproxy-python speaks plain http only"
    elif not parsed.host:
        why = "no host"
    elif parsed.path.strip("/"):  # "", "/" and "//" name the root
        why = f"path {parsed.path!r}: toxiproxy-python supports no path prefix"
    else:
        why = None
    if why is not None:
        raise InputError(
            f"Toxiproxy URL {url!r} is not of the form http://host:port ({why}) "
            "- use http://host:port"
        )
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"http://{host}:{parsed.port or 8474}"


def _split_listen(listen: str) -> tuple[str, int | None]:
    host, _, port = listen.rpartition(":")
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        return listen, None


def proxy_matches(info: ProxyInfo | None, spec: ProxySpec) -> bool:
    """Does the server's proxy have the spec's upstream and listen address (port 0 matches any)?"""
    if info is None or info.upstream != spec.upstream:
        return False
    if spec.listen is None:
        return True
    want_host, want_port = _split_listen(spec.listen)
    have_host, have_port = _split_listen(info.listen)
    if want_port == 0:
        return want_host == have_host
    return (want_host, want_port) == (have_host, have_port)
