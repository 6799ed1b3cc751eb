"""SLA checks: a registry of check types with one contract (config + ``evaluate(ctx)``)."""

from harness.checks.base import CheckBase, CheckContext
from harness.checks.probe import ProbeCheck
from harness.checks.protection import CoreProtectedCheck
from harness.checks.registry import REGISTRY, check_spec, evaluate_all, parse_checks, register
from harness.checks.resilience import FailoverTimeCheck, LostWritesCheck, RecoveryTimeCheck
from harness.checks.timing import (
    Baseline,
    TimingParams,
    baseline_of,
    failover_s,
    recovery_s,
    resilience_timings,
)
from harness.checks.traffic import (
    AvailabilityCheck,
    ErrorRateCheck,
    FallbackRatioCheck,
    LatencyCheck,
    ShedRatioCheck,
    ThroughputCheck,
)

__all__ = [
    "REGISTRY",
    "AvailabilityCheck",
    "Baseline",
    "CheckBase",
    "CheckContext",
    "CoreProtectedCheck",
    "ErrorRateCheck",
    "FailoverTimeCheck",
    "FallbackRatioCheck",
    "LatencyCheck",
    "LostWritesCheck",
    "ProbeCheck",
    "RecoveryTimeCheck",
    "ShedRatioCheck",
    "ThroughputCheck",
    "TimingParams",
    "baseline_of",
    "check_spec",
    "evaluate_all",
    "failover_s",
    "parse_checks",
    "recovery_s",
    "register",
    "resilience_timings",
]
