"""Fault scripts as validated, immutable pydantic models.

A ``FaultScript`` is a named list of ``Fault``\\ s. Field checks (types,
ranges, unknown fields) are pydantic's; the checks that need several fields
(attributes valid for the type, required attributes, overlapping windows,
duplicate names) raise one ``PydanticCustomError`` each, carrying a list of
``(fault, field, sentence)`` problems in its context so the loader can report
every one of them as its own sentence (see ``harness.faults.loader``).
"""

from __future__ import annotations

import math
import re
import signal as signals
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from harness.faults.registry import (
    ATTRIBUTE_FIELDS,
    COMMAND,
    DOWN,
    FAULT_TYPES,
    KILL,
    OPTION_FIELDS,
    Target,
)
from harness.faults.specs import Stream, ToxicSpec
from harness.limits import MIN_FLAP_S

__all__ = ["NAME_PATTERN", "Fault", "FaultScript", "Flapping", "ProcessTarget", "Stream"]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
"""Script and fault names: letters, digits, '-' and '_' (they end up in toxic names)."""

FAULT_PROBLEMS = "fault_problems"
SCRIPT_PROBLEMS = "script_problems"
UNKNOWN_TYPE = "unknown_fault_type"


def _known_type(value: str) -> str:
    if value not in FAULT_TYPES:
        raise PydanticCustomError(
            UNKNOWN_TYPE,
            "unknown fault type {value!r}; valid types: {valid}",
            {"value": value, "valid": ", ".join(FAULT_TYPES)},
        )
    return value


Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
Amount = Annotated[StrictInt | None, Field(default=None, ge=0)]


class Flapping(BaseModel):
    """The fault cycles: on for ``on_s``, off for ``off_s``, repeatedly within its window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_s: float = Field(ge=MIN_FLAP_S)
    off_s: float = Field(ge=MIN_FLAP_S)


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""``${NAME}`` in a process target or a command: replaced by that environment variable."""

Argv = Annotated[list[Annotated[StrictStr, Field(min_length=1)]], Field(min_length=1)]
CommandLine = Argv | Annotated[StrictStr, Field(min_length=1)]


class ProcessTarget(BaseModel):
    """How a ``kill``/``stop`` fault finds its process: exactly one of the three ways.

    ``pid_file`` and ``pattern`` may use ``${NAME}`` (an environment variable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pid_file: StrictStr | None = Field(default=None, min_length=1)
    port: StrictInt | None = Field(default=None, ge=1, le=65535)
    pattern: StrictStr | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> ProcessTarget:
        given = [k for k in ("pid_file", "port", "pattern") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of pid_file, port, pattern"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression ({exc})") from None
        return self

    def describe(self) -> str:
        """``pid_file /x.pid``, ``port 5432`` or ``pattern 'helpdesk.serve tickets'``."""
        if self.pid_file is not None:
            return f"pid_file {self.pid_file}"
        if self.port is not None:
            return f"port {self.port}"
        return f"pattern {self.pattern!r}"


class Fault(BaseModel):
    """One fault: a type, what it acts on (a proxy, a process, commands), attributes, a window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    proxy: str | None = Field(default=None, min_length=1)
    type: Annotated[str, AfterValidator(_known_type)]
    description: str = ""
    stream: Stream | None = None
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    latency_ms: Amount = None
    jitter_ms: Amount = None
    rate_kbps: Amount = None
    delay_ms: Amount = None
    timeout_ms: Amount = None
    average_size_bytes: Amount = None
    size_variation_bytes: Amount = None
    delay_us: Amount = None
    bytes: Amount = None
    process: ProcessTarget | None = None
    signal: StrictStr | None = None
    restart: Argv | None = None
    restart_timeout_s: float | None = Field(default=None, gt=0.0, le=3600, allow_inf_nan=False)
    apply: CommandLine | None = None
    revert: CommandLine | None = None
    shell: StrictBool | None = None
    timeout_s: float | None = Field(default=None, gt=0.0, le=3600, allow_inf_nan=False)
    start_s: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    duration_s: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    flapping: Flapping | None = None

    @property
    def is_down(self) -> bool:
        """True when this fault disables the proxy instead of adding a toxic."""
        return self.type == DOWN

    @property
    def kind(self) -> Target:
        """What this fault acts on (a toxic, a proxy, a local process, commands)."""
        return FAULT_TYPES[self.type].kind

    @property
    def is_local(self) -> bool:
        """True for faults acted out on this machine (processes, commands), not on Toxiproxy."""
        return not self.kind.uses_proxy

    @property
    def target(self) -> str:
        """What the fault acts on, for messages: the proxy, the process, or ``command``."""
        if self.proxy is not None:
            return self.proxy
        if self.process is not None:
            return f"process {self.process.describe()}"
        return "command"

    def env_references(self) -> list[str]:
        """Environment variables (``${NAME}``) the process target and commands use."""
        texts: list[str] = []
        if self.process is not None:
            texts += [self.process.pid_file or "", self.process.pattern or ""]
        for value in (self.restart, self.apply, self.revert):
            texts += [value] if isinstance(value, str) else list(value or [])
        return list(dict.fromkeys(m for t in texts for m in ENV_REFERENCE.findall(t)))

    @property
    def toxic_stream(self) -> Stream:
        """The stream the toxic acts on (downstream unless set)."""
        return self.stream or Stream.DOWNSTREAM

    @property
    def end_s(self) -> float:
        """End of the window relative to the phase start; ``inf`` means the phase end."""
        return math.inf if self.duration_s is None else self.start_s + self.duration_s

    def attributes(self) -> dict[str, int]:
        """The type's attributes by user-facing name, defaults filled in."""
        spec = FAULT_TYPES[self.type]
        values = {a.field: getattr(self, a.field) for a in spec.attributes}
        return {
            a.field: a.default if values[a.field] is None else values[a.field]
            for a in spec.attributes
        }

    def toxic_spec(self, toxic_name: str) -> ToxicSpec:
        """This fault as a Toxiproxy toxic called ``toxic_name`` (not for ``down``)."""
        spec = FAULT_TYPES[self.type]
        if not spec.toxic:
            raise ValueError(f"fault '{self.name}' of type '{self.type}' is not a toxic")
        wire = {a.wire: self.attributes()[a.field] for a in spec.attributes}
        return ToxicSpec(toxic_name, self.type, self.toxic_stream, self.toxicity, wire)

    @model_validator(mode="after")
    def _check_attributes(self) -> Fault:
        problems = _attribute_problems(self)
        if problems:
            raise PydanticCustomError(
                FAULT_PROBLEMS,
                "{summary}",
                {"summary": "; ".join(p[2] for p in problems), "problems": problems},
            )
        return self


