"""A drill made ready to run: everything resolved and validated before anything is touched.

Chaos Toolkit's rule: validate the whole experiment first. A :class:`DrillPlan`
has the scenario file found, every fault script resolved and expanded into
absolute fault windows (same-named faults on one proxy must not overlap), and
loopback rules checked. Building it has no side effect on the target or on
Toxiproxy, and it does not import the scenario (that imports Locust): the runner
and ``harness validate`` load its user classes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.checks import LatencyCheck
from harness.drill.model import EMBEDDED, Drill, LoadModel
from harness.drill.target import require_loopback
from harness.errors import InputError, ValidationFailed
from harness.faults.loader import resolve_fault_script
from harness.faults.timeline import FaultWindow, expand
from harness.validation import locate, read_yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PlannedFault:
    """A fault window and the script it came from."""

    script: str
    window: FaultWindow


@dataclass(frozen=True)
class DrillPlan:
    drill: Drill
    drill_file: Path | None
    scenario_path: Path
    faults: list[PlannedFault]
    toxiproxy_url: str  # EMBEDDED or a URL
    allow_remote: bool = False  # --allow-remote: non-loopback target/Toxiproxy allowed


def search_dirs(drill_file: Path | None, folder: str) -> list[Path]:
    """Where to look for scenarios/ or faults/: next to the drill, the working dir, the project."""
    dirs = []
    if drill_file is not None:
        dirs += [drill_file.parent / folder, drill_file.parent.parent / folder]
    dirs += [Path.cwd() / folder, PROJECT_DIR / folder]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def ledger_dir() -> Path:
    """Where fault ledgers live (leftover detection across runs): $HARNESS_STATE_DIR or ~/.local/state."""
    base = os.environ.get("HARNESS_STATE_DIR")
    root = Path(base) if base else Path.home() / ".local" / "state" / "cs-harness"
    return root / "ledger"


def resolve_scenario(ref: str, *, search_dirs: list[Path]) -> Path:
    """The locustfile ``ref`` names: a path, or a name (with or without .py) in a search dir."""
    candidates = [Path(ref)]
    for folder in search_dirs:
        candidates += [folder / ref, folder / f"{ref}.py"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(d) for d in search_dirs)
    raise InputError(
        f"load.scenario {ref!r} not found (looked for it as a path and in {looked}); "
        "give a locustfile path or the name of a file in scenarios/"
    )


def _node_tree(drill_file: Path | None) -> yaml.Node | None:
    """The drill file's YAML nodes, for line numbers; None when there is no readable file."""
    if drill_file is None:
        return None
    try:
        return read_yaml(drill_file)[1]
    except ValidationFailed:
        return None


def _name_clashes(faults: list[PlannedFault], origins: list[tuple[str, str]]) -> list[str]:
    """Windows of faults with one name on one proxy that overlap, across all scripts.

    Their toxics would get the same name (``harness.<run>.<fault>``), so the
    injector could not apply the second one mid-drill; refuse them up front.
    """
    groups: dict[tuple[str, str], list[tuple[PlannedFault, str, str]]] = {}
    for planned, (phase, where) in zip(faults, origins, strict=True):
        fault = planned.window.fault
        groups.setdefault((fault.proxy, fault.name), []).append((planned, phase, where))
    problems: list[str] = []
    seen: set[tuple[str, str, str, str]] = set()
    for members in groups.values():
        members.sort(key=lambda m: m[0].window.start_s)
        open_: list[tuple[PlannedFault, str, str]] = []  # started, not yet ended
        for b, phase_b, where in members:
            open_ = [m for m in open_ if m[0].window.end_s > b.window.start_s]
            for a, phase_a, _ in open_:
                key = (a.script, phase_a, b.script, phase_b)
                if key in seen:  # one sentence per pair of script uses, not per flap
                    continue
                seen.add(key)
                fault = b.window.fault
                problems.append(
                    f"{where}: fault '{fault.name}' on proxy '{fault.proxy}' of script "
                    f"'{a.script}' (phase {phase_a!r}, {a.window.start_s:g}-"
                    f"{a.window.end_s:g} s) and of script '{b.script}' (phase {phase_b!r}, "
                    f"{b.window.start_s:g}-{b.window.end_s:g} s) would be active at once, "
                    "but two toxics on one proxy cannot have the same name "
                    "(harness.<run>.<fault>) - rename one of them or move their windows apart"
                )
            open_.append((b, phase_b, where))
    return problems


