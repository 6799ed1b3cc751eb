"""Plan, loader and validation messages: pure functions over small files in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.drill.loader import expand_capacity_search, load_drill, step_level
from harness.drill.model import Drill, is_loopback
from harness.drill.plan import anchored, plan_drill, search_dirs
from harness.drill.target import require_loopback
from harness.errors import InputError, ValidationFailed
from harness.validation import load_model

PROJECT_DIR = Path(__file__).resolve().parents[3]
SCENARIO = PROJECT_DIR / "scenarios" / "customer_journeys.py"
BASE = """\
name: t
target: {url: http://127.0.0.1:8080}
load:
  scenario: SCENARIO
  shape: {type: steady, level: 2}
phases:
  - name: baseline
    duration_s: 2
    checks:
      - {type: error_rate, max_ratio: 0.5}
""".replace("SCENARIO", str(SCENARIO))


def _drill(tmp_path: Path, text: str = BASE, name: str = "d.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        plan_drill(load_drill(path), drill_file=path)
    return caught.value.problems


def test_capacity_search_expands_into_one_phase_per_step() -> None:
    """start 2, step 3 up to 10 gives steps 2, 5, 8 as phases step-1..3 with the search's checks."""
    drill = Drill.model_validate(
        {
            "name": "cap",
            "target": {"url": "http://127.0.0.1:1"},
            "load": {"scenario": "s", "shape": {"type": "steady", "level": 1}},
            "capacity_search": {
                "start": 2,
                "step": 3,
                "step_s": 2,
                "max": 10,
                "checks": [{"type": "error_rate", "max_ratio": 0.01}],
            },
        }
    )
    expanded = expand_capacity_search(drill)
    assert [p.name for p in expanded.phases] == ["step-1", "step-2", "step-3"]
    assert all(p.duration_s == 2 and len(p.checks) == 1 for p in expanded.phases)
    assert [expanded.load.shape.level(t) for t in (0.5, 2.5, 4.5)] == [2, 5, 8]
    assert [step_level(drill.capacity_search, f"step-{i}") for i in (1, 3)] == [2, 8]
    assert expand_capacity_search(expanded) is expanded  # already expanded: left alone


def test_capacity_search_with_phases_of_its_own_is_refused(tmp_path: Path) -> None:
    """A drill giving both 'phases' and 'capacity_search' is one clear error, not a crash later."""
    path = _drill(
        tmp_path,
        BASE + "capacity_search: {start: 1, step: 1, step_s: 1, max: 2, "
        "checks: [{type: error_rate, max_ratio: 0.1}]}\n",
    )
    with pytest.raises(ValidationFailed, match="either 'phases' or 'capacity_search', not both"):
        load_drill(path)


def test_bare_names_are_looked_up_next_to_the_drill_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenarios and faults by name: next to the drill and beside its folder; never cwd or project."""
    monkeypatch.chdir(PROJECT_DIR)  # the project's own faults/ must not be found from here
    drill_file = tmp_path / "drills" / "x.yaml"
    assert search_dirs(drill_file, "faults") == [
        tmp_path / "drills" / "faults",
        tmp_path / "faults",
    ]
    assert search_dirs(None, "scenarios") == [
        PROJECT_DIR / "scenarios",
        PROJECT_DIR.parent / "scenarios",
    ]


def test_a_users_drill_never_falls_back_to_the_projects_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shipped fault name or scenario name is unknown to a drill outside the project, from any cwd."""
    monkeypatch.chdir(PROJECT_DIR)
    text = BASE.replace(str(SCENARIO), "customer_journeys") + (
        "  - {name: b, duration_s: 1, faults: [nlu-outage]}\n"
    )
    problems = _problems(_drill(tmp_path, text))
    assert any("load.scenario 'customer_journeys' not found" in p for p in problems), problems
    fault = next(p for p in problems if "fault script 'nlu-outage' not found" in p)
    assert "known: none" in fault and str(PROJECT_DIR / "faults") not in fault


def test_relative_paths_are_relative_to_the_drill_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scenario: ../s/journeys.py and faults: [../f/slow.yaml] resolve from the drill's folder."""
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "journeys.py").write_text("# a locustfile\n")
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "slow.yaml").write_text(
        "name: slow\nfaults:\n  - {name: x-slow, proxy: x, type: latency, latency_ms: 100}\n"
    )
    (tmp_path / "drills").mkdir()
    text = BASE.replace(str(SCENARIO), "../s/journeys.py") + (
        "  - {name: b, duration_s: 1, faults: [../f/slow.yaml]}\n"
    )
    path = _drill(tmp_path / "drills", text)
    monkeypatch.chdir(PROJECT_DIR)
    plan = plan_drill(load_drill(path), drill_file=path)
    assert plan.scenario_path == tmp_path / "s" / "journeys.py"
    assert [p.script for p in plan.faults] == ["slow"]


