"""Hostile drill and fault files: refused with file:line, never a crash, a hang or a side effect.

Hypothesis mutates a valid drill and a valid fault script (wrong types, huge, tiny,
negative, NaN and infinite numbers, duplicate keys, deep nesting, alias bombs,
unicode and bytes that are not UTF-8, long names, missing and extra fields,
truncation) and runs each through the loader and the planner in-process, as
``harness validate`` and ``harness run`` do before they touch anything. Every case
must either plan or raise :class:`InputError` whose every sentence starts with the
file and a line; within a time and memory guard (against hangs and blow-ups, not a
speed target); with no network call and no file written. docs/hardening.md lists
the guarantees and the tests behind them.
"""

from __future__ import annotations

import copy
import re
import resource
import shutil
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from harness.drill.loader import load_drill  # noqa: E402
from harness.drill.plan import plan_drill  # noqa: E402
from harness.errors import InputError, ValidationFailed  # noqa: E402
from harness.faults.loader import load_fault_script  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
DRILL_CASES = 700
FAULT_CASES = 400  # together above 1,000 hostile files a run
CASE_LIMIT_S = 10  # a guard against hangs (one case takes milliseconds), not a speed target
MEMORY_LIMIT_MB = 400  # growth of the process's peak memory over the whole test

BASE_DRILL: dict[str, Any] = {
    "name": "hostile",
    "description": "a valid drill that hypothesis mutates",
    "target": {"url": "http://127.0.0.1:8080", "health_path": "/healthz"},
    "toxiproxy": {"url": "http://127.0.0.1:8474"},
    "proxies": [{"name": "helpdesk_orders_primary"}],
    "load": {
        "scenario": "customer_journeys",
        "model": "open",
        "shape": {"type": "surge", "base": 5, "factor": 2, "at_s": 1, "rise_s": 1,
                  "hold_s": 1, "decay_s": 1},
        "max_concurrency": 20,
        "workers": 0,
    },
    "outcomes": {"markers": [{"outcome": "fallback", "header": "X-Mode", "value": "fallback"}]},
    "bucket_s": 0.25,
    "phases": [
        {"name": "baseline", "duration_s": 2,
         "checks": [{"type": "latency", "percentile": 95, "max_ms": 3000}]},
        {"name": "outage", "duration_s": 4, "faults": ["hostile"],
         "checks": [{"name": "available", "type": "availability", "min_ratio": 0.9,
                     "endpoints": ["orders"], "window_s": 1}],
         "abort": [{"metric": "error_ratio", "above": 0.9, "for_s": 2}]},
    ],
    "checks": [{"type": "failover_time", "fault": "hostile", "max_s": 2}],
    "abort": [{"metric": "p95_ms", "above": 5000, "for_s": 3}],
}
BASE_FAULT: dict[str, Any] = {
    "name": "hostile",
    "description": "a valid fault script that hypothesis mutates",
    "faults": [
        {"name": "slow", "proxy": "helpdesk_orders_primary", "type": "latency",
         "latency_ms": 200, "jitter_ms": 10, "duration_s": 2},
        {"name": "flap", "proxy": "helpdesk_orders_replica", "type": "down", "start_s": 1,
         "flapping": {"on_s": 0.5, "off_s": 0.5}},
    ],
}

# -- hostile values and mutations -------------------------------------------------------

NUMBERS = st.sampled_from(
    [0, -1, -1000, 1e-9, 1e-300, 5e-324, 1e308, -1e308, 10**30, 2**63, 1e9 + 1,
     float("nan"), float("inf"), float("-inf"), 0.1, 86_401, 100_001, 3.0000001]
) | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**40), 10**40)
TEXTS = st.sampled_from(
    ["", " ", "a" * 300, "ä" * 300, "\u202e\u0000x", "~", "null", "yes", "on", "1e308",
     "inf", "nan", ".inf", "-.nan", "../../etc/passwd", "/dev/zero", "a/b" * 200,
     "${HOME}", "%s%n", "\ud7ff\ue000", "x" * 100_000]
) | st.text(max_size=40)
LEAVES = NUMBERS | TEXTS | st.booleans() | st.none()
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _paths(node: Any, at: tuple = ()) -> Iterator[tuple]:
    """Every location in a plain YAML tree."""
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*at, index))


