"""Reading YAML files into validated models, with errors people can act on.

Every problem becomes one sentence naming the file, the line, the item (by its
``name`` when it has one), the field, what was seen and what is expected, e.g.
``drills/x.yaml:14: phase 'fault' > checks[0] > max_ms: must be greater than 0, got -5``.
Pydantic's own error types never reach the user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The parsed document and its node tree (for line numbers); errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationFailed(str(path), ["file not found; check the path"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(str(path), [f"cannot read the file: {exc}"]) from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed(str(path), [f"{where}not valid YAML: {problem}"]) from None
    return data, node


def validate(model: type[M], data: Any, *, source: str, node: yaml.Node | None = None) -> M:
    """``model`` validated from ``data``, or :class:`ValidationFailed` listing every problem."""
    if not isinstance(data, dict):
        seen = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ValidationFailed(
            source, [f"expected a mapping of fields at the top level, got {seen}"]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [_sentence(err, data, node) for err in exc.errors()]
        raise ValidationFailed(source, problems) from None


def _sentence(err: Any, data: Any, node: yaml.Node | None) -> str:
    loc = [part for part in err["loc"] if not _is_union_tag(part)]
    line = _line_of(node, loc)
    where = f"line {line}: " if line else ""
    path = _describe_path(data, loc)
    message = _message(err)
    return f"{where}{path}: {message}" if path else f"{where}{message}"


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the discriminator value or the model class name to the location of
    # union members; people never wrote those, so they are left out of the path
    return isinstance(part, str) and (
        part[:1].isupper() or "[" in part or part.startswith("function-")
    )


def _message(err: Any) -> str:
    kind = err["type"]
    given = err.get("input")
    if kind == "missing":
        return "is required but missing; add it"
    if kind == "extra_forbidden":
        return "is not a known field; remove it or check its spelling"
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        return f"unknown type {given!r}; expected one of {expected}"
    if kind == "union_tag_not_found":
        return "needs a 'type' field"
    text = err["msg"]
    text = text[0].lower() + text[1:] if text else text
    text = text.removeprefix("value error, ")
    if isinstance(given, dict | list):
        return text
    return f"{text}, got {given!r}"


def _describe_path(data: Any, loc: list[Any]) -> str:
    parts: list[str] = []
    cursor = data
    for part in loc:
        if isinstance(part, int) and isinstance(cursor, list) and part < len(cursor):
            item = cursor[part]
            name = item.get("name") if isinstance(item, dict) else None
            if name is not None and parts:
                parts[-1] = (
                    f"{parts[-1].removesuffix('s')} {name!r}"
                    if parts[-1].endswith("s")
                    else f"{parts[-1]}[{name!r}]"
                )
            else:
                parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
            cursor = item
            continue
        parts.append(str(part))
        cursor = cursor.get(part) if isinstance(cursor, dict) else None
    return " > ".join(parts)


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int | None:
    """The line of the deepest node along ``loc`` that exists in the file."""
    best = node
    for part in loc:
        if isinstance(best, yaml.MappingNode):
            child = next((v for k, v in best.value if k.value == part), None)
        elif (
            isinstance(best, yaml.SequenceNode) and isinstance(part, int) and part < len(best.value)
        ):
            child = best.value[part]
        else:
            child = None
        if child is None:
            break
        best = child
    return best.start_mark.line + 1 if best is not None else None


def load_model(model: type[M], path: Path) -> M:
    """Read ``path`` as YAML and validate it into ``model``."""
    data, node = read_yaml(path)
    return validate(model, data, source=str(path), node=node)
