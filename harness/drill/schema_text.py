"""Titles and descriptions of drill fields for the JSON Schema (``harness schema``).

A field's own ``Field(description=...)`` wins; a field without one gets its text here:
first by ``(model, field)``, then by field name (a name means the same in every model:
``window_s``, ``endpoints``, ``phase``). Titles are made from the name with its unit
(``for_s`` -> "For (s)", ``min_requests_per_s`` -> "Min requests per second") unless a
model sets one. ``tests/unit/drill/test_drill_schema_text.py`` fails on a field left bare.
"""

from __future__ import annotations

from typing import Any

BY_NAME: dict[str, str] = {
    "name": "A name for reports and messages (default: made from the type and its scope)",
    "type": "Which kind of item this is; the other fields depend on it",
    "phase": "The phase this is judged over (default: the whole drill)",
    "endpoints": "Locust request names to count (default: every endpoint)",
    "window_s": "Judge every sliding window of this many seconds and report the worst "
                "(default: the whole scope at once)",
    "hold_s": "How long the condition must hold before it counts as reached, in seconds",
    "fault": "The fault (script or fault name) this times (default: the first fault of the "
             "scope)",
    "max_s": "Passes when the time measured is at most this many seconds",
    "max_ratio": "Passes when the share is at most this (0 to 1)",
    "min_ratio": "Passes when the share is at least this (0 to 1)",
    "min_success_ratio": "Failed over once the share of successful requests is back at or "
                         "above this (0 to 1)",
    "max_latency_ms": "Successful requests slower than this count as failed, in ms",
    "latency_tolerance": "Recovered when latency is at most the baseline's times this",
    "error_tolerance": "Recovered when the error ratio is at most the baseline's plus this",
    "fallback_tolerance": "Recovered when the fallback ratio is at most the baseline's plus "
                          "this (default: not judged)",
    "baseline_phase": "The phase whose figures count as normal (default: the first phase)",
    "percentile": "Which latency percentile to judge, e.g. 95 or 99.9",
    "max_ms": "Passes when the percentile is at most this many ms",
    "corrected": "Judge the latency corrected for coordinated omission (open model only)",
    "outcomes": "Outcomes whose latency counts (default: every outcome but shed)",
    "min_rps": "Passes when requests per second that did not end in error are at least this",
    "require_retry_after": "Also fail when a shed answer lacks a Retry-After header",
    "max_count": "Passes when at most this many acknowledged writes are lost",
    "core_endpoints": "Endpoints that must stay available and fast under overload",
    "noncore_endpoints": "Endpoints that may be shed to protect the core ones",
    "min_noncore_shed_ratio": "Non-core endpoints must shed at least this share (0 to 1)",
    "min_availability": "Core endpoints must stay at least this available (0 to 1)",
    "max_p95_ms": "Core endpoints' p95 latency must stay at most this many ms",
    "metric": "The figure watched",
    "above": "Abort when the figure is above this",
    "for_s": "Abort only when the figure stays above the limit this many seconds in a row",
    "min_requests_per_s": "Seconds with fewer requests than this are not judged (too few to "
                          "tell)",
    "description": "What the drill proves, in a sentence or two (shown in every report)",
    "duration_s": "How long the phase lasts, in seconds",
    "checks": "SLA checks judged over this scope",
    "bucket_s": "Width of a metrics bucket, in seconds (the resolution of every figure)",
    "capacity_search": "Raise the load step by step and report the highest level whose "
                       "checks held (replaces phases)",
    "proxies": "Toxiproxy proxies to create for the drill (and remove after it)",
    "target": "The system under test",
    "toxiproxy": "The Toxiproxy that injects the faults",
    "load": "The traffic: scenario, shape and model",
    "phases": "The drill's phases, in order",
    "writes": "Writes to read back after the drill (lost-write detection)",
    "abort": "Abort the drill when one of these holds",
    "url": "Base URL",
    "upstream": "Address the proxy forwards to, host:port",
    "listen": "Address the proxy listens on, host:port (default: any free loopback port)",
    "scrape_every_s": "Seconds between two scrapes of the metrics path",
    "model": "closed: a fixed number of users, each waiting for its answer; open: arrivals at "
             "a rate, whether answers come or not",
    "shape": "How the load level changes over time",
    "level": "The load level: users (closed model) or arrivals a second (open model)",
    "start": "The level at the start",
    "end": "The level at the end",
    "over_s": "Seconds to go from start to end",
    "base": "The level before and after the surge",
    "factor": "The surge's peak as a multiple of base",
    "at_s": "When the surge starts, in seconds from the drill's start",
    "rise_s": "Seconds from base to the peak",
    "decay_s": "Seconds from the peak back to base",
    "low": "The level at night",
    "high": "The level at the daily peak",
    "period_s": "Length of one simulated day, in seconds",
    "step": "How much the level rises at each step",
    "step_s": "How long each step lasts, in seconds",
    "max": "The highest level tried",
    "markers": "How an answer is recognised as fallback, degraded or error beyond its status",
    "shed_status": "HTTP statuses that mean the request was shed on purpose",
    "outcome": "The outcome an answer with this marker gets",
    "header": "Response header to look at",
    "json_field": "JSON field of the answer to look at, e.g. meta.mode",
    "value": "The value that marks the outcome",
    "equals": "The value the JSON path must have",
}

