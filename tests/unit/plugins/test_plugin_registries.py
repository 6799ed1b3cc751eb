"""Plugins by entry point: read lazily, validated by their registry, a broken one named.

Each test writes a tiny distribution (a module and a ``*.dist-info`` folder with
``entry_points.txt``) into a temporary folder on ``sys.path``, so discovery goes
through importlib.metadata exactly as for an installed plugin, and loads it into a
fresh registry holding the built-ins (the process-wide registries stay as they are).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.checks import REGISTRY
from harness.checks import registry as checks_registry
from harness.faults import registry as faults_registry
from harness.load import shapes
from harness.plugins import DISABLE_ENV, GROUPS, PluginError, Registry
from harness.report import formats

REPO = Path(__file__).resolve().parents[3]

CHECK_HEAD = """\
from typing import ClassVar, Literal
from harness.checks.base import Bound, WindowedCheck
"""


def fresh(what: str) -> Registry:
    """A registry like the process-wide one ``what``, with the built-ins and no plugins read."""
    validate, builtin = {
        "checks": (checks_registry._validate, REGISTRY.builtin()),
        "load shapes": (shapes._validate, shapes.SHAPES.builtin()),
        "report formats": (formats._validate, formats.FORMATS.builtin()),
        "fault types": (faults_registry._validate, faults_registry.FAULT_TYPES.builtin()),
    }[what]
    registry = Registry(what, validate)
    for entry in builtin.values():
        registry.add(entry)
    return registry


def install(root: Path, module: str, source: str, entry: str, group: str) -> None:
    """Write distribution ``<module>-plugin 0.3`` with ``entry`` (``name = module:attr``) in ``group``."""
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{module}_plugin-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module}-plugin\nVersion: 0.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for fake distributions; their modules are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("plug_"):
            del sys.modules[name]


def test_import_reads_no_entry_points_until_a_registry_is_read() -> None:
    """Importing harness and the registries reads no plugins; the drill model's unions do."""
    code = (
        "import harness, harness.checks, harness.faults, harness.report, harness.load.shapes\n"
        "from harness.checks import REGISTRY\n"
        "from harness.faults import FAULT_TYPES\n"
        "from harness.report import FORMATS\n"
        "from harness.load.shapes import SHAPES\n"
        "regs = (REGISTRY, SHAPES, FORMATS, FAULT_TYPES)\n"
        "print(*[r._state for r in regs])\n"
        "import harness.drill.model\n"
        "print(*[r._state for r in regs])\n"
        "print('apdex' in REGISTRY, 'sawtooth' in SHAPES, 'csv' in FORMATS)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
        check=True,
    ).stdout.splitlines()
    assert out == ["new new new new", "loaded loaded new new", "True True True"]


def test_example_plugin_entries_are_registered_and_named() -> None:
    """The example plugin's check, shape and format are in the registries, with their origin."""
    assert REGISTRY.plugin_names() == ["apdex"]
    assert shapes.SHAPES.plugin_names() == ["sawtooth"]
    assert formats.FORMATS.plugin_names() == ["csv"]
    assert REGISTRY.origin("apdex") == (
        "plugin harness-plugin-example 0.1.0 (entry point "
        "'apdex = harness_plugin_example.apdex:ApdexCheck' in cs_harness.checks)"
    )
    assert REGISTRY.origin("latency") == "the harness"


def test_a_valid_plugin_check_joins_the_registry(site: Path) -> None:
    """A well-formed check from a distribution is registered under its type."""
    install(site, "plug_ok", CHECK_HEAD + """
class Always(WindowedCheck):
    type: Literal["always"] = "always"
    unit: ClassVar[str] = "count"
    example: ClassVar[dict] = {"window_s": 1}
    def bounds(self): return [Bound(">=", 0)]
    def value(self, ctx, b0, b1): return 1.0
""", "always = plug_ok:Always", GROUPS["checks"])
    registry = fresh("checks")
    assert registry["always"].__name__ == "Always"
    assert registry.origin("always").startswith("plugin plug_ok-plugin 0.3 (entry point")


