"""Plugins: third-party fault types, checks, report formats and load shapes, by entry point.

A distribution joins a registry by declaring an entry point in that registry's
group (as pytest's ``pytest11`` and pluggy do)::

    [project.entry-points."cs_harness.checks"]
    apdex = "harness_plugin_example.apdex:ApdexCheck"

=====================  =============================  ==============================
group                  registry                       an entry point names
=====================  =============================  ==============================
``cs_harness.faults``  ``harness.faults.FAULT_TYPES`` a ``FaultType`` (a toxic)
``cs_harness.checks``  ``harness.checks.REGISTRY``    a ``CheckBase`` subclass
``cs_harness.reports`` ``harness.report.FORMATS``     a ``ReportFormat``
``cs_harness.shapes``  ``harness.load.shapes.SHAPES`` a ``Shape`` subclass
=====================  =============================  ==============================

Each registry is a :class:`Registry`: a read-only mapping holding the built-in
entries from import, which reads its group the first time it is *read* (never
at ``import harness``). Every plugin entry goes through the same ``validate``
as the built-ins, plus the plugin rules of its registry (an ``example``); a
plugin that cannot be imported or is refused is a :class:`PluginError` (an
``InputError``, exit 2) naming the distribution, the entry point, the registry
and what is wrong - never a traceback, never skipped. Every later read raises
the same error. ``CS_HARNESS_DISABLE_PLUGINS=1`` reads no entry points (like
``PYTEST_DISABLE_PLUGIN_AUTOLOAD``): the way to run with a broken plugin
installed, and how the committed JSON Schema is made.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Generic, TypeVar

from harness.errors import InputError

__all__ = ["DISABLE_ENV", "GROUPS", "PluginError", "PluginSource", "Registry"]

DISABLE_ENV = "CS_HARNESS_DISABLE_PLUGINS"

GROUPS = {
    "fault types": "cs_harness.faults",
    "checks": "cs_harness.checks",
    "report formats": "cs_harness.reports",
    "load shapes": "cs_harness.shapes",
}
"""Registry name -> entry-point group."""

V = TypeVar("V")


class PluginError(InputError):
    """A plugin could not be imported or was refused by its registry (exit 2)."""


@dataclass(frozen=True)
class PluginSource:
    """Where a registry entry came from: one entry point of one distribution."""

    distribution: str  # "harness-plugin-example 0.1.0", or "an unknown distribution"
    entry_point: str  # "apdex = harness_plugin_example.apdex:ApdexCheck"
    group: str

    @classmethod
    def of(cls, ep: metadata.EntryPoint) -> PluginSource:
        dist = getattr(ep, "dist", None)
        name = f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
        return cls(name, f"{ep.name} = {ep.value}", ep.group)

    def __str__(self) -> str:
        return f"plugin {self.distribution} (entry point '{self.entry_point}' in {self.group})"


def entry_points(group: str) -> list[metadata.EntryPoint]:
    """The installed entry points of ``group``, by name (one seam for tests)."""
    return sorted(metadata.entry_points(group=group), key=lambda ep: (ep.name, ep.value))


def disabled() -> bool:
    """True when ``CS_HARNESS_DISABLE_PLUGINS`` is set to anything but '' or '0'."""
    return os.environ.get(DISABLE_ENV, "") not in ("", "0")


class Registry(Mapping[str, V], Generic[V]):
    """A registry: name -> entry, built-ins at import, plugins on first read.

    ``validate(entry, plugin)`` returns the entry's name or raises ``TypeError``,
    ``ValueError`` or ``InputError`` with a sentence saying what is wrong with it
    (``plugin`` is True for entry points: their extra rules, e.g. an ``example``).
    """

    def __init__(self, what: str, validate: Callable[[V, bool], str]) -> None:
        self.what = what
        self.group = GROUPS[what]
        self._validate = validate
        self._entries: dict[str, V] = {}
        self._sources: dict[str, PluginSource] = {}
        self._state = "new"  # new -> loading -> loaded
        self._error: PluginError | None = None

    def add(self, entry: V, source: PluginSource | None = None) -> V:
        """Validate and add ``entry``; a name already taken is refused, naming its owner."""
        name = self._validate(entry, source is not None)
        if name in self._entries and self._entries[name] is not entry:
            where = "" if source is not None else f"{self.what}: "  # a plugin's error says it
            raise InputError(
                f"{where}{name!r} is already registered by {self.origin(name)}; pick another name"
            )
        self._entries[name] = entry
        if source is not None:
            self._sources[name] = source
        return entry

    def origin(self, name: str) -> str:
        """'the harness' for a built-in, else the plugin that registered ``name``."""
        source = self._sources.get(name)
        return str(source) if source is not None else "the harness"

    def current(self) -> dict[str, V]:
        """What is registered so far, without loading plugins (for ``validate``)."""
        return dict(self._entries)

    def builtin(self) -> dict[str, V]:
        """The harness's own entries (no plugins are loaded for this)."""
        return {n: e for n, e in self._entries.items() if n not in self._sources}

    def plugin_names(self) -> list[str]:
        """Names registered by plugins (loads them)."""
        self.load_plugins()
        return [n for n in self._entries if n in self._sources]

    def load_plugins(self) -> None:
        """Read this registry's entry-point group once; PluginError names a broken plugin."""
        if self._error is not None:
            raise self._error
        if self._state != "new":
            return  # loaded, or being loaded (a plugin reading the registry sees what is in)
        self._state = "loading"
        try:
            if not disabled():
                for ep in entry_points(self.group):
                    self._load_one(ep)
        except PluginError as exc:
            self._error = exc
            raise
        finally:
            self._state = "loaded"

    def _load_one(self, ep: metadata.EntryPoint) -> None:
        source = PluginSource.of(ep)
        fix = f"fix or uninstall the plugin (or set {DISABLE_ENV}=1 to run without plugins)"
        try:
            entry = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's, named
            raise PluginError(
                f"{source}: {self.what}: cannot be loaded ({type(exc).__name__}: {exc}) - {fix}"
            ) from exc
        try:
            self.add(entry, source)
        except (TypeError, ValueError, InputError) as exc:
            raise PluginError(f"{source}: {self.what}: {exc} - {fix}") from exc

    def __getitem__(self, name: str) -> V:
        self.load_plugins()
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        self.load_plugins()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self.load_plugins()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Registry {self.what} ({self.group}): {', '.join(self._entries)}>"