def _attribute_problems(fault: Fault) -> list[tuple[str, str, str]]:
    spec = FAULT_TYPES[fault.type]
    valid = ", ".join((*spec.field_names, *(o.field for o in spec.options))) or "none"
    out: list[tuple[str, str, str]] = _target_problems(fault)
    for field in _set_attribute_fields(fault):
        if spec.attribute(field) is None and spec.option(field) is None:
            out.append(
                (
                    fault.name,
                    field,
                    f"field '{field}' is not valid for type "
                    f"'{fault.type}' (its attributes: {valid}), got {getattr(fault, field)} "
                    f"- remove it or change 'type:'",
                )
            )
    for attr in spec.attributes:
        if attr.required and getattr(fault, attr.field) is None:
            out.append(
                (
                    fault.name,
                    attr.field,
                    f"field '{attr.field}' is required for type "
                    f"'{fault.type}' ({attr.help}) but missing - add it",
                )
            )
    for option in spec.options:
        if option.required and getattr(fault, option.field) is None:
            out.append(
                (
                    fault.name,
                    option.field,
                    f"field '{option.field}' is required for type "
                    f"'{fault.type}' ({option.help}) but missing - add it",
                )
            )
    if fault.is_down and fault.stream is not None:
        out.append(
            (
                fault.name,
                "stream",
                f"field 'stream' is not allowed for type 'down' "
                f"(it takes the whole proxy down), got '{fault.stream}' - remove it",
            )
        )
    if fault.is_down and fault.toxicity != 1.0:
        out.append(
            (
                fault.name,
                "toxicity",
                f"field 'toxicity' must be 1.0 for type 'down' "
                f"(a proxy is down for every connection), got {fault.toxicity} - remove it",
            )
        )
    avg, var = fault.average_size_bytes, fault.size_variation_bytes
    if fault.type == "slicer" and avg is not None and var is not None and var >= avg > 0:
        out.append(
            (
                fault.name,
                "size_variation_bytes",
                f"field 'size_variation_bytes' must be "
                f"smaller than average_size_bytes ({avg}), got {var} - lower it",
            )
        )
    return out


def _set_attribute_fields(fault: Fault) -> list[str]:
    return [f for f in (*ATTRIBUTE_FIELDS, *OPTION_FIELDS) if getattr(fault, f) is not None]