def _closed_model_corrected(drill: Drill, at: Callable[..., str]) -> list[str]:
    """Latency checks asking for ``corrected: true`` in a closed-model drill, refused.

    Only the open model knows when each request should have started; in a closed
    model the corrected histogram is the raw one, so the check would be judged on
    uncorrected latencies while claiming otherwise.
    """
    if drill.load.model is not LoadModel.CLOSED:
        return []
    places: list[tuple[tuple[object, ...], str, list]] = [(("checks",), "", list(drill.checks))]
    if drill.capacity_search is not None:  # its step phases hold copies of these
        places.append(
            (("capacity_search", "checks"), "capacity_search > ", drill.capacity_search.checks)
        )
    else:
        places += [
            (("phases", i, "checks"), f"phase {phase.name!r} > ", phase.checks)
            for i, phase in enumerate(drill.phases)
        ]
    return [
        f"{at(*loc, j, 'corrected')}: {within}"
        + (f"check {check.name!r}" if check.name else f"checks[{j}]")
        + " > corrected: true needs load.model 'open'; a closed-model drill's latency is not "
        "corrected for coordinated omission (each user waits for its answer, so no request has "
        "an intended start to measure from) and the check would be judged on raw latencies - "
        "use load.model: open, or remove 'corrected'"
        for loc, within, checks in places
        for j, check in enumerate(checks)
        if isinstance(check, LatencyCheck) and check.corrected
    ]


def plan_drill(
    drill: Drill,
    *,
    drill_file: Path | None = None,
    allow_remote: bool = False,
) -> DrillPlan:
    """Resolve and check everything the drill refers to; raise InputError naming what is wrong."""
    source = str(drill_file) if drill_file else f"drill {drill.name!r}"
    require_loopback(
        drill.target.url,
        what="target",
        allow_hosts=drill.target.allow_hosts,
        allow_remote=allow_remote,
    )
    if drill.toxiproxy.url != EMBEDDED:
        require_loopback(
            drill.toxiproxy.url,
            what="Toxiproxy",
            allow_hosts=drill.target.allow_hosts,
            allow_remote=allow_remote,
        )
    node = _node_tree(drill_file)

    def at(*loc: object) -> str:
        return locate(node, list(loc), source)

    problems: list[str] = []
    if not drill.checks and not any(p.checks for p in drill.phases):
        problems.append(
            f"{at('phases')}: the drill has no checks, so it could never fail; "
            "add checks to a phase or 'checks:'"
        )
    try:
        scenario = resolve_scenario(
            drill.load.scenario, search_dirs=search_dirs(drill_file, "scenarios")
        )
    except InputError as exc:
        problems.append(f"{at('load', 'scenario')}: {exc}")
    faults: list[PlannedFault] = []
    origins: list[tuple[str, str]] = []  # per planned fault: (phase, where in the drill file)
    fault_dirs = search_dirs(drill_file, "faults")
    for index, (name, start_s, end_s) in enumerate(drill.phase_windows()):
        phase = drill.phases[index]
        for ref_index, ref in enumerate(phase.faults):
            where = at("phases", index, "faults", ref_index)
            try:
                script = resolve_fault_script(ref, search_dirs=fault_dirs)
            except ValidationFailed as exc:
                problems += [
                    f"{where}: phase {name!r}: fault script {ref!r}: {p}" for p in exc.problems
                ]
                continue
            except InputError as exc:
                problems.append(f"{where}: phase {name!r}: {exc}")
                continue
            windows = expand(script, start_s, end_s)
            faults += [PlannedFault(script.name, w) for w in windows]
            origins += [(name, where)] * len(windows)
    problems += _name_clashes(faults, origins)
    problems += _closed_model_corrected(drill, at)
    if problems:
        raise ValidationFailed(source, problems)
    return DrillPlan(
        drill=drill,
        drill_file=drill_file,
        scenario_path=scenario,
        faults=sorted(faults, key=lambda f: f.window.start_s),
        toxiproxy_url=drill.toxiproxy.url,
        allow_remote=allow_remote,
    )
