"""Fault script validation: each bad definition is one sentence naming file, fault, field."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from harness.errors import InputError, ValidationFailed
from harness.faults import (
    FAULT_TYPES,
    Fault,
    FaultScript,
    Stream,
    available_fault_scripts,
    load_fault_script,
    resolve_fault_script,
)
from harness.faults.registry import ATTRIBUTE_FIELDS

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "faults"


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_fault_script(path)
    assert info.value.source == str(path)
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", p) for p in info.value.problems)
    return info.value.problems


def one_fault(tmp_path: Path, lines: str, name: str = "s") -> Path:
    body = f"name: {name}\nfaults:\n  - name: f1\n    proxy: helpdesk_nlu\n"
    body += "".join(f"    {line}\n" for line in textwrap.dedent(lines).strip().splitlines())
    return write(tmp_path, name, body)


def test_negative_attribute_names_file_fault_field_and_value(tmp_path: Path) -> None:
    """A negative latency_ms is reported exactly as the house example shows."""
    path = one_fault(tmp_path, "type: latency\nlatency_ms: -5")
    assert problems(path) == [
        f"{path}:6: fault 'f1': field 'latency_ms' must be >= 0, got -5 - use 0 or more"
    ]


def test_unknown_type_lists_the_valid_types(tmp_path: Path) -> None:
    """An unknown toxic type is named, with every valid type listed."""
    (msg,) = problems(one_fault(tmp_path, "type: latencyy\nlatency_ms: 5"))
    assert "fault 'f1': field 'type'" in msg and "got 'latencyy'" in msg
    assert all(t in msg for t in FAULT_TYPES)


def test_missing_required_attribute(tmp_path: Path) -> None:
    """A latency fault without latency_ms says the attribute is required and missing."""
    (msg,) = problems(one_fault(tmp_path, "type: latency"))
    assert "fault 'f1': field 'latency_ms' is required for type 'latency'" in msg
    assert "add it" in msg


def test_attribute_not_valid_for_type(tmp_path: Path) -> None:
    """rate_kbps on a latency fault is refused, listing latency's attributes."""
    (msg,) = problems(one_fault(tmp_path, "type: latency\nlatency_ms: 5\nrate_kbps: 10"))
    assert "fault 'f1': field 'rate_kbps' is not valid for type 'latency'" in msg
    assert "got 10" in msg and "latency_ms, jitter_ms" in msg


def test_unknown_field_suggests_the_close_one(tmp_path: Path) -> None:
    """A misspelt field is refused with a suggestion."""
    (msg,) = problems(one_fault(tmp_path, "type: latency\nlatency: 5"))
    assert "fault 'f1': field 'latency' is not a known field, got 5" in msg
    assert "did you mean 'latency_ms'?" in msg


def test_unknown_top_level_field(tmp_path: Path) -> None:
    """An unknown top-level field names the file and the field."""
    path = write(tmp_path, "s", "name: s\nfautls: []\nfaults: [{name: a, proxy: p, type: down}]\n")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:2: field 'fautls' is not a known field")


def test_stream_not_allowed_for_down(tmp_path: Path) -> None:
    """`down` takes the whole proxy down, so a stream is refused."""
    (msg,) = problems(one_fault(tmp_path, "type: down\nstream: upstream"))
    assert "fault 'f1': field 'stream' is not allowed for type 'down'" in msg
    assert "got 'upstream'" in msg


def test_bad_stream_value(tmp_path: Path) -> None:
    """A stream other than upstream/downstream names both valid values."""
    (msg,) = problems(one_fault(tmp_path, "type: latency\nlatency_ms: 1\nstream: sideways"))
    assert "field 'stream' must be 'upstream' or 'downstream', got 'sideways'" in msg


def test_toxicity_out_of_range(tmp_path: Path) -> None:
    """Toxicity above 1 is refused with the bound."""
    (msg,) = problems(one_fault(tmp_path, "type: latency\nlatency_ms: 1\ntoxicity: 1.5"))
    assert "field 'toxicity' must be <= 1.0, got 1.5" in msg


