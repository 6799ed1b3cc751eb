"""Mechanisms, dependency names and the front's settings (read from environment variables).

The front process is configured only through the environment, so the launcher, the CLI
and a hand-started ``python -m helpdesk.serve front`` all behave the same:

- ``HELPDESK_STATE_DIR``           where events.jsonl and the outbox live
- ``HELPDESK_DISABLE``             comma list of mechanisms to remove (see :class:`Mechanism`)
- ``HELPDESK_URL_<DEP>``           base URL of each dependency, e.g. ``HELPDESK_URL_NLU``
- ``HELPDESK_<SETTING>``           any field of :class:`FrontSettings`, e.g. ``HELPDESK_TIMEOUT_S``
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from helpdesk.errors import ConfigError

DEPENDENCIES = ("nlu", "kb", "orders_primary", "orders_replica", "tickets", "agents")
ROLES = (*DEPENDENCIES, "front")


class Mechanism(enum.Enum):
    """A resilience mechanism of the front that ``--disable`` can remove on its own."""

    BREAKER = "breaker"  # a pybreaker CircuitBreaker per dependency
    FALLBACK = "fallback"  # NLU/KB down or slow -> keyword match over the local FAQ copy
    FAILOVER = "failover"  # order reads move to the replica when the primary fails
    FAILBACK = "failback"  # ... and return to the primary once it answers (off: they stay)
    OUTBOX = "outbox"  # ticket writes queue in a durable local outbox when the store fails
    SHEDDING = "shedding"  # /api/recommendations answers 429 under overload
    TIMEOUTS = "timeouts"  # short httpx timeouts (off: every call may wait no_timeout_s)


def parse_mechanisms(text: str | Iterable[str]) -> frozenset[Mechanism]:
    """Parse ``"failover,outbox"`` (or a list of names) into mechanisms; unknown names fail."""
    names = text.split(",") if isinstance(text, str) else list(text)
    result = set()
    valid = ", ".join(m.value for m in Mechanism)
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        try:
            result.add(Mechanism(name))
        except ValueError:
            raise ConfigError(f"unknown mechanism '{name}' in --disable (valid: {valid})") from None
    return frozenset(result)


@dataclass(frozen=True)
class FrontSettings:
    """Tunables of the front; each one can be set with ``HELPDESK_<NAME_UPPER>``."""

    timeout_s: float = 0.5  # httpx timeout of every dependency call
    no_timeout_s: float = 30.0  # the timeout used when the 'timeouts' mechanism is disabled
    retry_attempts: int = 3  # bounded retries of idempotent reads ...
    retry_total_s: float = 1.2  # ... and their total time budget
    retry_initial_s: float = 0.05  # first backoff; exponential with jitter
    retry_max_wait_s: float = 0.3
    breaker_fail_max: int = 3  # consecutive failures that open a breaker
    breaker_reset_s: float = 2.0  # open -> half-open after this long
    shed_inflight: int = 16  # overload when this many front requests are in flight ...
    shed_rps: float = 200.0  # ... or more API requests than this arrived in the last second
    retry_after_s: int = 1  # Retry-After of a shed response
    handoff_max_position: int = 10  # callback instead of a queue place beyond this position ...
    handoff_max_wait_s: float = 300.0  # ... or beyond this estimated wait
    outbox_replay_interval_s: float = 0.5  # how often the outbox is replayed
    max_body_bytes: int = 65536

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FrontSettings:
        """Read every field from ``HELPDESK_<FIELD>``; missing ones keep their default."""
        values: dict[str, object] = {}
        for f in fields(cls):
            key = f"HELPDESK_{f.name.upper()}"
            if key not in env:
                continue
            kind = int if f.type in ("int", int) else float
            try:
                values[f.name] = kind(env[key])
            except ValueError:
                raise ConfigError(
                    f"{key}={env[key]!r} is not a valid {kind.__name__}; "
                    f"set it to a number like {getattr(cls, f.name)}"
                ) from None
        return cls(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """Return the environment variables that reproduce these settings."""
        return {f"HELPDESK_{k.upper()}": str(v) for k, v in dataclasses.asdict(self).items()}


@dataclass(frozen=True)
class FrontConfig:
    """Everything the front process needs: where things are, what is on, the tunables."""

    state_dir: Path
    dependency_urls: Mapping[str, str]
    disabled: frozenset[Mechanism] = frozenset()
    settings: FrontSettings = FrontSettings()

    def enabled(self, mechanism: Mechanism) -> bool:
        """True unless ``mechanism`` was disabled."""
        return mechanism not in self.disabled

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FrontConfig:
        """Build the front's configuration from the environment (see the module docstring)."""
        env = os.environ if env is None else env
        urls = {}
        for dep in DEPENDENCIES:
            key = f"HELPDESK_URL_{dep.upper()}"
            if key not in env:
                raise ConfigError(f"{key} is not set; give the base URL of the {dep} dependency")
            urls[dep] = env[key].rstrip("/")
        return cls(
            state_dir=Path(env.get("HELPDESK_STATE_DIR", ".helpdesk")),
            dependency_urls=urls,
            disabled=parse_mechanisms(env.get("HELPDESK_DISABLE", "")),
            settings=FrontSettings.from_env(env),
        )

    def to_env(self) -> dict[str, str]:
        """Return the environment variables that reproduce this configuration."""
        env = {
            "HELPDESK_STATE_DIR": str(self.state_dir),
            "HELPDESK_DISABLE": ",".join(sorted(m.value for m in self.disabled)),
            **self.settings.to_env(),
        }
        env.update({f"HELPDESK_URL_{d.upper()}": u for d, u in self.dependency_urls.items()})
        return env