BROKEN = [
    pytest.param(
        "checks", CHECK_HEAD + "class Latency(WindowedCheck):\n"
        "    type: Literal['latency'] = 'latency'\n    unit: ClassVar[str] = 'ms'\n"
        "    example: ClassVar[dict] = {}\n"
        "    def bounds(self): return []\n",
        "latency = plug_dup:Latency",
        "checks: check Latency: needs a ClassVar `example`",
        id="check-without-example",
    ),
    pytest.param(
        "checks", CHECK_HEAD + "class Latency(WindowedCheck):\n"
        "    type: Literal['latency'] = 'latency'\n    unit: ClassVar[str] = 'ms'\n"
        "    example: ClassVar[dict] = {'window_s': 1}\n"
        "    def bounds(self): return []\n",
        "latency = plug_dup:Latency",
        "checks: 'latency' is already registered by the harness; pick another name",
        id="duplicate-check-type",
    ),
    pytest.param(
        "checks", "class NotACheck:\n    pass\n", "nope = plug_dup:NotACheck",
        "is not a subclass of harness.checks.CheckBase",
        id="not-a-check",
    ),
    pytest.param(
        "checks", CHECK_HEAD + "class Odd(WindowedCheck):\n"
        "    type: Literal['odd'] = 'odd'\n    unit: ClassVar[str] = 'ms'\n"
        "    example: ClassVar[dict] = {'window_s': -1}\n",
        "odd = plug_dup:Odd",
        "check Odd: its `example` does not validate (window_s: Input should be greater than 0)",
        id="example-does-not-validate",
    ),
    pytest.param(
        "checks", "import no_such_module_here\n", "x = plug_dup:X",
        "cannot be loaded (ModuleNotFoundError: No module named 'no_such_module_here')",
        id="import-fails",
    ),
    pytest.param(
        "load shapes", "from typing import Literal\nfrom harness.load.shapes import Shape\n"
        "class Flat(Shape):\n    type: Literal['flat']\n",
        "flat = plug_dup:Flat",
        "load shapes: shape Flat: does not implement level(t_s)",
        id="shape-without-level",
    ),
    pytest.param(
        "report formats", "from harness.report import ReportFormat\n"
        "F = ReportFormat('xml2', 'junit.xml', lambda r: '')\n",
        "xml2 = plug_dup:F",
        "report formats: report format 'xml2': filename 'junit.xml' is already used by "
        "format 'junit'",
        id="format-filename-taken",
    ),
    pytest.param(
        "report formats", "F = {'name': 'pdf'}\n", "pdf = plug_dup:F",
        "{'name': 'pdf'} is not a harness.report.ReportFormat",
        id="format-not-a-reportformat",
    ),
    pytest.param(
        "fault types", "from harness.faults.registry import Attribute, FaultType\n"
        "T = FaultType('jam', True, (Attribute('jam_ms', 'jam', True),), 'jam it')\n",
        "jam = plug_dup:T",
        "fault types: fault type 'jam': jam_ms is not a field of a fault",
        id="fault-unknown-attribute",
    ),
    pytest.param(
        "fault types", "from harness.faults.registry import FaultType, Target\n"
        "T = FaultType('reboot', False, (), 'reboot it', Target.COMMAND)\n",
        "reboot = plug_dup:T",
        "fault type 'reboot': plugins add toxic types only (toxic=True), got target 'command'",
        id="fault-not-a-toxic",
    ),
]


@pytest.mark.parametrize(("what", "source", "entry", "wrong"), BROKEN)
def test_a_broken_plugin_is_an_error_naming_it(
    site: Path, what: str, source: str, entry: str, wrong: str
) -> None:
    """A plugin that cannot load or is refused: PluginError naming distribution, entry point,
    registry and what is wrong; every later read says the same; nothing is half-registered."""
    install(site, "plug_dup", source, entry, GROUPS[what])
    registry = fresh(what)
    with pytest.raises(PluginError) as first:
        list(registry)
    message = str(first.value)
    assert message.startswith(
        f"plugin plug_dup-plugin 0.3 (entry point '{entry}' in {GROUPS[what]}): {what}: "
    )
    assert wrong in message, message
    assert message.endswith(f"fix or uninstall the plugin (or set {DISABLE_ENV}=1 to run without plugins)")
    with pytest.raises(PluginError) as again:
        registry["latency" if what == "checks" else "x"]
    assert str(again.value) == message


def test_disabled_plugins_are_not_read(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CS_HARNESS_DISABLE_PLUGINS=1: no entry point is read, a broken plugin included."""
    install(site, "plug_off", "import no_such_module_here\n", "x = plug_off:X", GROUPS["checks"])
    monkeypatch.setenv(DISABLE_ENV, "1")
    registry = fresh("checks")
    assert set(registry) == set(REGISTRY.builtin())


def test_cli_names_a_broken_plugin_without_a_traceback(tmp_path: Path) -> None:
    """`harness validate` with a broken check plugin installed: exit 2, the plugin named, no traceback."""
    install(tmp_path, "plug_cli", "class NotACheck:\n    pass\n", "bad = plug_cli:NotACheck",
            GROUPS["checks"])
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "validate", str(REPO / "drills" / "nlu-slow.yaml")],
        capture_output=True, text=True, timeout=60, env=env, cwd=REPO,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert (
        "plugin plug_cli-plugin 0.3 (entry point 'bad = plug_cli:NotACheck' in cs_harness.checks): "
        "checks: <class 'plug_cli.NotACheck'> is not a subclass of harness.checks.CheckBase"
    ) in output
    assert "Traceback" not in output