def test_flapping_fields_are_checked(tmp_path: Path) -> None:
    """Flapping needs positive on_s and off_s; YAML's `off` stays a plain key."""
    msgs = problems(one_fault(tmp_path, "type: down\nflapping: {on_s: 0, off: 1}"))
    assert any(
        "field 'flapping.on_s' must be >= 0.1 (the limit MIN_FLAP_S, docs/drills.md, "
        '"Limits"), got 0' in m
        for m in msgs
    )
    assert any("field 'flapping.off_s' is missing" in m for m in msgs)
    assert any("field 'flapping.off' is not a known field" in m for m in msgs)


def test_whole_number_required(tmp_path: Path) -> None:
    """A text value for a ms attribute is refused as not a whole number."""
    (msg,) = problems(one_fault(tmp_path, "type: latency\nlatency_ms: abc"))
    assert "field 'latency_ms' must be a whole number, got 'abc'" in msg


def test_name_must_match_file(tmp_path: Path) -> None:
    """The script name must equal the file stem, and the fix says so."""
    path = write(tmp_path, "nlu-slow", "name: nlu-fast\nfaults: [{name: a, proxy: p, type: down}]")
    (msg,) = problems(path)
    assert "field 'name' must equal the file name 'nlu-slow', got 'nlu-fast'" in msg


def test_bad_yaml_reports_line(tmp_path: Path) -> None:
    """Broken YAML is reported with its line number, no parser traceback."""
    path = write(tmp_path, "s", "name: s\nfaults:\n  - name: a\n   proxy: b\n")
    (msg,) = problems(path)
    assert f"{path}:4: column 4: not valid YAML" in msg


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    """A key given twice in one mapping is an error, not a silent overwrite."""
    path = one_fault(tmp_path, "type: latency\nlatency_ms: 1\nlatency_ms: 2")
    (msg,) = problems(path)
    assert f"{path}:7: column 5: duplicate key 'latency_ms' (first given on line 6)" in msg


def test_duplicate_fault_names(tmp_path: Path) -> None:
    """Two faults with one name are refused (the name becomes the toxic name)."""
    path = write(tmp_path, "s", """\
        name: s
        faults:
          - {name: a, proxy: p, type: latency, latency_ms: 1}
          - {name: a, proxy: q, type: down}
        """)
    (msg,) = problems(path)
    assert "fault 'a': field 'name' must be unique in the script, got 'a'" in msg


def test_same_type_and_stream_overlap_conflicts(tmp_path: Path) -> None:
    """Two latency toxics on one proxy and stream at once conflict."""
    path = write(tmp_path, "s", """\
        name: s
        faults:
          - {name: a, proxy: p, type: latency, latency_ms: 1}
          - {name: b, proxy: p, type: latency, latency_ms: 2, start_s: 3}
        """)
    (msg,) = problems(path)
    assert "fault 'b': window 3 s to phase end on proxy 'p' overlaps fault 'a'" in msg
    assert "both are 'latency' on the downstream stream" in msg


def test_down_overlapping_anything_conflicts(tmp_path: Path) -> None:
    """A down fault conflicts with any fault on the same proxy while both run."""
    path = write(tmp_path, "s", """\
        name: s
        faults:
          - {name: slow, proxy: p, type: bandwidth, rate_kbps: 1, duration_s: 5}
          - {name: off, proxy: p, type: down, start_s: 4}
        """)
    (msg,) = problems(path)
    assert "fault 'off'" in msg and "'off' takes that proxy down" in msg