def _parent(tree: Any, path: tuple) -> Any:
    for part in path[:-1]:
        tree = tree[part]
    return tree


@st.composite
def mutated_tree(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """``base`` with one to three values replaced, removed or added."""
    tree = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(tree))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add"]))
        if not path:
            tree = draw(VALUES) if action == "replace" else tree
            continue
        parent = _parent(tree, path)
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "remove":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(VALUES)
        else:
            parent.append(draw(VALUES))
        if not isinstance(tree, dict | list):
            break
    return tree


def _yaml(tree: Any) -> str:
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=10_000)


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@st.composite
def text_attack(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """Hostile YAML text around ``base``: what a plain data structure cannot express."""
    text = _yaml(base)
    lines = text.splitlines()
    kind = draw(st.sampled_from(
        ["duplicate", "deep", "bomb", "recursive", "bytes", "truncate", "control", "alias",
         "huge_int", "bad_date", "tags", "mixed"]))
    if kind == "duplicate":  # a key given twice, in place: the second would win silently
        i = draw(st.sampled_from([n for n, line in enumerate(lines) if ":" in line]))
        lines.insert(i + 1, lines[i].split(":")[0] + ": 999999")
        return "\n".join(lines).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([33, 100, 10_000, 50_000]))
        bracket = draw(st.sampled_from(["[", "{a: "]))
        close = "]" if bracket == "[" else "}"
        return (text + f"description: {bracket * depth}1{close * depth}\n").encode()
    if kind == "bomb":
        return (_bomb(draw(st.integers(3, 12))) + text).encode()
    if kind == "recursive":
        return (text + "extra: &r [1, *r]\n").encode()
    if kind == "bytes":
        raw = bytearray(text.encode())
        at = draw(st.integers(0, len(raw) - 1))
        raw[at:at] = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xfe\xff", b"\x80"]))
        return bytes(raw)
    if kind == "truncate":
        raw = text.encode()
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "control":
        i = draw(st.integers(0, len(text)))
        return (text[:i] + draw(st.sampled_from(["\x00", "\x07", "\ufffe", "\x1b[2J"])) + text[i:]).encode()
    if kind == "alias":  # an alias standing in for a whole section
        return (text.replace("phases:", "phases: &p", 1) + "checks: *p\n").encode()
    if kind == "huge_int":
        return (text + "bucket_s: " + "9" * draw(st.sampled_from([20, 5000, 100_000])) + "\n").encode()
    if kind == "bad_date":
        return (text + "description: 2001-13-45\n").encode()
    if kind == "tags":
        tag = draw(st.sampled_from(["!!python/object:os.system", "!!binary", "!!set", "!!omap",
                                    "!custom", "!!float", "!!int"]))
        return (text + f"description: {tag} x\n").encode()
    return "\n".join(lines[: len(lines) // 2] + ["  - [", "}: ", "\t- x"]).encode()


def hostile(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return mutated_tree(base).map(lambda tree: _yaml(tree).encode()) | text_attack(base)


# -- the sandbox and the guards ---------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """drills/, faults/ and scenarios/ with the valid files the cases start from."""
    root = tmp_path_factory.mktemp("hostile")
    for folder in ("drills", "faults", "scenarios"):
        (root / folder).mkdir()
    shutil.copy(REPO / "scenarios" / "customer_journeys.py", root / "scenarios")
    (root / "drills" / "hostile.yaml").write_text(_yaml(BASE_DRILL), encoding="utf-8")
    (root / "faults" / "hostile.yaml").write_text(_yaml(BASE_FAULT), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def guards() -> Iterator[dict[str, int]]:
    """No network for the whole test; a SIGALRM per case turns a hang into a failure."""
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a hostile file made the harness use the network")

    saved = (socket.socket.connect, socket.getaddrinfo, signal.getsignal(signal.SIGALRM))
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    signal.signal(signal.SIGALRM, _hung)
    try:
        yield {"rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    finally:
        socket.socket.connect, socket.getaddrinfo = saved[0], saved[1]  # type: ignore[method-assign]
        signal.signal(signal.SIGALRM, saved[2])


def _hung(_signum: int, _frame: Any) -> None:
    raise TimeoutError(f"one case ran past {CASE_LIMIT_S} s")


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def assert_refused_well(run: Any, files: list[Path], sandbox: Path, guards: dict[str, int]) -> None:
    """``run()`` plans or raises InputError whose every sentence names one of ``files`` and a
    line; no other exception, no traceback, no hang, no memory blow-up, no file written."""
    before = _listing(sandbox)
    signal.setitimer(signal.ITIMER_REAL, CASE_LIMIT_S)
    try:
        run()
        sentences: list[str] = []
    except ValidationFailed as exc:
        sentences = exc.problems
        assert sentences, str(exc)
    except InputError as exc:
        sentences = [str(exc)]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    event("refused" if sentences else "accepted")  # --hypothesis-show-statistics
    where = re.compile("^(" + "|".join(re.escape(str(f)) for f in files) + r"):\d+: \S")
    for sentence in sentences:
        assert where.match(sentence), f"no file:line in: {sentence[:300]}"
        assert "Traceback" not in sentence
    assert _listing(sandbox) == before, "a hostile file made the harness write a file"
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - guards["rss_kb"]) / 1024
    assert grown_mb < MEMORY_LIMIT_MB, f"peak memory grew by {grown_mb:.0f} MB"


def _plan(path: Path) -> None:
    plan_drill(load_drill(path), drill_file=path)


SETTINGS = dict(
    deadline=None,
    derandomize=True,  # the same cases on every run and in CI
    database=None,
    suppress_health_check=list(HealthCheck),
)


@settings(max_examples=DRILL_CASES, **SETTINGS)
@given(content=hostile(BASE_DRILL))
def test_hostile_drill_files_are_refused_with_file_and_line(
    content: bytes, sandbox: Path, guards: dict[str, int]
) -> None:
    """A mutated drill file plans, or is refused with file:line in every sentence; never a
    crash, a hang, a memory blow-up, a network call or a file written."""
    path = sandbox / "drills" / "case.yaml"
    path.write_bytes(content)
    try:
        assert_refused_well(lambda: _plan(path), [path], sandbox, guards)
    finally:
        path.unlink()


@settings(max_examples=FAULT_CASES, **SETTINGS)
@given(content=hostile(BASE_FAULT))
def test_hostile_fault_files_are_refused_with_file_and_line(
    content: bytes, sandbox: Path, guards: dict[str, int]
) -> None:
    """A mutated fault script loads, or is refused with its file:line, alone and through the
    drill that runs it (then the drill's file:line comes first)."""
    drill = sandbox / "drills" / "hostile.yaml"
    path = sandbox / "faults" / "hostile.yaml"
    original = path.read_bytes()
    path.write_bytes(content)
    try:
        assert_refused_well(lambda: load_fault_script(path), [path], sandbox, guards)
        assert_refused_well(lambda: _plan(drill), [drill], sandbox, guards)
    finally:
        path.write_bytes(original)


def test_the_unmutated_files_plan(sandbox: Path) -> None:
    """The files the mutations start from are valid, so each refusal is the mutation's doing."""
    plan = plan_drill(load_drill(sandbox / "drills" / "hostile.yaml"),
                      drill_file=sandbox / "drills" / "hostile.yaml")
    assert [f.window.fault.name for f in plan.faults][:2] == ["slow", "flap"]
