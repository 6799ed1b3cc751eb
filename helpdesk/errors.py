"""The helpdesk's exception tree.

HelpdeskError            base: anything the reference system raises on purpose
├── ConfigError          a bad setting, mechanism name or flag          (CLI exit 2)
└── StartupError         a process could not be started or never became ready (exit 3)
    └── PortInUse        the requested front port is already taken
"""

from __future__ import annotations


class HelpdeskError(Exception):
    """Base of every error the helpdesk raises on purpose."""


class ConfigError(HelpdeskError):
    """A setting, mechanism name or flag cannot be used."""


class StartupError(HelpdeskError):
    """A helpdesk process did not start or did not become ready in time."""


class PortInUse(StartupError):
    """The requested port is already taken by another process."""
