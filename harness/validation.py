"""Reading YAML files into validated models, with errors people can act on.

Every problem becomes one sentence naming the file, the line, the item (by its
``name`` when it has one), the field, what was seen and what is expected, e.g.
``drills/x.yaml:14: phase 'fault' > checks[0] > max_ms: must be greater than 0, got -5``.
Pydantic's own error types never reach the user. Problems found across fields
(raised by a model validator, so pydantic gives them no location) are placed on
the line of the item they quote, e.g. the phase whose ``duration_s`` is wrong.
"""

from __future__ import annotations

import re
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
        where = f"{path}:{mark.line + 1}: column {mark.column + 1}: " if mark else f"{path}: "
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed(
            str(path),
            [
                f"{where}not valid YAML: {problem}; fix the syntax there (quotes, brackets, indentation)"
            ],
        ) from None
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
        problems = [_sentence(err, data, node, source) for err in exc.errors()]
        raise ValidationFailed(source, problems) from None


def _sentence(err: Any, data: Any, node: yaml.Node | None, source: str) -> str:
    loc = _written_loc(data, [part for part in err["loc"] if not _is_union_tag(part)])
    if err["type"] == "union_tag_invalid":
        loc = [*loc, "type"]  # point at the line of the unknown type, not the item's start
    message = _message(err)
    line = _line_of(node, loc) if loc else _line_of_quoted(node, message)
    where = f"{source}:{line}: " if line else f"{source}: "
    path = _describe_path(data, loc)
    return f"{where}{path}: {message}" if path else f"{where}{message}"


def locate(node: yaml.Node | None, loc: list[Any], source: str) -> str:
    """``file:line`` of the item at ``loc`` (``file`` alone when there is no such line)."""
    line = _line_of(node, loc) if node is not None else None
    return f"{source}:{line}" if line else source


def _written_loc(data: Any, loc: list[Any]) -> list[Any]:
    """``loc`` without the tags of discriminated unions (``checks[0] > error_rate > max_ratio``
    is written ``checks[0] > max_ratio``): a part that is not a key of the mapping it
    indexes but is that mapping's ``type`` is pydantic's, not the user's."""
    out: list[Any] = []
    cursor = data
    for part in loc:
        if isinstance(cursor, dict) and part not in cursor and cursor.get("type") == part:
            continue
        out.append(part)
        if isinstance(cursor, dict):
            cursor = cursor.get(part)
        elif isinstance(cursor, list) and isinstance(part, int) and part < len(cursor):
            cursor = cursor[part]
        else:
            cursor = None
    return out


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the discriminator value or the model class name to the location of
    # union members; people never wrote those, so they are left out of the path
    return isinstance(part, str) and (
        part[:1].isupper() or "[" in part or part.startswith("function-")
    )


_CRISP = {  # pydantic error type -> (what it must be, fix); the value seen is appended
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list (- item, or [a, b])",
    "dict_type": "must be a mapping of fields (key: value)",
    "model_type": "must be a mapping of fields (key: value)",
    "model_attributes_type": "must be a mapping of fields (key: value)",
}


def _message(err: Any) -> str:
    kind = err["type"]
    given = err.get("input")
    ctx = err.get("ctx", {})
    if kind == "missing":
        return "is required but missing; add it"
    if kind == "extra_forbidden":
        return "is not a known field; remove it or check its spelling"
    if kind == "union_tag_invalid":
        tag = ctx.get("tag", given)
        return f"unknown type {tag!r}; use one of {ctx.get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        return "needs a 'type' field; add one"
    if kind in _CRISP:
        return f"{_CRISP[kind]}, got {given!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()), "?")
        bound = f"{bound:g}" if isinstance(bound, int | float) else bound
        words = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        return f"must be {words} {bound}, got {given!r}"
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


def _line_of_quoted(node: yaml.Node | None, message: str) -> int | None:
    """The line of the item a location-less message quotes (``phase 'x': duration_s ...``).

    The quoted words are tried from the last to the first; the first one that is
    the value of exactly one scalar in the file wins. When the message also names
    a field of the mapping holding that scalar, the field's line is given instead.
    """
    if node is None:
        return None
    scalars = list(_scalars(node, None))
    for word in reversed(re.findall(r"'([^']+)'", message)):
        hits = [(n, parent) for n, parent in scalars if n.value == word]
        if len(hits) != 1:
            continue
        hit, parent = hits[0]
        for key, value in parent.value if isinstance(parent, yaml.MappingNode) else []:
            if re.search(rf"\b{re.escape(str(key.value))}\b", message) and key.value != "name":
                return value.start_mark.line + 1
        return hit.start_mark.line + 1
    return None


def _scalars(node: yaml.Node, parent: yaml.Node | None) -> Any:
    """Every value scalar in the tree, with the mapping or sequence holding it."""
    if isinstance(node, yaml.ScalarNode):
        yield node, parent
    elif isinstance(node, yaml.MappingNode):
        for _key, value in node.value:
            yield from _scalars(value, node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item, node)


def load_model(model: type[M], path: Path) -> M:
    """Read ``path`` as YAML and validate it into ``model``."""
    data, node = read_yaml(path)
    return validate(model, data, source=str(path), node=node)
