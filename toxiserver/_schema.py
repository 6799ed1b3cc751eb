"""Decode JSON request bodies with Go's encoding/json rules and error wording.

Toxiproxy decodes bodies into Go structs: unknown keys are ignored, `null`
leaves the default, and a value of the wrong type fails with
`json: cannot unmarshal <what> into Go struct field <Struct>.<field> of type <T>`.
As in Go, `NaN`/`Infinity` are not JSON, integers must fit int64, and nesting
deeper than the decoder allows is a 400 (Go allows 10000 levels, Python's
decoder about 1000: deeper bodies are refused here, see docs/toxiserver.md).

Beyond Go (which checks none of this): `check_name` and `check_length` bound
the names and addresses a request may store (see docs/toxiserver.md).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import BAD_REQUEST_BODY, ApiError

# field kind -> Go type name used in the error text
GO_TYPES = {"str": "string", "int": "int64", "float": "float32", "bool": "bool"}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_NAME_CHARS = 256  # proxy and toxic names (Toxiproxy has no limit)
MAX_ADDRESS_CHARS = 1024  # listen and upstream
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _reject_constant(name: str) -> Any:
    raise BAD_REQUEST_BODY.joined(f"invalid character '{name[0]}' looking for beginning of value")


def parse_json(raw: bytes) -> Any:
    """Parse a body or raise 400 `bad request body: ...` (empty body is Go's EOF)."""
    if not raw.strip():
        raise BAD_REQUEST_BODY.joined("EOF")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise BAD_REQUEST_BODY.joined("exceeded max depth") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BAD_REQUEST_BODY.joined(f"invalid JSON: {exc}") from exc


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return f"number {value}"  # Go: an integer that overflows its field
    if isinstance(value, int | float):
        return f"number {value}" if isinstance(value, float) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fits(kind: str, value: Any) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and INT64_MIN <= value <= INT64_MAX
        )
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise ValueError(f"unknown field kind {kind!r}")


def type_error(struct: str, field: str, kind: str, value: Any) -> ApiError:
    """The 400 error Go reports when `value` does not fit `struct.field`."""
    detail = (
        f"json: cannot unmarshal {_json_kind(value)} into Go struct field "
        f"{struct}.{field} of type {GO_TYPES[kind]}"
    )
    return BAD_REQUEST_BODY.joined(detail)


def expect_object(value: Any, go_type: str) -> dict[str, Any]:
    """Return `value` if it is a JSON object, else the 400 Go reports."""
    if not isinstance(value, dict):
        raise BAD_REQUEST_BODY.joined(
            f"json: cannot unmarshal {_json_kind(value)} into Go value of type {go_type}"
        )
    return value


def decode_fields(
    body: dict[str, Any], fields: dict[str, str], struct: str, defaults: dict[str, Any]
) -> dict[str, Any]:
    """Merge known, correctly typed `fields` of `body` over `defaults`; ignore the rest."""
    out = dict(defaults)
    for name, kind in fields.items():
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if not _fits(kind, value):
            raise type_error(struct, name, kind, value)
        out[name] = float(value) if kind == "float" else value
    return out


def check_length(field: str, value: str, limit: int) -> None:
    """400 if ``value`` is longer than ``limit`` characters (a bound Toxiproxy lacks)."""
    if len(value) > limit:
        raise BAD_REQUEST_BODY.joined(
            f"{field} is {len(value)} characters long, more than the {limit} allowed"
        )


def check_name(field: str, value: str) -> None:
    """400 for a name that could not be used in a URL path or a log line.

    Toxiproxy stores such names, but one with '/' can never be addressed again
    (its routes match one path segment) and control characters break every log.
    """
    check_length(field, value, MAX_NAME_CHARS)
    if "/" in value:
        raise BAD_REQUEST_BODY.joined(f"{field} {value!r} contains '/'; it could not be addressed")
    if _CONTROL.search(value):
        raise BAD_REQUEST_BODY.joined(f"{field} {value!r} contains a control character")
