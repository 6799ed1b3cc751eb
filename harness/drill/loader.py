"""Reading drill files: YAML validated into a :class:`Drill`, with errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

from harness.drill.model import CapacitySearch, Drill, PhaseSpec
from harness.drill.schema_text import describe
from harness.errors import ValidationFailed
from harness.load.shapes import Step
from harness.validation import read_yaml, validate


def load_drill(path: Path) -> Drill:
    """The drill in ``path``; a capacity search is expanded into one phase per load step.

    A file that fails the schema is also checked for unknown scenario and fault-script
    references, so one run lists every problem."""
    data, node = read_yaml(path)
    try:
        drill = validate(Drill, data, source=str(path), node=node)
    except ValidationFailed as exc:
        from harness.drill.plan import reference_problems

        extra = [p for p in reference_problems(data, path, node) if p not in exc.problems]
        if not extra:
            raise
        raise ValidationFailed(exc.source, exc.problems + extra) from None
    return expand_capacity_search(drill)


def expand_capacity_search(drill: Drill) -> Drill:
    """Give a capacity-search drill its step phases (``step-1``, ``step-2`` ...) and step shape.

    Idempotent (an expanded drill is returned as it is); a drill that gives both its own
    ``phases`` and ``capacity_search`` is refused.
    """
    search: CapacitySearch | None = drill.capacity_search
    if search is None:
        return drill
    phases = step_phases(search)
    if drill.phases:
        if drill.phases == phases:
            return drill
        raise ValidationFailed(
            f"drill {drill.name!r}",
            [
                "give either 'phases' or 'capacity_search', not both: a capacity search makes "
                "its own phases (step-1, step-2 ...); remove 'phases'"
            ],
        )
    shape = Step(
        type="step", start=search.start, step=search.step, step_s=search.step_s, max=search.max
    )
    load = drill.load.model_copy(update={"shape": shape})
    return Drill.model_validate(
        {
            **drill.model_dump(by_alias=True),
            "phases": [p.model_dump(by_alias=True) for p in phases],
            "load": load.model_dump(by_alias=True),
        }
    )


def step_phases(search: CapacitySearch) -> list[PhaseSpec]:
    """One phase per load step of a capacity search."""
    steps = int((search.max - search.start) // search.step) + 1
    return [
        PhaseSpec(name=f"step-{i + 1}", duration_s=search.step_s, checks=list(search.checks))
        for i in range(steps)
    ]


def step_level(search: CapacitySearch, phase_name: str) -> float:
    """The load level of capacity-search phase ``step-N``."""
    index = int(phase_name.removeprefix("step-")) - 1
    return min(search.start + index * search.step, search.max)


def drill_json_schema() -> str:
    """The JSON Schema of drill files, for editors (``harness schema``)."""
    schema = describe(Drill.model_json_schema(by_alias=True))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Drill"
    return json.dumps(schema, indent=2)
