"""Reading YAML files into validated models, with errors people can act on.

Every problem becomes one sentence naming the file, the line, the item (by its
``name`` when it has one), the field, what was seen and what is expected, e.g.
``drills/x.yaml:14: phase 'fault' > checks[0] > max_ms: must be greater than 0, got -5``.
Pydantic's own error types never reach the user. Problems found across fields
(raised by a model validator, so pydantic gives them no location) are placed on
the line of the item they quote, e.g. the phase whose ``duration_s`` is wrong.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import ValidationFailed
from harness.limits import (
    LIMITS_DOC,
    MAX_ABS_NUMBER,
    MAX_FILE_BYTES,
    MAX_NAME_CHARS,
    MAX_NAMED_LANES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    limit_named,
)

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The parsed document and its node tree (for line numbers); errors name the file and line.

    Only a regular file of at most :data:`~harness.limits.MAX_FILE_BYTES` is read (a FIFO
    or a device would block or never end), as UTF-8, with :class:`StrictLoader`: duplicate
    keys, nesting past :data:`~harness.limits.MAX_YAML_DEPTH` and aliases that expand past
    :data:`~harness.limits.MAX_YAML_NODES` values are refused before any value is built.
    """
    return parse_yaml(read_text(path), str(path))


def read_text(path: Path, source: str | None = None) -> str:
    """The text of the regular file ``path``, refused with a sentence when it cannot be read;
    ``source`` is how messages name the file (default: the path as given)."""
    source = source or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ValidationFailed(source, [f"{source}: file not found; check the path"]) from None
    except (OSError, ValueError) as exc:
        raise ValidationFailed(source, [f"{source}: cannot read the file: {exc}"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationFailed(
            source,
            [
                f"{source}: is not a regular file (a folder, pipe or device would block or "
                "never end); give the path of a YAML file"
            ],
        )
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ValidationFailed(source, [f"{source}: cannot read the file: {exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        line = raw[:MAX_FILE_BYTES].count(b"\n") + 1
        raise ValidationFailed(
            source,
            [
                f"{source}:{line}: the file passes the limit MAX_FILE_BYTES "
                f"({MAX_FILE_BYTES:,} bytes) here ({LIMITS_DOC}); a drill or fault file "
                "is a few KB - split or shorten it"
            ],
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise ValidationFailed(
            source,
            [
                f"{source}:{line}: column {column}: not UTF-8 text (byte 0x{byte}); "
                "save the file as UTF-8"
            ],
        ) from None


def parse_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """``text`` parsed as one YAML document (see :func:`read_yaml`), and its node tree."""
    loader: StrictLoader | None = None
    try:
        loader = StrictLoader(text)  # checks every character first (ReaderError)
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node, source)
        data = loader.construct_document(node) if node is not None else None
    except Refusal as exc:
        raise ValidationFailed(
            source, [f"{_where(source, exc.problem_mark)}{exc.problem}"]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        raise ValidationFailed(
            source,
            [
                f"{_where(source, mark)}not valid YAML: {problem}; fix the syntax there "
                "(quotes, brackets, indentation)"
            ],
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, by position
        line = text[: exc.position].count("\n") + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ValidationFailed(
            source,
            [
                f"{source}:{line}: column {column}: not valid YAML: character "
                f"{exc.character!r} is not allowed in YAML; remove it"
            ],
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed(source, [f"{source}:1: not valid YAML: {exc}"]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def _where(source: str, mark: yaml.Mark | None) -> str:
    return f"{source}:{mark.line + 1}: column {mark.column + 1}: " if mark else f"{source}:1: "


class Refusal(yaml.MarkedYAMLError):
    """YAML the strict loader refuses on purpose; its problem already says how to fix it."""


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader for files anyone may write: nothing is silently lost or unbounded.

    - a key given twice in one mapping is an error (the second would replace the first:
      ``max_ms: 3000`` then ``max_ms: 999999`` silently loosens an SLA);
    - only ``true``/``false`` are booleans: YAML 1.1's ``on``, ``off``, ``yes`` and ``no``
      stay text (a key ``off:`` would otherwise become ``False``);
    - nesting deeper than :data:`MAX_YAML_DEPTH` is refused while composing (the
      composer recurses; 10,000 brackets would exhaust Python's stack);
    - a value Python cannot build (an integer of 5,000 digits, the date 2001-13-45) is a
      YAML error at its line, not a ``ValueError``.
    """

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise Refusal(
                    None,
                    None,
                    f"nesting deeper than the limit MAX_YAML_DEPTH ({MAX_YAML_DEPTH} levels of "
                    f"mappings and lists, {LIMITS_DOC}); flatten it",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                seen = key in first_line
            except TypeError:  # unhashable: the base class says so, with its line
                break
            if seen:
                raise Refusal(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {first_line[key]}): the "
                    "second value would silently replace the first; keep one",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError, TypeError) as exc:
            raise Refusal(
                None, None, f"cannot read this value ({exc}); write it differently", node.start_mark
            ) from None


StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse aliases that expand past :data:`MAX_YAML_NODES` values or :data:`MAX_YAML_DEPTH`,
    or that refer to the collection they are in; walked without recursion, each node once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        children = _children(node)
        if done:
            open_.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            depth[id(node)] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[id(node)] > MAX_YAML_NODES or depth[id(node)] > MAX_YAML_DEPTH:
                what = (
                    f"more than the limit MAX_YAML_NODES ({MAX_YAML_NODES:,} values)"
                    if size[id(node)] > MAX_YAML_NODES
                    else f"deeper than the limit MAX_YAML_DEPTH ({MAX_YAML_DEPTH} levels)"
                )
                raise Refusal(
                    None,
                    None,
                    f"with its aliases (*name) expanded, this value holds {what}, "
                    f"{LIMITS_DOC}; write the values out or use fewer aliases",
                    node.start_mark,
                )
            continue
        if id(node) in size:
            continue
        open_.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_:
                raise Refusal(
                    None,
                    None,
                    "an alias (*name) here refers to a collection it is inside, which would "
                    "never end; remove the alias",
                    node.start_mark,
                )
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def validate(model: type[M], data: Any, *, source: str, node: yaml.Node | None = None) -> M:
    """``model`` validated from ``data``, or :class:`ValidationFailed` listing every problem.

    Every number must be finite and at most :data:`~harness.limits.MAX_ABS_NUMBER` in
    size, both as written and after pydantic read it (``"1e308"`` in quotes becomes a
    float too), so that no later sum or ratio overflows."""
    if not isinstance(data, dict):
        seen = "an empty file" if data is None else f"a {type(data).__name__}"
        where = (
            f"{source}:{_line_of(node, []) or 1}" if node is not None or data is None else source
        )
        raise ValidationFailed(
            source, [f"{where}: expected a mapping of fields at the top level, got {seen}"]
        )
    problems = number_problems(data, node, source)
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        problems += [_sentence(err, data, node, source) for err in exc.errors()]
        raise ValidationFailed(source, problems) from None
    except (ArithmeticError, ValueError):  # a model's own check met a number refused above
        if not problems:
            raise
        raise ValidationFailed(source, problems) from None
    problems += number_problems(validated.model_dump(by_alias=True), node, source)
    if problems:
        raise ValidationFailed(source, list(dict.fromkeys(problems)))
    return validated


def number_problems(data: Any, node: yaml.Node | None, source: str) -> list[str]:
    """Numbers in ``data`` that are not finite or pass :data:`MAX_ABS_NUMBER`, one sentence each."""
    return [
        _sentence_at(loc, problem, data, node, source)
        for loc, value in _numbers(data, [])
        if (problem := _number_problem(value))
    ]


def _numbers(value: Any, loc: list[Any]) -> Any:
    """Every number in ``value`` (not booleans), with its location."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, [*loc, key])
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _numbers(item, [*loc, index])


def _number_problem(value: int | float) -> str | None:
    if isinstance(value, float) and math.isnan(value):
        return "must be a number, got nan; write a number"
    if isinstance(value, float) and math.isinf(value):
        return f"must be a finite number, got {value}; write a number"
    if abs(value) > MAX_ABS_NUMBER:
        shown = f"{value:g}" if isinstance(value, float) else f"{value:.3g}"
        return (
            f"is above the limit MAX_ABS_NUMBER ({MAX_ABS_NUMBER:g} in size, {LIMITS_DOC}), "
            f"got {shown}; use a smaller number"
        )
    return None


def _sentence_at(
    loc: list[Any], message: str | None, data: Any, node: yaml.Node | None, source: str
) -> str:
    line = _line_of(node, loc)
    where = f"{source}:{line}: " if line else f"{source}: "
    path = _describe_path(data, loc)
    return f"{where}{path}: {message}" if path else f"{where}{message}"


def _sentence(err: Any, data: Any, node: yaml.Node | None, source: str) -> str:
    loc = _written_loc(data, [part for part in err["loc"] if not _is_union_tag(part)])
    if err["type"] == "union_tag_invalid":
        loc = [*loc, "type"]  # point at the line of the unknown type, not the item's start
    message = _message(err)
    line = _line_of(node, loc) if loc else _line_of_quoted(node, message)
    if line is None and node is not None:  # a problem of the whole item: its first line
        line = _line_of(node, loc)
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
        expected = ctx.get("expected_tags", "")
        return f"unknown type {_seen(tag)}; {_did_you_mean(tag, expected)}use one of {expected}"
    if kind in ("enum", "literal_error"):
        expected = re.sub(r"<[\w.]+: ('[^']*')>", r"\1", str(ctx.get("expected", "")))
        return f"{_did_you_mean(given, expected)}must be one of {expected}, got {_seen(given)}"
    if kind == "union_tag_not_found":
        return "needs a 'type' field; add one"
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        named = f" (the limit MAX_NAME_CHARS, {LIMITS_DOC})" if limit == MAX_NAME_CHARS else ""
        return f"must be at most {limit} characters{named}, got {_seen(given)}"
    if kind == "too_long":
        limit = ctx.get("max_length")
        named = f" (the limit MAX_NAMED_LANES, {LIMITS_DOC})" if limit == MAX_NAMED_LANES else ""
        return f"must have at most {limit} items{named}, got {ctx.get('actual_length', '?')}"
    if kind in _CRISP:
        return f"{_CRISP[kind]}, got {_seen(given)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = ctx_bound = next(iter(ctx.values()), "?")
        field = next((p for p in reversed(err["loc"]) if isinstance(p, str)), None)
        bound = f"{bound:g}" if isinstance(bound, int | float) else bound
        words = {
            "greater_than": "greater than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }[kind]
        limit = limit_named(field, ctx_bound)
        named = f" (the limit {limit}, {LIMITS_DOC})" if limit else ""
        return f"must be {words} {bound}{named}, got {_seen(given)}"
    text = err["msg"]
    text = text[0].lower() + text[1:] if text else text
    text = text.removeprefix("value error, ")
    if isinstance(given, dict | list):
        return text
    return f"{text}, got {_seen(given)}"


def _did_you_mean(given: Any, expected: str) -> str:
    """``did you mean 'error_rate'? `` when ``given`` is close to one of the quoted names."""
    names = re.findall(r"'([^']*)'", str(expected))
    close = difflib.get_close_matches(str(given), names, n=1) if isinstance(given, str) else []
    return f"did you mean '{close[0]}'? " if close else ""


def _seen(value: Any) -> str:
    """``repr(value)``, cut to a readable length (a value may be a 500 KB string)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def _key(part: Any) -> str:
    """A key as the path shows it: as written when plain, quoted when odd (empty, unprintable)."""
    text = str(part)
    return text if text.isprintable() and text.strip() and len(text) <= 60 else _seen(part)


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
        parts.append(_key(part))
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


def is_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; False, not an error, for a name too long for the
    system or with a NUL in it (``Path.is_file`` raises for those)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
