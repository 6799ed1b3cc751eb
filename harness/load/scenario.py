"""Loading a scenario's (a plain locustfile's) user classes."""

from __future__ import annotations

from pathlib import Path

from locust import User
from locust.util.load_locustfile import load_locustfile

from harness.errors import InputError


def load_user_classes(path: Path, wanted: list[str]) -> list[type[User]]:
    """The user classes of the locustfile at ``path``: all of them, or those named in ``wanted``."""
    try:
        found, _shapes = load_locustfile(str(path))
    except SystemExit:
        raise InputError(
            f"{path}: Locust could not import this locustfile; run `locust -f {path}` to see why"
        ) from None
    except Exception as exc:  # an import error in user code: name it, don't dump a traceback
        raise InputError(
            f"{path}: importing the scenario failed: {type(exc).__name__}: {exc}"
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