def _target_problems(fault: Fault) -> list[tuple[str, str, str]]:
    """``proxy`` present exactly for Toxiproxy types; the local types' own rules."""
    kind, name, out = fault.kind, fault.name, []
    if kind.uses_proxy and fault.proxy is None:
        out.append(
            (
                name,
                "proxy",
                f"field 'proxy' is required for type '{fault.type}' (the Toxiproxy proxy it "
                "acts on) but missing - add it",
            )
        )
    if not kind.uses_proxy:
        acts_on = "a local process" if kind is Target.PROCESS else "commands run on this machine"
        if fault.proxy is not None:
            out.append(
                (
                    name,
                    "proxy",
                    f"field 'proxy' is not allowed for type '{fault.type}' (it acts on "
                    f"{acts_on}, not on a Toxiproxy proxy), got '{fault.proxy}' - remove it",
                )
            )
        if fault.stream is not None:
            out.append(
                (
                    name,
                    "stream",
                    f"field 'stream' is not allowed for type '{fault.type}' (it acts on "
                    f"{acts_on}), got '{fault.stream}' - remove it",
                )
            )
        if fault.toxicity != 1.0:
            out.append(
                (
                    name,
                    "toxicity",
                    f"field 'toxicity' must be 1.0 for type '{fault.type}' (it acts on "
                    f"{acts_on}, not per connection), got {fault.toxicity} - remove it",
                )
            )
        if fault.flapping is not None and fault.type == KILL:
            out.append(
                (
                    name,
                    "flapping",
                    "field 'flapping' is not allowed for type 'kill' (a killed process "
                    "cannot be killed again until restarted) - use several faults instead",
                )
            )
    if fault.signal is not None and _signal_problem(fault.signal):
        out.append((name, "signal", _signal_problem(fault.signal) or ""))
    if fault.type == COMMAND:
        shell = bool(fault.shell)
        for field in ("apply", "revert"):
            value = getattr(fault, field)
            if value is None or isinstance(value, str) == shell:
                continue
            out.append(
                (
                    name,
                    field,
                    f"field '{field}' must be "
                    + (
                        "one command line (a string) with shell: true"
                        if shell
                        else "an argument list like [docker, stop, db] (a string needs "
                        "shell: true)"
                    )
                    + f", got {value!r} - "
                    + ("write it as one string" if shell else "split it into a list or add shell: true"),
                )
            )
    return out


def _signal_problem(name: str) -> str | None:
    """Why ``name`` is not a signal a ``kill`` fault may send (None when it is)."""
    try:
        sig = signals.Signals[name if name.startswith("SIG") else f"SIG{name}"]
    except KeyError:
        return (
            f"field 'signal' must be a signal name like SIGKILL, SIGTERM, SIGINT, got '{name}' "
            "- use one of those"
        )
    if sig in (signals.SIGSTOP, signals.SIGCONT):
        return (
            f"field 'signal' must not be {sig.name} for type 'kill' - use type 'stop' "
            "(SIGSTOP at the start, SIGCONT at the end)"
        )
    return None


class FaultScript(BaseModel):
    """A named, described list of faults, applied within one phase of a drill."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    description: str = ""
    faults: list[Fault] = Field(min_length=1)

    _source: str = PrivateAttr(default="<fault script>")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @property
    def source(self) -> str:
        """Where the script came from (a path), for messages."""
        return self._source

    def with_source(self, source: str, lines: dict[str, int] | None = None) -> FaultScript:
        """Record where the script came from (and each fault's line in it); returns self."""
        self._source = source
        self._lines = dict(lines or {})
        return self

    def where(self, fault: str) -> str:
        """``file:line`` of the fault called ``fault`` (the file alone when unknown)."""
        line = self._lines.get(fault)
        return f"{self._source}:{line}" if line else self._source

    @property
    def proxies(self) -> list[str]:
        """Every proxy the script touches, sorted (for ``require_proxies``)."""
        return sorted({f.proxy for f in self.faults if f.proxy is not None})

    @model_validator(mode="after")
    def _check_faults(self) -> FaultScript:
        problems = _duplicate_problems(self.faults) + _overlap_problems(self.faults)
        if problems:
            raise PydanticCustomError(
                SCRIPT_PROBLEMS,
                "{summary}",
                {"summary": "; ".join(p[2] for p in problems), "problems": problems},
            )
        return self


def _duplicate_problems(faults: list[Fault]) -> list[tuple[str, str, str]]:
    seen: set[str] = set()
    out = []
    for f in faults:
        if f.name in seen:
            out.append(
                (
                    f.name,
                    "name",
                    f"field 'name' must be unique in the script, got "
                    f"'{f.name}' a second time - rename one of them",
                )
            )
        seen.add(f.name)
    return out


def _overlap_problems(faults: list[Fault]) -> list[tuple[str, str, str]]:
    out = []
    for i, a in enumerate(faults):
        for b in faults[i + 1 :]:
            why = _conflict(a, b)
            if why and a.start_s < b.end_s and b.start_s < a.end_s:
                out.append(
                    (
                        b.name,
                        "start_s",
                        f"window {_window(b)} on proxy '{b.proxy}' "
                        f"overlaps fault '{a.name}' ({_window(a)}) and {why} - give them "
                        "disjoint windows with start_s/duration_s, or merge them",
                    )
                )
    return out


def _conflict(a: Fault, b: Fault) -> str | None:
    if a.proxy is None or a.proxy != b.proxy or a.name == b.name:
        return None
    if a.is_down or b.is_down:
        down = a if a.is_down else b
        return f"'{down.name}' takes that proxy down"
    if a.type == b.type and a.toxic_stream == b.toxic_stream:
        return f"both are '{a.type}' on the {a.toxic_stream} stream"
    return None


def _window(f: Fault) -> str:
    end = "phase end" if math.isinf(f.end_s) else f"{f.end_s:g} s"
    return f"{f.start_s:g} s to {end}"


def problems_from_context(ctx: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The ``(fault, field, sentence)`` problems a custom error carries, if any."""
    return [tuple(p) for p in (ctx or {}).get("problems", [])]  # type: ignore[misc]
