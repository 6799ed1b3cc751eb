"""The load's own spec types: the traffic (:class:`LoadSpec`) and how a write is
recognised and read back (:class:`WriteRule`).

They live in the load package because the load uses them (the engine, the Locust
workers, the classifier); :mod:`harness.drill.model` builds a drill from them and
re-exports them, so lower layers never import the drill package.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.limits import (
    MAX_DRILL_S,
    MAX_LOAD_LEVEL,
    MAX_SPAWN_RATE_PER_S,
    MAX_USERS,
    MAX_WORKERS,
    over,
)
from harness.load import jsonpath, shapes
from harness.load.shapes import ShapeSpec, Surge

# The shape union holds every registered shape, plugins included: building it reads
# the registry's entry-point group (harness.plugins, docs/plugins.md).
AnyShape = shapes.shape_spec()


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoadModel(StrEnum):
    CLOSED = "closed"  # a number of users, each waiting for its answer before the next request
    OPEN = "open"  # a fixed arrival rate, whatever the answers take


class LoadSpec(_Spec):
    """The traffic: a Locust scenario, a load model and a shape over time."""

    scenario: str = Field(description="A locustfile: a name in scenarios/ or a path")
    user_classes: list[str] = Field(default_factory=list, description="Default: all in the file")
    model: LoadModel = LoadModel.CLOSED
    shape: AnyShape
    spawn_rate_per_s: float = Field(
        default=50.0,
        gt=0,
        le=MAX_SPAWN_RATE_PER_S,
        description="Closed model: users started a second",
    )
    max_concurrency: int = Field(
        default=200, gt=0, le=MAX_USERS, description="Open model: users available to send arrivals"
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=MAX_WORKERS,
        description="Locust worker processes; 0 runs the load in-process",
    )
    drain_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="At the end: how long requests in flight may take to finish; "
        "those still open then are recorded as errors",
    )

    @model_validator(mode="after")
    def _bounded_level(self) -> LoadSpec:
        peak = peak_level(self.shape)
        if peak > MAX_LOAD_LEVEL:
            raise ValueError(
                f"the shape reaches a load level of {peak:g} (users or arrivals a second), "
                f"{over('MAX_LOAD_LEVEL', MAX_LOAD_LEVEL)}; lower it"
            )
        return self


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # ${NAME} in read_headers
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def _one_group_regex(pattern: str) -> str:
    """``pattern`` if it compiles and has exactly one group (around the id)."""
    try:
        groups = re.compile(pattern).groups
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression ({exc}) - fix the pattern") from None
    if groups != 1:
        raise ValueError(
            f"must have exactly one group (parentheses) around the id, has {groups}; "
            "e.g. /tickets/(T-\\d+), and (?:...) for other grouping"
        )
    return pattern


def _json_path(path: str) -> str:
    jsonpath.parse(path)
    return path


class RequestId(_Spec):
    """The id as the request carries it (a client-made id or idempotency key): known in advance."""

    header: str | None = Field(default=None, description="Request header, e.g. Idempotency-Key")
    json_path: str | None = Field(
        default=None,
        alias="json",
        description="JSON path in the request body, e.g. client_ref or ticket.ref",
    )

    @field_validator("json_path")
    @classmethod
    def _path(cls, path: str | None) -> str | None:
        return None if path is None else _json_path(path)

    @model_validator(mode="after")
    def _one_source(self) -> RequestId:
        if (self.header is None) == (self.json_path is None):
            raise ValueError("give exactly one of 'header' or 'json'")
        return self


class JsonEquals(_Spec):
    """A JSON answer whose value at ``path`` equals ``equals``."""

    path: str = Field(description="JSON path, e.g. error or data.ticket")
    equals: bool | int | float | str

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        return _json_path(path)


class AbsentSpec(_Spec):
    """What a read-back that says "not there" looks like: any of these (docs/drills.md).

    A status in ``status``; or an answer below 500 whose body contains ``body_contains``
    or whose JSON matches ``json``. A read-back that fails (5xx, timeout, refused) or
    answers something else that is not 2xx cannot decide: unverifiable, never verified.
    """

    status: list[int] = Field(
        default_factory=lambda: [404, 410], description="Statuses that mean the write is not there"
    )
    body_contains: str | None = Field(
        default=None, min_length=1, description='Text of an answer meaning "no such item"'
    )
    json_match: JsonEquals | None = Field(
        default=None, alias="json", description='A JSON answer meaning "no such item"'
    )

    @field_validator("status")
    @classmethod
    def _statuses(cls, statuses: list[int]) -> list[int]:
        wrong = [s for s in statuses if not 200 <= s <= 499]
        if wrong:
            raise ValueError(
                f"must be statuses from 200 to 499 (a 5xx cannot tell absent from broken), "
                f"got {', '.join(map(str, wrong))}"
            )
        return statuses


class WriteRule(_Spec):
    """How to recognise a write in the load, and how to read it back afterwards.

    The id comes from exactly one source: the answer's JSON (``id_field`` for a top-level
    field, ``id_json`` for a path), one of its headers (``id_header``, with ``id_regex``),
    its body (``id_body_regex``), or the request itself (``id_from_request``).
    """

    endpoint: str = Field(description="Locust request name of the write, e.g. tickets:create")
    id_field: str | None = Field(
        default=None, description="Top-level JSON field of the answer holding the id"
    )
    id_json: str | None = Field(
        default=None,
        description="JSON path in the answer holding the id, e.g. data.ticket.id or items[0].id",
    )
    id_header: str | None = Field(
        default=None, description="Header of the answer holding the id, e.g. Location"
    )
    id_regex: str | None = Field(
        default=None,
        description="With id_header: a regular expression with one group around the id, "
        "e.g. /tickets/(T-\\d+) (default: the whole header value)",
    )
    id_body_regex: str | None = Field(
        default=None,
        description="A regular expression with one group around the id, searched in the body",
    )
    id_from_request: RequestId | None = Field(
        default=None,
        description="The id the request carries (known in advance): writes whose answer "
        "was lost are read back too",
    )
    ack_status: list[int] | None = Field(
        default=None,
        description="Statuses of the answer to the write that acknowledge it "
        "(default: any 2xx; with id_header any 2xx or 3xx)",
    )
    read_path: str = Field(description="Path to read it back, with {id}, e.g. /api/tickets/{id}")
    read_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers of the read-back requests; ${NAME} is the environment "
        "variable NAME (which must be set), e.g. Authorization: Basic ${DESK_AUTH}",
    )
    absent: AbsentSpec = Field(
        default_factory=AbsentSpec,
        description="What a read-back answer meaning 'not there' looks like",
    )
    settled_field: str | None = Field(
        default=None, description="JSON field of the read-back that says the write is durable"
    )
    settled_values: list[str] = Field(
        default_factory=list, description="Values of settled_field that count as durable"
    )
    settle_timeout_s: float = Field(
        default=10.0,
        ge=0,
        le=MAX_DRILL_S,
        description="How long after the drill a write may take to read back (present, and "
        "settled when settled_field is set): absent or unsettled writes are read again "
        "until then, then count as lost",
    )

    @field_validator("read_path")
    @classmethod
    def _has_id(cls, path: str) -> str:
        if "{id}" not in path or not path.startswith("/"):
            raise ValueError("must be a path starting with / and containing {id}")
        return path

    @field_validator("id_json")
    @classmethod
    def _id_json(cls, path: str | None) -> str | None:
        return None if path is None else _json_path(path)

    @field_validator("id_regex", "id_body_regex")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        return None if pattern is None else _one_group_regex(pattern)

    @field_validator("ack_status")
    @classmethod
    def _ack(cls, statuses: list[int] | None) -> list[int] | None:
        wrong = [s for s in statuses or [] if not 200 <= s <= 399]
        if wrong:
            raise ValueError(
                f"must be 2xx or 3xx statuses, got {', '.join(map(str, wrong))}; an error "
                "status is never an acknowledgement (5xx and lost answers are counted as "
                "indeterminate writes)"
            )
        if statuses is not None and not statuses:
            raise ValueError("must name at least one status (or leave it out for the default)")
        return statuses

    @field_validator("read_headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name (letters, digits, '-')")
            if "\n" in value or "\r" in value:
                raise ValueError(f"header {name!r}: a value must be one line")
            rest = ENV_REFERENCE.sub("", value)
            if "${" in rest:
                raise ValueError(
                    f"header {name!r}: write environment variables as ${{NAME}} "
                    f"(letters, digits, _), got {value!r}"
                )
        return headers

    @model_validator(mode="after")
    def _one_source(self) -> WriteRule:
        given = [f for f in ID_SOURCES if getattr(self, f) is not None]
        if len(given) != 1:
            seen = f"got {' and '.join(given)}" if given else "got none"
            raise ValueError(
                f"give exactly one id source: {', '.join(ID_SOURCES)} ({seen}); "
                "e.g. id_header: Location with id_regex: '/tickets/(T-\\d+)'"
            )
        if self.id_regex is not None and self.id_header is None:
            raise ValueError(
                "id_regex reads a header: add id_header (e.g. Location), or use "
                "id_body_regex to search the body"
            )
        if self.settled_values and self.settled_field is None:
            raise ValueError("settled_values needs settled_field (the read-back's JSON field)")
        return self

    def acknowledges(self, status: int) -> bool:
        """Whether an answer with ``status`` acknowledges the write."""
        if self.ack_status is not None:
            return status in self.ack_status
        return 200 <= status < (400 if self.id_header is not None else 300)

    def env_references(self) -> dict[str, list[str]]:
        """Environment variables the read-back headers name: header -> variable names."""
        refs = {name: ENV_REFERENCE.findall(value) for name, value in self.read_headers.items()}
        return {name: found for name, found in refs.items() if found}


ID_SOURCES = ("id_field", "id_json", "id_header", "id_body_regex", "id_from_request")


def peak_level(shape: ShapeSpec) -> float:
    """The highest load level ``shape`` asks for (users or arrivals a second)."""
    if isinstance(shape, Surge):
        return shape.base * shape.factor
    fields = ("level_", "start", "end", "low", "high", "max")
    return max(float(getattr(shape, f)) for f in fields if hasattr(shape, f))
