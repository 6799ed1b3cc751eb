"""The reference customer-service system the harness drills against.

Public API: start a whole system with :func:`start_system`, stop it with
:func:`stop_system` (or the returned :class:`RunningSystem`). See docs/helpdesk.md.
"""

from helpdesk.config import FrontSettings, Mechanism, parse_mechanisms
from helpdesk.errors import ConfigError, HelpdeskError, PortInUse, StartupError
from helpdesk.front import MODE_HEADER
from helpdesk.launcher import RunningSystem, SystemConfig, read_state, start_system, stop_system

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
