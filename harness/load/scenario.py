"""Loading a scenario's (a plain locustfile's) user classes.

A locustfile is code: importing it can take forever, end the process or print
anything. ``harness run`` imports it in-process (it needs the classes), with
``os._exit`` turned into an error for the duration of the import, so a scenario that
ends the process at import is an input error (exit 2), never a silent exit 0;
``harness validate`` asks :func:`harness.load.probe.probe_user_classes`, which runs
this module's ``__main__`` in a child process with a time limit.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from locust import User
from locust.util.load_locustfile import load_locustfile

from harness.errors import InputError


def load_user_classes(path: Path, wanted: list[str]) -> list[type[User]]:
    """The user classes of the locustfile at ``path``: all of them, or those named in ``wanted``."""
    try:
        with _no_hard_exit():
            found, _shapes = load_locustfile(str(path))
    except _HardExit as exc:
        raise InputError(
            f"{path}:{_line_in(exc, path)}: the scenario ended the process while being imported "
            f"(exit code {exc.code}, os._exit) - remove the exit at import: a drill would end "
            "with no verdict"
        ) from None
    except SystemExit as exc:
        raise InputError(
            f"{path}:{_line_in(exc, path)}: the scenario exited while being imported (or Locust "
            f"could not import it); run `locust -f {path}` to see why"
        ) from None
    except BaseException as exc:  # user code: name its line, don't dump a traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise InputError(
            f"{path}:{_line_in(exc, path)}: importing the scenario failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if not found:
        raise InputError(f"{path}: no Locust User classes in this file; define at least one")
    if not wanted:
        return list(found.values())
    missing = [name for name in wanted if name not in found]
    if missing:
        raise InputError(
            f"{path}: user class(es) {', '.join(missing)} not in this file "
            f"(found: {', '.join(sorted(found))}); fix 'load.user_classes'"
        )
    return [found[name] for name in wanted]


class _HardExit(BaseException):
    """``os._exit`` called by a scenario while it was being imported."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code


@contextmanager
def _no_hard_exit() -> Iterator[None]:
    real = os._exit

    def refuse(code: int) -> None:
        raise _HardExit(code)

    os._exit = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        os._exit = real


def _line_in(exc: BaseException, path: Path) -> int:
    """The line of ``path`` where ``exc`` was raised (its last frame there; 1 when none)."""
    if isinstance(exc, SyntaxError) and exc.lineno and Path(exc.filename or "") == Path(path):
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == Path(path)]
    return (frames[-1].lineno or 1) if frames else 1


def _probe_main(argv: list[str]) -> None:
    """The child of :func:`harness.load.probe.probe_user_classes`: ``PATH RESULT [CLASS ...]``."""
    path, result, wanted = Path(argv[0]), Path(argv[1]), argv[2:]
    try:
        found = load_user_classes(path, wanted)
        answer: dict = {"classes": [cls.__name__ for cls in found]}
    except InputError as exc:
        answer = {"error": str(exc)}
    result.write_text(json.dumps(answer), encoding="utf-8")
    sys.stdout.flush()
    os._exit(0)  # the scenario may have left threads or greenlets behind


if __name__ == "__main__":
    _probe_main(sys.argv[1:])
