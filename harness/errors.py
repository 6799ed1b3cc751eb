"""The harness's exception tree.

Every error a user can cause or meet is one of these; errors from third-party
libraries are translated at the boundary (``raise HarnessError(...) from exc``)
so that callers never see another library's types.

    HarnessError                  base: anything the harness raises on purpose
    ├── InputError                bad input: a drill, fault or scenario file, a flag  (exit 2)
    │   └── ValidationFailed      a file failed validation; carries every problem found
    ├── InfrastructureError       the harness's own infrastructure failed        (exit 3)
    │   ├── ToxiproxyError        a Toxiproxy server refused or could not be reached
    │   │   ├── ProxyNotFound
    │   │   ├── ProxyConflict     a proxy exists but points elsewhere than the drill says
    │   │   ├── ToxicNotFound
    │   │   └── ToxicAlreadyExists
    │   ├── TargetUnreachable     the system under test did not answer
    │   ├── ResultsWriteError     the run's results could not be written (disk full, read-only)
    │   └── FaultActionError      a process or command fault could not be applied or reverted
    └── AbortRequested            an abort condition or a signal stopped a drill (exit 4)

An SLA breach is never an exception: it is a failed check in the results.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class InputError(HarnessError):
    """The user gave the harness something it cannot use (a file, a field, a flag)."""


class ValidationFailed(InputError):
    """A file failed validation; ``problems`` lists every problem, one sentence each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s):\n{listing}")


class InfrastructureError(HarnessError):
    """The harness's own infrastructure (Toxiproxy, the target, the disk) failed."""


class ToxiproxyError(InfrastructureError):
    """A Toxiproxy server refused a request or could not be reached."""


class ProxyNotFound(ToxiproxyError):
    """A proxy named in a drill or fault does not exist on the Toxiproxy server."""


class ProxyConflict(ToxiproxyError):
    """A proxy the drill declares exists with another upstream or listen address; never re-pointed."""


class ToxicNotFound(ToxiproxyError):
    """A toxic the harness expected on a proxy is not there."""


class TargetUnreachable(InfrastructureError):
    """The system under test did not answer its health endpoint."""


class ResultsWriteError(InfrastructureError):
    """The run's result files could not be written (disk full or read-only, a size limit)."""


class FaultActionError(InfrastructureError):
    """A process or command fault could not be applied or reverted (no such process, a
    command that failed or ran out of time)."""


class AbortRequested(HarnessError):
    """A drill was stopped early by an abort condition or a signal."""


class ToxicAlreadyExists(ToxiproxyError):
    """A toxic with the same name is already on the proxy (Toxiproxy answered 409)."""
