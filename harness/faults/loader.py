"""Load fault scripts from YAML and turn every mistake into one plain sentence.

Every problem in a file is reported together in one ``ValidationFailed``;
each sentence names the file, the fault, the field, what was seen and the fix,
e.g. ``faults/nlu-slow.yaml: fault 'nlu-latency': field 'latency_ms' must be
>= 0, got -5 - use 0 or more``. No pydantic or YAML exception escapes.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from harness.errors import InputError, ValidationFailed
from harness.faults.model import (
    FAULT_PROBLEMS,
    SCRIPT_PROBLEMS,
    UNKNOWN_TYPE,
    Fault,
    FaultScript,
    Flapping,
    ProcessTarget,
    problems_from_context,
)
from harness.faults.registry import FAULT_TYPES
from harness.limits import LIMITS_DOC, limit_named
from harness.validation import is_file, locate, number_problems, parse_yaml, read_text

__all__ = ["available_fault_scripts", "load_fault_script", "resolve_fault_script"]

SUFFIXES = (".yaml", ".yml")


def load_fault_script(path: Path) -> FaultScript:
    """Read, parse and validate one fault script file; ValidationFailed lists every problem.

    The file is read as drill files are (:func:`harness.validation.read_yaml`: a regular
    file, bounded, UTF-8, no duplicate keys); every sentence starts ``file:line:``."""
    path = Path(path)
    source = _display(path)
    data, node = _parse_yaml(read_text(path, source), source)
    at = _Lines(node, data, source)
    problems = number_problems(data, node, source) + _name_problems(data, path, at)
    try:
        script = FaultScript.model_validate(data)
    except ValidationError as exc:
        problems += [s for e in exc.errors(include_url=False) for s in _sentences(e, data, at)]
        raise ValidationFailed(source, problems) from None
    except (ArithmeticError, ValueError):  # a model's own check met a number refused above
        if not problems:
            raise
        raise ValidationFailed(source, problems) from None
    if problems:
        raise ValidationFailed(source, problems)
    return script.with_source(source, {f.name: at.fault_line(f.name) for f in script.faults})


def resolve_fault_script(
    ref: str, *, search_dirs: list[Path], base: Path | None = None
) -> FaultScript:
    """Load a script by name (``nlu-outage``, looked up in ``search_dirs``) or by path
    (a relative path is relative to ``base``, the drill file's folder)."""
    as_path = Path(ref)
    if as_path.suffix in SUFFIXES or "/" in ref:
        if not as_path.is_absolute():
            as_path = (base or Path.cwd()) / as_path
        if not is_file(as_path):
            raise InputError(
                f"fault script file '{ref}' does not exist at {as_path} (a relative path is "
                "relative to the drill file's folder) - check the path"
            )
        return load_fault_script(as_path)
    for folder in search_dirs:
        for suffix in SUFFIXES:
            candidate = Path(folder) / f"{ref}{suffix}"
            if is_file(candidate):
                return load_fault_script(candidate)
    known = available_fault_scripts(search_dirs)
    close = difflib.get_close_matches(ref, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    where = ", ".join(_display(Path(d)) for d in search_dirs) or "no folders"
    raise InputError(
        f"fault script '{ref}' not found in {where} (known: {', '.join(known) or 'none'}) "
        f"- {hint}use one of those names or a path to a .yaml file"
    )


def available_fault_scripts(search_dirs: Sequence[Path]) -> list[str]:
    """Names of the fault scripts found in ``search_dirs``, sorted."""
    names = {
        p.stem
        for d in search_dirs
        if Path(d).is_dir()
        for p in Path(d).iterdir()
        if p.suffix in SUFFIXES
    }
    return sorted(names)


# -- YAML ----------------------------------------------------------------------


def _parse_yaml(text: str, source: str) -> tuple[dict[str, Any], yaml.Node]:
    data, node = parse_yaml(text, source)
    if data is None:
        raise ValidationFailed(
            source, [f"{source}:1: the file is empty - add 'name', 'description' and 'faults'"]
        )
    if not isinstance(data, dict) or node is None:
        raise ValidationFailed(
            source,
            [
                f"{source}:1: the file must be a mapping with 'name', "
                f"'description' and 'faults', got a {_kind(data)} "
                "- see docs/faults.md"
            ],
        )
    return data, node


class _Lines:
    """``file:line`` of the places in one fault script that sentences talk about."""

    def __init__(self, node: yaml.Node, data: dict[str, Any], source: str) -> None:
        self.node, self.data, self.source = node, data, source

    def of(self, *loc: Any) -> str:
        return locate(self.node, list(loc), self.source)

    def fault(self, name: str, field: str, *, last: bool = False) -> str:
        """The line of ``field`` of the fault called ``name`` (its last one when ``last``)."""
        faults = self.data.get("faults")
        named = [
            i
            for i, f in enumerate(faults if isinstance(faults, list) else [])
            if isinstance(f, dict) and f.get("name") == name
        ]
        if not named:
            return self.of("faults")
        return self.of("faults", named[-1] if last else named[0], field)

    def fault_line(self, name: str) -> int:
        where = self.fault(name, "name")
        return int(where.rsplit(":", 1)[1]) if where != self.source else 0


def _name_problems(data: dict[str, Any], path: Path, at: _Lines) -> list[str]:
    name = data.get("name")
    if isinstance(name, str) and name != path.stem:
        return [
            f"{at.of('name')}: field 'name' must equal the file name '{path.stem}', got '{name}' "
            f"- rename the file or set name: {path.stem}"
        ]
    return []


# -- pydantic errors -> sentences --------------------------------------------------


def _sentences(error: ErrorDetails, data: dict[str, Any], at: _Lines) -> list[str]:
    if error["type"] in (FAULT_PROBLEMS, SCRIPT_PROBLEMS):
        return [
            f"{at.fault(fault, field, last=field == 'name')}: fault '{fault}': {sentence}"
            for fault, field, sentence in problems_from_context(error.get("ctx"))
        ]
    loc = tuple(error["loc"])
    model: type[BaseModel] = FaultScript
    prefix = f"{at.of(*loc)}: "
    if len(loc) >= 2 and loc[0] == "faults" and isinstance(loc[1], int):
        prefix += f"fault {_fault_label(data, loc[1])}: "
        loc, model = loc[2:], Fault
    if loc and loc[0] == "flapping":
        model = Flapping
    if loc and loc[0] == "process":
        model = ProcessTarget
    field = ".".join(str(p) for p in loc)
    return [prefix + _sentence(error, field, model)]


def _fault_label(data: dict[str, Any], index: int) -> str:
    faults = data.get("faults")
    item = faults[index] if isinstance(faults, list) and index < len(faults) else None
    name = item.get("name") if isinstance(item, dict) else None
    return f"'{name}'" if isinstance(name, str) and name else f"#{index + 1} (unnamed)"


def _sentence(error: ErrorDetails, field: str, model: type[BaseModel]) -> str:
    kind, ctx, seen = error["type"], error.get("ctx") or {}, _show(error.get("input"))
    if not field:
        return f"must be a mapping of fields, got {seen} - see docs/faults.md"
    what = f"field '{field}'"
    if kind == "missing":
        return f"{what} is missing - add it"
    if kind == "extra_forbidden":
        return _unknown_field(field, seen, model)
    if kind == "value_error":  # a model's own rule (e.g. process: exactly one way to find it)
        return f"{what}: {error['msg'].removeprefix('Value error, ')}, got {seen} - fix it"
    if kind == UNKNOWN_TYPE:
        given = error.get("input")
        close = difflib.get_close_matches(given, FAULT_TYPES, n=1) if isinstance(given, str) else []
        hint = f"did you mean '{close[0]}'? or " if close else ""
        return (f"{what} must be one of {', '.join(FAULT_TYPES)}, got {seen} - {hint}use one "
                "of those")
    simple = _SIMPLE.get(kind)
    if simple:
        bound = next(iter(ctx.values()), None)
        limit = limit_named(field.rsplit(".", 1)[-1], bound)
        named = f" (the limit {limit}, {LIMITS_DOC})" if limit else ""
        return (
            f"{what} {simple.format(**ctx)}{named}, got {seen} - "
            f"{_FIX.get(kind, 'fix it').format(**ctx)}"
        )
    return f"{what} is invalid ({error['msg']}), got {seen} - fix it (see docs/faults.md)"


_SIMPLE = {
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "string_pattern_mismatch": "must use only letters, digits, '-' and '_', starting with a "
    "letter or digit",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "enum": "must be {expected}",
    "too_short": "must list at least {min_length} item(s)",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
}
_FIX = {
    "greater_than_equal": "use {ge} or more",
    "greater_than": "use more than {gt}",
    "less_than_equal": "use {le} or less",
    "less_than": "use less than {lt}",
    "enum": "use {expected}",
    "too_short": "add at least one",
    "string_pattern_mismatch": "rename it",
    "string_too_short": "give it a value",
}


def _unknown_field(field: str, seen: str, model: type[BaseModel]) -> str:
    leaf = field.rsplit(".", 1)[-1]
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(leaf, allowed, n=1)
    hint = f"did you mean '{close[0]}'? or " if close else ""
    return (
        f"field '{field}' is not a known field, got {seen} - {hint}remove it "
        f"(known fields: {', '.join(allowed)})"
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:50]}...' ({len(value)} characters)"
    if isinstance(value, dict | list):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number"}.get(type(value), "value")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