BY_MODEL: dict[tuple[str, str], str] = {
    ("Drill", "name"): "The drill's name (in reports, run ids and CI test names)",
    ("Drill", "checks"): "Checks over the whole drill",
    ("PhaseSpec", "name"): "The phase's name (checks and reports refer to it)",
    ("PhaseSpec", "checks"): "Checks judged over this phase",
    ("ProxySpec", "name"): "The proxy's name on Toxiproxy (fault scripts refer to it)",
    ("ToxiproxySpec", "url"): "Toxiproxy's API, or 'embedded' to start one for the drill",
    ("CapacitySearch", "start"): "The first level tried",
    ("CapacitySearch", "checks"): "Checks every step must pass for its level to count as "
                                  "sustainable",
    ("Step", "start"): "The level of the first step",
    ("Step", "max"): "The highest level; the shape stays there",
    ("AbortCondition", "metric"): "The figure watched every second: error_ratio, p95_ms, ...",
}

_UNITS = {"s": "s", "ms": "ms", "rps": "requests/s", "kbps": "KB/s", "percent": "%"}
_WORDS = {"json": "JSON", "url": "URL", "id": "id", "p95": "p95", "p99": "p99", "cpu": "CPU"}


def title(field: str) -> str:
    """``for_s`` -> "For (s)"; ``min_requests_per_s`` -> "Min requests per second"."""
    words = field.split("_")
    unit = None
    if len(words) > 1 and words[-2] == "per" and words[-1] == "s":
        words[-1] = "second"
    elif len(words) > 1 and words[-1] in _UNITS:
        unit = _UNITS[words.pop()]
    text = " ".join(_WORDS.get(w, w) for w in words)
    text = text[:1].upper() + text[1:]
    return f"{text} ({unit})" if unit else text


def _auto_title(field: str) -> str:
    return field.replace("_", " ").title()


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """Fill in the titles and descriptions that the models leave to pydantic's defaults."""
    models = dict(schema.get("$defs", {}))
    models["Drill"] = schema
    for model, spec in models.items():
        for field, prop in spec.get("properties", {}).items():
            if prop.get("title") in (None, _auto_title(field)):
                prop["title"] = title(field)
            if not prop.get("description"):
                text = BY_MODEL.get((model, field)) or BY_NAME.get(field)
                if text:
                    prop["description"] = text
    return schema


def bare_fields(schema: dict[str, Any]) -> list[str]:
    """``Model.field`` of every property still without a description."""
    models = dict(schema.get("$defs", {}))
    models["Drill"] = schema
    return [f"{m}.{f}" for m, spec in models.items()
            for f, p in spec.get("properties", {}).items() if not p.get("description")]


