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
from typing import Literal

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


class OutcomeRules(BaseModel):
    """How to read outcomes from responses; part of a drill file (``outcomes:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    markers: list[Marker] = Field(default_factory=list)
    shed_status: list[int] = Field(default_factory=lambda: [429])  # 503 is an error unless declared

    def classify(
        self, status: int | None, headers: Mapping[str, str] | None, body: bytes | None
    ) -> Outcome:
        """The outcome of one response; ``status`` None or 0 means the request never got one."""
        if not status:
            return Outcome.ERROR
        if status in self.shed_status:
            return Outcome.SHED
        if status >= 400:
            return Outcome.ERROR
        # the loop of matching_marker, inlined: this runs for every request (a call costs ~75 ns);
        # markers on one header (the usual fallback + degraded pair) read it once
        parsed: object = _NOT_PARSED
        read_name: str | None = None
        seen: object = None
        for marker in self.markers:
            if marker.header is not None:
                if marker.header != read_name:
                    read_name = marker.header
                    seen = _header(headers, read_name)
            else:
                if parsed is _NOT_PARSED:
                    parsed = _json(body)
                read_name = None
                seen = _field(parsed, marker.json_field or "")
            if seen is not None and str(seen) == marker.value:
                return Outcome(marker.outcome)
        return Outcome.OK

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
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document
