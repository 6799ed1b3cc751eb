"""A small JSON path: dotted field names and list indexes, e.g. ``data.tickets[0].id``.

Enough to point at one value in an answer (no wildcards, no filters). A name is any
run of characters other than ``.``, ``[`` and ``]``; an index is a whole number in
brackets, negative from the end (``items[-1]``). A top-level list starts with its
index (``[0].id``).
"""

from __future__ import annotations

import json
import re

_WHOLE = re.compile(r"(?:[^.\[\]]+|\[-?\d+\])(?:\.[^.\[\]]+|\[-?\d+\])*")
_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")

JsonPath = tuple[str | int, ...]


def parse(path: str) -> JsonPath:
    """The parts of ``path``; ValueError with a sentence saying what is wrong."""
    if not _WHOLE.fullmatch(path):
        raise ValueError(
            "is not a JSON path: use field names joined by '.', list indexes in brackets, "
            "e.g. data.ticket.id or items[0].id"
        )
    return tuple(name if name else int(index) for name, index in _PART.findall(path))


def lookup(document: object, path: JsonPath) -> object:
    """The value at ``path`` in a parsed document, or None when there is none."""
    for part in path:
        if isinstance(part, int):
            if not isinstance(document, list) or not -len(document) <= part < len(document):
                return None
            document = document[part]
        elif isinstance(document, dict):
            document = document.get(part)
        else:
            return None
    return document


def lookup_in(body: bytes | str | None, path: JsonPath) -> tuple[bool, object]:
    """``(parsed, value)``: whether ``body`` is JSON at all, and the value at ``path``."""
    if not body:
        return False, None
    try:
        document = json.loads(body)
    except ValueError:
        return False, None
    return True, lookup(document, path)