def test_a_drill_built_in_python_is_anchored_where_it_was_built(tmp_path: Path) -> None:
    """anchored() makes names and relative paths absolute against a folder; unknown ones stay."""
    drill = load_drill(_drill(tmp_path, BASE + "  - {name: b, duration_s: 1, faults: [ghost]}\n"))
    drill = drill.model_copy(
        update={"load": drill.load.model_copy(update={"scenario": "customer_journeys"})}
    )
    moved = anchored(drill, PROJECT_DIR)
    assert moved.load.scenario == str(SCENARIO)
    assert moved.phases[1].faults == ["ghost"]


def test_a_proxy_upstream_off_loopback_is_refused_with_its_line(tmp_path: Path) -> None:
    """proxies[].upstream obeys the same loopback allowlist as the target."""
    path = _drill(tmp_path, BASE + "proxies:\n  - {name: db, upstream: 10.1.2.3:5432}\n")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:12: proxy 'db' upstream 10.1.2.3:5432 is not on loopback")
    allowed = BASE.replace(
        "target: {url: http://127.0.0.1:8080}",
        "target: {url: http://127.0.0.1:8080, allow_hosts: [10.1.2.3]}",
    )
    path = _drill(tmp_path, allowed + "proxies:\n  - {name: db, upstream: 10.1.2.3:5432}\n")
    assert (
        plan_drill(load_drill(path), drill_file=path).drill.proxies[0].upstream == "10.1.2.3:5432"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    """127.0.0.0/8, ::1 and localhost are loopback."""
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.0.2.10", "example.com", "0.0.0.0", ""])
def test_non_loopback_hosts(host: str) -> None:
    """Private, public, wildcard and named hosts are not loopback."""
    assert not is_loopback(host)


def test_loopback_rule_refuses_unless_allowed() -> None:
    """A remote URL is refused with both ways to allow it; allow_hosts or allow_remote let it pass."""
    with pytest.raises(
        InputError,
        match=r"target http://10\.1\.2\.3:80 is not on loopback.*"
        r"allow_hosts.*--allow-remote",
    ):
        require_loopback("http://10.1.2.3:80", what="target", allow_hosts=[], allow_remote=False)
    require_loopback(
        "http://10.1.2.3:80", what="target", allow_hosts=["10.1.2.3"], allow_remote=False
    )
    require_loopback("http://10.1.2.3:80", what="target", allow_hosts=[], allow_remote=True)


def test_plan_refuses_a_remote_toxiproxy_too(tmp_path: Path) -> None:
    """The drill's Toxiproxy URL obeys the same loopback rule as the target."""
    path = _drill(tmp_path, BASE + "toxiproxy: {url: http://10.9.9.9:8474}\n")
    with pytest.raises(InputError, match="Toxiproxy http://10.9.9.9:8474 is not on loopback"):
        plan_drill(load_drill(path), drill_file=path)
    assert plan_drill(load_drill(path), drill_file=path, allow_remote=True).allow_remote


def test_plan_resolves_scenario_and_fault_windows(tmp_path: Path) -> None:
    """A fault script next to the drill is found and expanded into the phase's absolute window."""
    (tmp_path / "faults").mkdir()
    (tmp_path / "faults" / "f.yaml").write_text(
        "name: f\nfaults:\n  - {name: x-down, proxy: x, type: down, start_s: 1}\n"
    )
    path = _drill(tmp_path, BASE + "  - {name: broken, duration_s: 4, faults: [f]}\n")
    plan = plan_drill(load_drill(path), drill_file=path)
    assert plan.scenario_path == SCENARIO
    [planned] = plan.faults
    assert (planned.script, planned.window.start_s, planned.window.end_s) == ("f", 3.0, 6.0)


def test_plan_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    """Unknown scenario, unknown fault script and no checks are all reported, each with a line."""
    text = (
        BASE.replace(str(SCENARIO), "nope").replace(
            "    checks:\n      - {type: error_rate, max_ratio: 0.5}\n", ""
        )
        + "  - {name: b, duration_s: 1, faults: [ghost]}\n"
    )
    path = _drill(tmp_path, text)
    problems = _problems(path)
    assert len(problems) == 3
    assert problems[0].startswith(f"{path}:7: the drill has no checks")
    assert problems[1].startswith(f"{path}:4: load.scenario 'nope' not found")
    assert problems[2].startswith(f"{path}:9: phase 'b': fault script 'ghost' not found")


@pytest.mark.parametrize(
    "change,expected",
    [
        (
            ("max_ratio: 0.5", "max_ratio: [1]"),
            ":10: phase 'baseline' > checks[0] > max_ratio: must be a number, got [1]",
        ),
        (("level: 2", "level: two"), ":5: load > shape > level: must be a number, got 'two'"),
        (
            ("duration_s: 2", "duration_s: 0"),
            ":8: phase 'baseline' > duration_s: must be greater than 0, got 0",
        ),
        (
            ("type: error_rate,", "type: nonsense,"),
            ":10: phase 'baseline' > checks[0] > type: unknown type 'nonsense'; use one of",
        ),
        (("name: t\n", "name: t\nbogus: 1\n"), ":2: bogus: is not a known field; remove it"),
        (
            ("duration_s: 2", "duration_s: 1.1"),
            ":8: phase 'baseline': duration_s 1.1 is not a multiple of bucket_s 0.25",
        ),
    ],
)
def test_validation_sentences_name_file_line_item_field_and_value(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    """Each problem reads file:line: item > field: what is expected, got what was seen."""
    path = _drill(tmp_path, BASE.replace(*change))
    with pytest.raises(ValidationFailed) as caught:
        load_model(Drill, path)
    assert any(p.startswith(f"{path}{expected}") for p in caught.value.problems), (
        caught.value.problems
    )


def test_invalid_yaml_and_missing_file_are_sentences(tmp_path: Path) -> None:
    """Broken YAML names line and column; a missing file says so; neither raises anything else."""
    bad = _drill(tmp_path, "name: [t\n")
    with pytest.raises(ValidationFailed, match=r"d\.yaml:2: column 1: not valid YAML"):
        load_model(Drill, bad)
    with pytest.raises(ValidationFailed, match="file not found; check the path"):
        load_model(Drill, tmp_path / "absent.yaml")
    empty = _drill(tmp_path, "", name="empty.yaml")
    with pytest.raises(
        ValidationFailed, match="expected a mapping of fields at the top level, got an empty file"
    ):
        load_model(Drill, empty)


def test_one_pass_lists_schema_errors_and_unknown_fault_scripts_together(tmp_path: Path) -> None:
    """A wrong field and a misspelt fault script come out of one validation, each with its line."""
    text = BASE.replace("duration_s: 2", "duration_s: two") + (
        "  - {name: b, duration_s: 1, faults: [ghost]}\n"
    )
    path = _drill(tmp_path, text)
    with pytest.raises(ValidationFailed) as caught:
        load_drill(path)
    problems = caught.value.problems
    assert any(p.startswith(f"{path}:8: phase 'baseline' > duration_s") for p in problems), problems
    assert any(p.startswith(f"{path}:11: fault script 'ghost' not found") for p in problems), (
        problems
    )


def test_a_check_naming_a_fault_no_phase_runs_is_refused_before_the_run(tmp_path: Path) -> None:
    """failover_time with fault: typo is an input error with the line, not 'no data' after a run."""
    (tmp_path / "faults").mkdir()
    (tmp_path / "faults" / "f.yaml").write_text(
        "name: f\nfaults:\n  - {name: x-down, proxy: x, type: down}\n"
    )
    text = BASE + (
        "  - {name: broken, duration_s: 4, faults: [f]}\n"
        "checks:\n  - {type: failover_time, fault: x-dwn, max_s: 2}\n"
    )
    [problem] = _problems(_drill(tmp_path, text))
    assert problem.startswith(
        f"{tmp_path / 'd.yaml'}:13: check 'failover_time' names fault 'x-dwn'"
    )
    assert "(faults: f, x-down)" in problem
    good = text.replace("fault: x-dwn", "fault: x-down")
    assert plan_drill(load_drill(_drill(tmp_path, good)), drill_file=tmp_path / "d.yaml")


def test_an_endpoint_no_scenario_string_names_is_a_warning_with_its_line(tmp_path: Path) -> None:
    """'orders' is in the scenario; 'ordrs' is not: one warning naming the line and the file."""
    text = BASE.replace(
        "      - {type: error_rate, max_ratio: 0.5}\n",
        "      - {type: error_rate, max_ratio: 0.5, endpoints: [orders]}\n"
        "      - {type: error_rate, max_ratio: 0.5, endpoints: [ordrs]}\n",
    )
    path = _drill(tmp_path, text)
    plan = plan_drill(load_drill(path), drill_file=path)
    [warning] = plan.warnings
    assert warning.startswith(
        f"{path}:11: endpoint 'ordrs' appears nowhere in customer_journeys.py"
    )


def test_two_write_rules_for_one_endpoint_are_refused_with_the_second_ones_line(
    tmp_path: Path,
) -> None:
    """The last of two rules for 'tickets:create' would silently win: refused at its line."""
    rule = "  - {endpoint: tickets:create, id_field: id, read_path: '/t/{id}'}\n"
    path = _drill(tmp_path, BASE + "writes:\n" + rule + rule.replace("id_field: id", "id_field: ref"))
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:13: writes[1] > endpoint: 'tickets:create' already has")


def test_lanes_need_metrics_path_and_stay_within_their_limit(tmp_path: Path) -> None:
    """target.lanes without metrics_path, or past MAX_NAMED_LANES, is refused with its line."""
    no_metrics = BASE.replace(
        "target: {url: http://127.0.0.1:8080}",
        "target: {url: http://127.0.0.1:8080, lanes: [helpdesk_breaker_state]}",
    )
    (problem,) = _problems(_drill(tmp_path, no_metrics))
    assert problem.startswith(f"{tmp_path / 'd.yaml'}:2: target: lanes draws series")
    assert "set metrics_path too" in problem
    many = ", ".join(f"s{i}" for i in range(51))
    too_many = BASE.replace(
        "target: {url: http://127.0.0.1:8080}",
        f"target: {{url: http://127.0.0.1:8080, metrics_path: /metrics, lanes: [{many}]}}",
    )
    (problem,) = _problems(_drill(tmp_path, too_many, "many.yaml"))
    assert "lanes: must have at most 50 items (the limit MAX_NAMED_LANES" in problem
    assert problem.endswith("got 51")
