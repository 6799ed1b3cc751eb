"""The bounds on everything a drill or fault file can ask for (docs/drills.md, "Limits").

A file is input from anyone: without bounds, 700 bytes of YAML aliases ask for
gigabytes, ``on_s: 1e-9`` for billions of fault windows and ``bucket_s: 1e-9``
for a histogram per nanosecond. Each bound is named here once; the models, the
YAML reader and the planner use these names, and every refusal quotes the name,
the limit and the value seen, so a user knows which limit they met and whether
to change the file or, for a real need, the constant.

They are far above any drill that makes sense (the shipped ones are a few
hundred bytes, 11-14 s, 4 phases, 20-340 users or arrivals/s).
"""

from __future__ import annotations

# -- the file itself (harness.validation) -------------------------------------------------

MAX_FILE_BYTES = 1_000_000
"""A drill or fault file's size; the shipped ones are under 3 KB."""

MAX_YAML_DEPTH = 32
"""Nesting of mappings and lists (a drill needs about 7: phases > [0] > checks > [0] > endpoints)."""

MAX_YAML_NODES = 20_000
"""Values in a file once aliases (``*name``) are expanded: an alias bomb stops here."""

MAX_ABS_NUMBER = 1e9
"""Every number in a file is finite and at most this in size (1e9 ms is 11 days; it also
keeps fault attributes within Toxiproxy's 32-bit integers): no later sum or ratio overflows."""

# -- the drill (harness.drill.model, harness.drill.loader) ---------------------------------

MAX_NAME_CHARS = 100
"""Drill and phase names end up in run ids and folder names (255 bytes at most)."""

MAX_DRILL_S = 86_400.0
"""A whole drill (all phases) and any one phase: 24 hours."""

MIN_BUCKET_S = 0.01
"""The finest metric resolution (``bucket_s``): 10 ms, five times finer than the run loop's tick."""

MAX_BUCKETS = 100_000
"""Time buckets per drill (duration / ``bucket_s``): a 24-hour drill needs ``bucket_s`` >= 0.864."""

MAX_PHASES = 1_000
"""Phases per drill, counting the steps a capacity search expands into."""

MAX_LOAD_LEVEL = 100_000.0
"""The highest load level of any shape: users (closed model) or arrivals a second (open model)."""

MAX_USERS = 100_000
"""``load.max_concurrency`` (open model: users ready to serve arrivals)."""

MAX_SPAWN_RATE_PER_S = 10_000.0
"""``load.spawn_rate_per_s`` (closed model: users started a second)."""

MAX_WORKERS = 256
"""``load.workers``: Locust worker processes started on this machine."""

MIN_POLL_S = 0.1
"""The shortest period of the target's watchers (``scrape_every_s``, ``liveness.interval_s``)."""

MAX_NAMED_LANES = 50
"""``target.lanes``: series of /metrics named for the report's timeline (each is a row)."""

# -- fault scripts (harness.faults) --------------------------------------------------------

MIN_FLAP_S = 0.1
"""``flapping.on_s`` and ``off_s``: two ticks of the run loop; shorter spells cannot be honoured."""

MAX_FAULT_WINDOWS = 10_000
"""Fault windows per drill, after flapping is expanded (each is two Toxiproxy requests)."""


LIMITS_DOC = 'docs/drills.md, "Limits"'
"""Where the limits are explained; quoted in every refusal."""


def over(name: str, limit: float, unit: str = "") -> str:
    """Words for a value past a limit: ``above the limit MAX_PHASES (1000, docs/drills.md ...)``."""
    return f"above the limit {name} ({limit:g}{unit}, {LIMITS_DOC})"


def under(name: str, limit: float, unit: str = "") -> str:
    """Words for a value below a minimum: ``below the limit MIN_FLAP_S (0.1 s, ...)``."""
    return f"below the limit {name} ({limit:g}{unit}, {LIMITS_DOC})"


LIMIT_OF_FIELD: dict[str, tuple[str, ...]] = {
    "duration_s": ("MAX_DRILL_S",),
    "step_s": ("MAX_DRILL_S",),
    "settle_timeout_s": ("MAX_DRILL_S",),
    "scrape_every_s": ("MIN_POLL_S", "MAX_DRILL_S"),
    "interval_s": ("MIN_POLL_S",),
    "bucket_s": ("MIN_BUCKET_S",),
    "spawn_rate_per_s": ("MAX_SPAWN_RATE_PER_S",),
    "max_concurrency": ("MAX_USERS",),
    "workers": ("MAX_WORKERS",),
    "start": ("MAX_LOAD_LEVEL",),
    "step": ("MAX_LOAD_LEVEL",),
    "max": ("MAX_LOAD_LEVEL",),
    "on_s": ("MIN_FLAP_S",),
    "off_s": ("MIN_FLAP_S",),
}
"""Fields bounded by a limit in their model (``Field(le=MAX_DRILL_S)``): the refusal names it."""


def limit_named(field: object, bound: object) -> str | None:
    """The name of the limit ``field`` met when its bound was ``bound``, if it is one."""
    for name in LIMIT_OF_FIELD.get(str(field), ()):
        if globals()[name] == bound:
            return name
    return None


SCENARIO_IMPORT_S = 30.0
"""``harness validate`` imports a scenario in a child process and gives it this long: a
locustfile that blocks at import (a sleep, a server it waits for) is named, not waited on."""
