"""Reading an outcome (ok, fallback, degraded, shed, error) from a response.

The drill declares the markers its target uses (a header or a JSON field and the
value that means fallback or degraded), so the same harness works on systems
other than the reference one. Status codes decide first: 429 is shed, other
4xx/5xx and transport failures are errors; a 2xx/3xx is ok unless a marker says
otherwise. Markers are checked in the order given; the first match wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.results.model import Outcome


class Marker(BaseModel):
    """``header: X-Mode`` or ``json_field: mode`` equal to ``value`` means ``outcome``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Literal[Outcome.FALLBACK, Outcome.DEGRADED, Outcome.ERROR]
    header: str | None = None
    json_field: str | None = None
    value: str

    @model_validator(mode="after")
    def _one_source(self) -> Marker:
        if (self.header is None) == (self.json_field is None):
            raise ValueError("give exactly one of 'header' or 'json_field'")
        return self


class _Group(NamedTuple):
    """Consecutive markers on one source, as :meth:`OutcomeReader.classify` reads them."""

    header: str | None  # a header's name (None: a JSON field)
    lower: str | None  # the header's name in lower case (a second try, as HTTP allows)
    parts: tuple[str, ...]  # a JSON field's dotted path, split
    outcomes: dict[str, Outcome]  # value -> outcome; the first marker of a value wins


def _plan(markers: list[Marker]) -> list[_Group]:
    """The markers as groups of consecutive markers on the same source, in order.

    Reading a group's source once and looking its value up gives the same outcome as
    trying each marker in order (:meth:`OutcomeRules.matching_marker`): a group
    holds only neighbours, and within one a value keeps its first marker.
    """
    groups: list[_Group] = []
    for marker in markers:
        header, field_ = marker.header, marker.json_field
        last = groups[-1] if groups else None
        if (
            last is None
            or last.header != header
            or (header is None and last.parts != tuple((field_ or "").split(".")))
        ):
            last = _Group(
                header,
                header.lower() if header is not None else None,
                tuple(field_.split(".")) if field_ is not None else (),
                {},
            )
            groups.append(last)
        last.outcomes.setdefault(marker.value, Outcome(marker.outcome))
    return groups


class OutcomeReader:
    """:class:`OutcomeRules` compiled: reads the outcome of a response, once per request.

    A plain object on purpose: a pydantic model's private attributes are read through
    ``__getattr__``, a call per read, and this runs for every request of a drill.
    """

    __slots__ = ("_plan", "_shed")

    def __init__(self, plan: list[_Group], shed_status: frozenset[int]) -> None:
        self._plan = plan
        self._shed = shed_status

    def classify(
        self, status: int | None, headers: Mapping[str, str] | None, body: bytes | None
    ) -> Outcome:
        """The outcome of one response; ``status`` None or 0 means the request never got one."""
        if not status:
            return Outcome.ERROR
        if status in self._shed:
            return Outcome.SHED
        if status >= 400:
            return Outcome.ERROR
        # the markers compiled into groups (_plan), helpers inlined
        parsed: object = _NOT_PARSED
        for header, lower, parts, outcomes in self._plan:
            if header is not None:
                if headers is None:
                    continue
                seen: object = headers.get(header)
                if seen is None:
                    seen = headers.get(lower)
                    if seen is None:
                        continue
            else:
                if parsed is _NOT_PARSED:
                    parsed = _json(body)
                seen = _dig(parsed, parts)
                if seen is None:
                    continue
            outcome = outcomes.get(seen if type(seen) is str else str(seen))
            if outcome is not None:
                return outcome
        return Outcome.OK


class OutcomeRules(BaseModel):
    """How to read outcomes from responses; part of a drill file (``outcomes:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    markers: list[Marker] = Field(default_factory=list)
    shed_status: list[int] = Field(default_factory=lambda: [429])  # 503 is an error unless declared

    def reader(self) -> OutcomeReader:
        """These rules compiled for reading many responses (a load process's hot path)."""
        return OutcomeReader(_plan(self.markers), frozenset(self.shed_status))

    def classify(
        self, status: int | None, headers: Mapping[str, str] | None, body: bytes | None
    ) -> Outcome:
        """The outcome of one response; ``status`` None or 0 means the request never got one."""
        return self.reader().classify(status, headers, body)

    def matching_marker(
        self, headers: Mapping[str, str] | None, body: bytes | None
    ) -> Marker | None:
        """The first marker the response carries (None: none does); for naming an error."""
        parsed: object = _NOT_PARSED
        for marker in self.markers:
            if marker.header is not None:
                seen = _header(headers, marker.header)
            else:
                if parsed is _NOT_PARSED:
                    parsed = _json(body)
                seen = _field(parsed, marker.json_field or "")
            if seen is not None and str(seen) == marker.value:
                return marker
        return None


_NOT_PARSED = object()


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    # `is None`, not truthiness: on Locust's header objects `not headers` walks every header
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def _json(body: bytes | None) -> object:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _field(document: object, dotted: str) -> object:
    return _dig(document, dotted.split("."))


def _dig(document: object, parts: tuple[str, ...] | list[str]) -> object:
    for part in parts:
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document
