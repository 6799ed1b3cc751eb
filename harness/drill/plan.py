"""A drill made ready to run: everything resolved and validated before anything is touched.

Chaos Toolkit's rule: validate the whole experiment first. A :class:`DrillPlan`
has the scenario file found, every fault script resolved and expanded into
absolute fault windows (same-named faults on one proxy must not overlap), and
loopback rules checked. Building it has no side effect on the target or on
Toxiproxy, and it does not import the scenario (that imports Locust): the runner
and ``harness validate`` load its user classes.
"""

from __future__ import annotations

import ast
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
from harness.faults.model import FaultScript
from harness.faults.timeline import FaultWindow, expand
from harness.limits import MAX_FAULT_WINDOWS, over
from harness.validation import is_file, locate, read_yaml


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
    warnings: tuple[
        str, ...
    ] = ()  # worth a look, not wrong for sure (e.g. an unseen endpoint name)


def base_dir(drill_file: Path | None) -> Path:
    """What a drill's relative paths are relative to: its file's folder (the working
    directory for a drill built in Python, which has no file)."""
    return drill_file.resolve().parent if drill_file is not None else Path.cwd()


def search_dirs(drill_file: Path | None, folder: str) -> list[Path]:
    """Where a bare name (``customer_journeys``, ``nlu-outage``) is looked up: ``folder``
    next to the drill file, then beside the drill's folder (``drills/../faults``).

    Never the working directory (a drill means the same from anywhere) and never the
    harness's own project folders (a user's drill must not pick up the reference
    system's scenarios or fault scripts by accident).
    """
    base = base_dir(drill_file)
    unique: list[Path] = []
    for d in (base / folder, base.parent / folder):
        if d not in unique:
            unique.append(d)
    return unique


def is_path_ref(ref: str) -> bool:
    """A reference written as a path (has a slash or a file suffix) rather than a bare name."""
    return "/" in ref or "\\" in ref or Path(ref).suffix in (".py", ".yaml", ".yml", ".json")


def anchored(drill: Drill, base: Path) -> Drill:
    """``drill`` with its scenario and fault references made absolute against ``base``.

    For a drill built in Python and handed to another process as a file in some
    other folder (the pytest plugin): its references keep meaning what they meant
    where it was built. References that resolve to nothing are left as they are,
    so planning still reports them.
    """
    scenario = _anchor(drill.load.scenario, base, "scenarios", (".py",))
    phases = [
        phase.model_copy(
            update={"faults": [_anchor(f, base, "faults", (".yaml", ".yml")) for f in phase.faults]}
        )
        for phase in drill.phases
    ]
    load = drill.load.model_copy(update={"scenario": scenario})
    return drill.model_copy(update={"load": load, "phases": phases})


def _anchor(ref: str, base: Path, folder: str, suffixes: tuple[str, ...]) -> str:
    if is_path_ref(ref):
        path = Path(ref) if Path(ref).is_absolute() else base / ref
        return str(path.resolve()) if is_file(path) else ref
    for d in (base / folder, base.parent / folder):
        for candidate in (d / ref, *(d / f"{ref}{s}" for s in suffixes)):
            if is_file(candidate):
                return str(candidate.resolve())
    return ref


def ledger_dir() -> Path:
    """Where fault ledgers live (leftover detection across runs): $HARNESS_STATE_DIR or ~/.local/state."""
    base = os.environ.get("HARNESS_STATE_DIR")
    root = Path(base) if base else Path.home() / ".local" / "state" / "cs-harness"
    return root / "ledger"


