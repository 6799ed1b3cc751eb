"""The reference customer-service system the harness drills against.

Public API: start a whole system with :func:`start_system`, stop it with
:func:`stop_system` (or the returned :class:`RunningSystem`). See docs/helpdesk.md.
"""

import importlib as _importlib

from helpdesk.config import FrontSettings, Mechanism, parse_mechanisms
from helpdesk.errors import ConfigError, HelpdeskError, PortInUse, StartupError

# Imported when first used: every service process of a system imports this package, and
# only the front needs helpdesk.front (~0.2 s of imports each, measured here)
_LAZY = {
    "MODE_HEADER": "helpdesk.front",
    "RunningSystem": "helpdesk.launcher",
    "SystemConfig": "helpdesk.launcher",
    "read_state": "helpdesk.launcher",
    "start_system": "helpdesk.launcher",
    "stop_system": "helpdesk.launcher",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'helpdesk' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "MODE_HEADER",
    "ConfigError",
    "FrontSettings",
    "HelpdeskError",
    "Mechanism",
    "PortInUse",
    "RunningSystem",
    "StartupError",
    "SystemConfig",
    "parse_mechanisms",
    "read_state",
    "start_system",
    "stop_system",
]
