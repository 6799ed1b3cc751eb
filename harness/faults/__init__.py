"""Faults: declarative fault scripts, their timeline, and injecting them through Toxiproxy.

    model / loader   FaultScript and Fault (pydantic), loaded and explained from YAML
    registry         the fault types and their attributes (one entry per type)
    timeline         expand(): a script -> absolute FaultWindows (flapping expanded)
    adapter          ToxiproxyAdapter: the only module that talks to Toxiproxy
    injector         FaultInjector (apply/revert, ledgered), remove_leftovers()/sweep_leftovers()

See docs/faults.md for the file format and how leftovers are found.
"""

from harness.faults.adapter import ToxiproxyAdapter
from harness.faults.injector import (
    TOXIC_PREFIX,
    FaultEvent,
    FaultEventKind,
    FaultInjector,
    LeftoverSweep,
    parse_toxic_name,
    remove_leftovers,
    sweep_leftovers,
    toxic_name,
)
from harness.faults.loader import available_fault_scripts, load_fault_script, resolve_fault_script
from harness.faults.model import Fault, FaultScript, Flapping
from harness.faults.registry import FAULT_TYPES, FaultType
from harness.faults.specs import ProxyInfo, ProxySpec, Stream, ToxicInfo, ToxicSpec
from harness.faults.timeline import FaultWindow, expand

__all__ = [
    "FAULT_TYPES",
    "TOXIC_PREFIX",
    "Fault",
    "FaultEvent",
    "FaultEventKind",
    "FaultInjector",
    "FaultScript",
    "FaultType",
    "FaultWindow",
    "Flapping",
    "LeftoverSweep",
    "ProxyInfo",
    "ProxySpec",
    "Stream",
    "ToxicInfo",
    "ToxicSpec",
    "ToxiproxyAdapter",
    "available_fault_scripts",
    "expand",
    "load_fault_script",
    "parse_toxic_name",
    "remove_leftovers",
    "resolve_fault_script",
    "sweep_leftovers",
    "toxic_name",
]