def resolve_scenario(ref: str, *, search_dirs: list[Path], base: Path | None = None) -> Path:
    """The locustfile ``ref`` names: a path (relative to ``base``, the drill file's folder)
    or a bare name (with or without .py) in one of ``search_dirs``."""
    base = base or Path.cwd()
    if is_path_ref(ref):
        path = Path(ref) if Path(ref).is_absolute() else base / ref
        if is_file(path):
            return path.resolve()
        raise InputError(
            f"load.scenario {ref!r} not found at {path} (a relative path is relative to the "
            "drill file's folder); fix the path"
        )
    for folder in search_dirs:
        for candidate in (folder / ref, folder / f"{ref}.py"):
            if is_file(candidate):
                return candidate.resolve()
    looked = ", ".join(str(d) for d in search_dirs)
    raise InputError(
        f"load.scenario {ref!r} not found (looked in {looked}); "
        "give a locustfile path (relative to the drill file) or the name of a file in scenarios/"
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


def _all_checks(drill: Drill) -> list[tuple[tuple[object, ...], str, object]]:
    """Every check with where it sits in the file: (location, 'within' text, check)."""
    found: list[tuple[tuple[object, ...], str, object]] = [
        (("checks", j), "", check) for j, check in enumerate(drill.checks)
    ]
    if drill.capacity_search is not None:
        found += [
            (("capacity_search", "checks", j), "capacity_search > ", check)
            for j, check in enumerate(drill.capacity_search.checks)
        ]
    else:
        found += [
            (("phases", i, "checks", j), f"phase {phase.name!r} > ", check)
            for i, phase in enumerate(drill.phases)
            for j, check in enumerate(phase.checks)
        ]
    return found


def _checks_naming_absent_faults(
    drill: Drill, faults: list[PlannedFault], at: Callable[..., str]
) -> list[str]:
    """Checks whose ``fault:`` no phase runs: found now, not after a whole run."""
    known = {p.script for p in faults} | {p.window.fault.name for p in faults}
    listed = ", ".join(sorted(known)) or "none"
    return [
        f"{at(*loc, 'fault')}: {within}check {getattr(check, 'name', None) or check.type!r} "
        f"names fault {check.fault!r}, which no phase runs (faults: {listed}) - fix 'fault:' "
        "or add the fault to a phase"
        for loc, within, check in _all_checks(drill)
        if getattr(check, "fault", None) and check.fault not in known
    ]


_ENDPOINT_FIELDS = ("endpoints", "core_endpoints", "noncore_endpoints")


def _repeated_write_endpoints(drill: Drill, at: Callable[..., str]) -> list[str]:
    """Two ``writes`` rules for one endpoint: only one could apply, so both are refused."""
    first: dict[str, int] = {}
    problems = []
    for index, rule in enumerate(drill.writes):
        if rule.endpoint in first:
            problems.append(
                f"{at('writes', index, 'endpoint')}: writes[{index}] > endpoint: "
                f"{rule.endpoint!r} already has a rule (writes[{first[rule.endpoint]}]); a write "
                "is recognised by one rule - merge them or remove one"
            )
        first.setdefault(rule.endpoint, index)
    return problems


def _unset_variables(drill: Drill, at: Callable[..., str]) -> list[str]:
    """Environment variables named by read-back headers (``${NAME}``) that are unset or empty."""
    problems = []
    for index, rule in enumerate(drill.writes):
        for header, names in rule.env_references().items():
            for name in names:
                if not os.environ.get(name):
                    problems.append(
                        f"{at('writes', index, 'read_headers', header)}: writes[{index}] > "
                        f"read_headers > {header}: environment variable {name} is not set "
                        f"(or empty), so the read-back would go without it; set it "
                        f"(export {name}=...) before running"
                    )
    return problems


def _unset_fault_variables(script: FaultScript, where: str, phase: str) -> list[str]:
    """``${NAME}`` in process targets and commands whose variable is unset or empty."""
    return [
        f"{where}: phase {phase!r}: {script.where(fault.name)}: fault '{fault.name}' uses "
        f"${{{name}}} but environment variable {name} is not set (or empty) - export "
        f"{name}=... before running"
        for fault in script.faults
        for name in fault.env_references()
        if not os.environ.get(name)
    ]


def _endpoints_not_in_scenario(drill: Drill, scenario: Path, at: Callable[..., str]) -> list[str]:
    """Endpoint names that appear nowhere in the scenario's source, as warnings.

    Locust names a request by its ``name=`` or its URL path; a name the drill uses
    that is no string in the scenario is most likely a typo (it would only show
    as 'no data' after a whole run). Names built at run time (f-strings) match by
    their constant prefix; anything else may still be right, hence a warning.
    """
    literals, prefixes = scenario_strings(scenario)

    def known(name: str) -> bool:
        return name in literals or any(p and name.startswith(p) for p in prefixes)

    named: list[tuple[tuple[object, ...], str]] = []
    for loc, _within, check in _all_checks(drill):
        for field in _ENDPOINT_FIELDS:
            for k, name in enumerate(getattr(check, field, None) or []):
                named.append(((*loc, field, k), name))
    named += [(("writes", i, "endpoint"), rule.endpoint) for i, rule in enumerate(drill.writes)]
    return [
        f"{at(*loc)}: endpoint {name!r} appears nowhere in {scenario.name} (as a request "
        "name= or URL path); a typo only shows as 'no data' after a run - check the name"
        for loc, name in named
        if not known(name)
    ]


def scenario_strings(scenario: Path) -> tuple[set[str], set[str]]:
    """String constants in a locustfile, and the constant prefixes of its f-strings."""
    try:
        tree = ast.parse(scenario.read_text(encoding="utf-8"), filename=str(scenario))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return set(), set()
    literals: set[str] = set()
    prefixes: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                prefixes.add(first.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            literals.add(node.value)
    return literals, prefixes


def reference_problems(data: object, drill_file: Path, node: yaml.Node | None) -> list[str]:
    """Scenario and fault-script references of a drill file that failed schema validation.

    So one ``harness validate`` lists every problem: a schema error no longer hides a
    misspelt fault name. Reads the raw YAML data; anything not shaped as expected is
    left to the schema errors.
    """
    if not isinstance(data, dict):
        return []
    source = str(drill_file)

    def at(*loc: object) -> str:
        return locate(node, list(loc), source)

    problems: list[str] = []
    load = data.get("load")
    ref = load.get("scenario") if isinstance(load, dict) else None
    if isinstance(ref, str):
        try:
            resolve_scenario(
                ref, search_dirs=search_dirs(drill_file, "scenarios"), base=base_dir(drill_file)
            )
        except InputError as exc:
            problems.append(f"{at('load', 'scenario')}: {exc}")
    phases = data.get("phases")
    for i, phase in enumerate(phases if isinstance(phases, list) else []):
        refs = phase.get("faults") if isinstance(phase, dict) else None
        for k, fault in enumerate(refs if isinstance(refs, list) else []):
            if not isinstance(fault, str):
                continue
            try:
                resolve_fault_script(
                    fault, search_dirs=search_dirs(drill_file, "faults"), base=base_dir(drill_file)
                )
            except ValidationFailed as exc:
                problems += [
                    f"{at('phases', i, 'faults', k)}: fault script {fault!r}: {p}"
                    for p in exc.problems
                ]
            except InputError as exc:
                problems.append(f"{at('phases', i, 'faults', k)}: {exc}")
    return problems


def plan_drill(
    drill: Drill,
    *,
    drill_file: Path | None = None,
    allow_remote: bool = False,
) -> DrillPlan:
    """Resolve and check everything the drill refers to; raise InputError naming what is wrong."""
    source = str(drill_file) if drill_file else f"drill {drill.name!r}"
    node = _node_tree(drill_file)

    def at(*loc: object) -> str:
        return locate(node, list(loc), source)

    def loopback(address: str, what: str, *loc: object) -> list[str]:
        try:
            require_loopback(
                address, what=what, allow_hosts=drill.target.allow_hosts, allow_remote=allow_remote
            )
        except InputError as exc:
            return [f"{at(*loc)}: {exc}"]
        except ValueError as exc:  # urlsplit: "[::1" and the like
            return [f"{at(*loc)}: {what} {address!r} is not a valid address ({exc}); fix it"]
        return []

    problems = loopback(drill.target.url, "target", "target", "url")
    if drill.toxiproxy.url != EMBEDDED:
        problems += loopback(drill.toxiproxy.url, "Toxiproxy", "toxiproxy", "url")
    for index, proxy in enumerate(drill.proxies):
        for field in ("upstream", "listen"):
            address = getattr(proxy, field)
            if address is not None:
                problems += loopback(
                    address, f"proxy {proxy.name!r} {field}", "proxies", index, field
                )
    if not drill.checks and not any(p.checks for p in drill.phases):
        problems.append(
            f"{at('phases')}: the drill has no checks, so it could never fail; "
            "add checks to a phase or 'checks:'"
        )
    try:
        scenario = resolve_scenario(
            drill.load.scenario,
            search_dirs=search_dirs(drill_file, "scenarios"),
            base=base_dir(drill_file),
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
                script = resolve_fault_script(
                    ref, search_dirs=fault_dirs, base=base_dir(drill_file)
                )
            except ValidationFailed as exc:
                problems += [
                    f"{where}: phase {name!r}: fault script {ref!r}: {p}" for p in exc.problems
                ]
                continue
            except InputError as exc:
                problems.append(f"{where}: phase {name!r}: {exc}")
                continue
            try:
                windows = expand(script, start_s, end_s)
            except InputError as exc:
                problems.append(f"{where}: phase {name!r}: fault script {ref!r}: {exc}")
                continue
            faults += [PlannedFault(script.name, w) for w in windows]
            origins += [(name, where)] * len(windows)
            problems += _unset_fault_variables(script, where, name)
    if len(faults) > MAX_FAULT_WINDOWS:
        problems.append(
            f"{at('phases')}: the phases' fault scripts make {len(faults)} fault windows, "
            f"{over('MAX_FAULT_WINDOWS', MAX_FAULT_WINDOWS)} - use fewer or slower flapping faults"
        )
    else:  # too many to compare pairwise otherwise; that drill is refused anyway
        problems += _name_clashes(faults, origins)
    problems += _closed_model_corrected(drill, at)
    problems += _checks_naming_absent_faults(drill, faults, at)
    problems += _unset_variables(drill, at)
    problems += _repeated_write_endpoints(drill, at)
    if problems:
        raise ValidationFailed(source, problems)
    warnings = _endpoints_not_in_scenario(drill, scenario, at)
    return DrillPlan(
        drill=drill,
        drill_file=drill_file,
        scenario_path=scenario,
        faults=sorted(faults, key=lambda f: f.window.start_s),
        toxiproxy_url=drill.toxiproxy.url,
        allow_remote=allow_remote,
        warnings=tuple(warnings),
    )