def test_non_conflicting_faults_are_fine(tmp_path: Path) -> None:
    """Disjoint windows, other streams, other types and other proxies are all allowed."""
    path = write(tmp_path, "s", """\
        name: s
        faults:
          - {name: a, proxy: p, type: latency, latency_ms: 1, duration_s: 2}
          - {name: b, proxy: p, type: latency, latency_ms: 1, start_s: 2}
          - {name: c, proxy: p, type: latency, latency_ms: 1, stream: upstream}
          - {name: d, proxy: p, type: bandwidth, rate_kbps: 5}
          - {name: e, proxy: q, type: down}
        """)
    script = load_fault_script(path)
    assert [f.name for f in script.faults] == ["a", "b", "c", "d", "e"]
    assert script.proxies == ["p", "q"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Problems in several faults come back together in one ValidationFailed."""
    path = write(tmp_path, "s", """\
        name: s
        faults:
          - {name: a, proxy: p, type: latency, latency_ms: -1}
          - {name: b, proxy: p, type: nope}
          - {name: c, proxy: p, type: slicer}
        """)
    msgs = problems(path)
    assert len(msgs) == 3
    assert [m.split(": ")[1] for m in msgs] == ["fault 'a'", "fault 'b'", "fault 'c'"]


def test_unnamed_fault_is_labelled_by_position(tmp_path: Path) -> None:
    """A fault without a name is labelled by its position."""
    path = write(tmp_path, "s", "name: s\nfaults:\n  - {proxy: p, type: down}\n")
    (msg,) = problems(path)
    assert "fault #1 (unnamed): field 'name' is missing - add it" in msg


def test_empty_file_and_non_mapping(tmp_path: Path) -> None:
    """An empty file and a top-level list both get a sentence, not a traceback."""
    assert "the file is empty" in problems(write(tmp_path, "e", ""))[0]
    assert "must be a mapping" in problems(write(tmp_path, "l", "- a\n"))[0]


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a ValidationFailed naming it."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(ValidationFailed) as info:
        load_fault_script(path)
    assert info.value.problems == [f"{path}: file not found; check the path"]


def test_slicer_variation_below_average(tmp_path: Path) -> None:
    """A slicer's size variation must be smaller than its average size."""
    (msg,) = problems(one_fault(tmp_path, "type: slicer\naverage_size_bytes: 10\n"
                                          "size_variation_bytes: 10"))
    assert "field 'size_variation_bytes' must be smaller than average_size_bytes (10)" in msg


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scripts_load(path: Path) -> None:
    """Every fault script shipped in faults/ is valid."""
    script = load_fault_script(path)
    assert script.name == path.stem and script.description


def test_shipped_scripts_cover_the_brief() -> None:
    """The reference scripts the drills rely on are all there."""
    expected = {
        "nlu-outage", "nlu-slow", "nlu-partial", "orders-primary-outage",
        "orders-primary-blackhole", "tickets-outage", "orders-flapping", "kb-resets",
        "kb-bandwidth", "kb-sliced", "orders-limit-data", "multi-dependency",
    }
    assert expected <= set(available_fault_scripts([SHIPPED]))


def test_resolve_by_name_and_by_path() -> None:
    """A script is found by its name in the search folders or by its path."""
    by_name = resolve_fault_script("nlu-outage", search_dirs=[SHIPPED])
    by_path = resolve_fault_script(str(SHIPPED / "nlu-outage.yaml"), search_dirs=[])
    assert by_name == by_path and by_name.faults[0].is_down


def test_resolve_unknown_name_suggests() -> None:
    """An unknown script name lists the known ones and suggests the closest."""
    with pytest.raises(InputError, match="did you mean 'nlu-outage'") as info:
        resolve_fault_script("nlu-outag", search_dirs=[SHIPPED])
    assert "kb-resets" in str(info.value)


@pytest.mark.parametrize("type_name", list(FAULT_TYPES))
def test_registry_contract(type_name: str) -> None:
    """Each registered type's attributes and options are Fault fields, its minimal fault
    builds, a toxic type builds a toxic and the others refuse to."""
    spec = FAULT_TYPES[type_name]
    assert set(spec.field_names) <= set(Fault.model_fields)
    assert {o.field for o in spec.options} <= set(Fault.model_fields)
    fault = Fault(name="f", type=type_name, **spec.minimal())
    assert fault.kind is spec.kind and fault.is_local is not spec.kind.uses_proxy
    if spec.toxic:
        toxic = fault.toxic_spec("harness.r.f")
        assert toxic.type == type_name and toxic.stream is Stream.DOWNSTREAM
        assert set(toxic.attributes) == {a.wire for a in spec.attributes}
    else:
        with pytest.raises(ValueError, match="not a toxic"):
            fault.toxic_spec("x")


@pytest.mark.parametrize("type_name", list(FAULT_TYPES))
def test_registry_contract_proxy_rule(type_name: str, tmp_path: Path) -> None:
    """Toxiproxy types need 'proxy', the local ones refuse it; each sentence names file:line."""
    spec = FAULT_TYPES[type_name]
    fields = spec.minimal()
    if spec.kind.uses_proxy:
        fields.pop("proxy")
        expected = "field 'proxy' is required"
    else:
        fields["proxy"] = "helpdesk_nlu"
        expected = "field 'proxy' is not allowed"
    body = {"name": "s", "faults": [{"name": "f1", "type": type_name, **fields}]}
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    found = problems(path)
    assert any(expected in p and p.startswith(f"{path}:") for p in found), found


@pytest.mark.parametrize(
    "type_name", [t for t, spec in FAULT_TYPES.items() if any(o.required for o in spec.options)]
)
def test_registry_contract_required_options(type_name: str) -> None:
    """Leaving out a required option of a local type is refused, naming the field."""
    spec = FAULT_TYPES[type_name]
    for option in (o for o in spec.options if o.required):
        fields = {k: v for k, v in spec.minimal().items() if k != option.field}
        with pytest.raises(ValueError, match=f"field '{option.field}' is required"):
            Fault(name="f", type=type_name, **fields)


def test_local_fault_rules(tmp_path: Path) -> None:
    """Signals, the shell rule, one way to find a process, no flapping kill: one sentence each."""
    path = write(tmp_path, "s", """\
        name: s
        faults:
          - {name: a, type: kill, process: {pid_file: /x.pid}, signal: SIGSTOP}
          - {name: b, type: kill, process: {pid_file: /x.pid, port: 80}}
          - {name: c, type: command, apply: docker stop db, revert: [docker, start, db]}
          - {name: d, type: kill, process: {port: 80}, flapping: {on_s: 1, off_s: 1}}
          - {name: e, type: stop, process: {pattern: "x"}, latency_ms: 3}
        """)
    found = "\n".join(problems(path))
    assert "use type 'stop'" in found
    assert "give exactly one of pid_file, port, pattern" in found
    assert "field 'apply' must be an argument list" in found
    assert "'flapping' is not allowed for type 'kill'" in found
    assert "field 'latency_ms' is not valid for type 'stop'" in found


def test_env_references_are_listed() -> None:
    """${NAME} in a pid file and a restart command are the variables a fault needs."""
    fault = Fault(name="f", type="kill", process={"pid_file": "${A}/x.pid"},
                  restart=["svc", "--dir", "${B}", "${A}"])
    assert fault.env_references() == ["A", "B"]


def test_every_attribute_field_belongs_to_a_type() -> None:
    """No Fault attribute field is orphaned from the registry."""
    amount_fields = {n for n, f in Fault.model_fields.items() if n.endswith(
        ("_ms", "_kbps", "_bytes", "_us")) or n == "bytes"}
    assert amount_fields == set(ATTRIBUTE_FIELDS)


def test_wire_attributes_use_toxiproxy_names() -> None:
    """The unit-suffixed names map onto Toxiproxy's attribute names, defaults filled in."""
    fault = Fault(name="f", proxy="p", type="slicer", average_size_bytes=64, delay_us=10)
    assert fault.toxic_spec("t").attributes == {"average_size": 64, "size_variation": 0,
                                                "delay": 10}


def test_models_are_frozen() -> None:
    """Scripts are immutable once validated."""
    script = FaultScript(name="s", faults=[Fault(name="a", proxy="p", type="down")])
    with pytest.raises(ValueError):
        script.faults[0].proxy = "q"  # type: ignore[misc]
