"""Load a :class:`RunReport` back from a run directory or a report.json, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic

from harness.errors import InputError, ValidationFailed
from harness.results.model import SCHEMA_VERSION, RunReport

REPORT_JSON = "report.json"
_MAX_PROBLEMS = 10


def load_report(path: Path | str) -> RunReport:
    """Return the report in ``path``: a run directory (containing report.json) or a report.json.

    Raises InputError naming the file, what is wrong and the fix: a missing path, a
    directory that is not a run directory, invalid JSON (with line and column), a
    different schema_version, or fields that do not match the report model
    (ValidationFailed, listing each).
    """
    file = _report_file(Path(path))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read the report ({exc}); check the file's permissions "
                         "and that it is a report.json written by the harness") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{file}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}; "
            "the file is damaged or truncated - re-render it from the run's raw records "
            "or run the drill again"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{file}: expected a JSON object (a run report), found "
                         f"{type(data).__name__}; pass a report.json written by the harness")
    _check_schema_version(file, data)
    try:
        return RunReport.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = [_problem(err) for err in exc.errors()[:_MAX_PROBLEMS]]
        if exc.error_count() > _MAX_PROBLEMS:
            problems.append(f"... and {exc.error_count() - _MAX_PROBLEMS} more")
        raise ValidationFailed(f"{file}: not a valid run report", problems) from exc


def _report_file(path: Path) -> Path:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory; pass a run directory "
                         f"(e.g. reports/<run-id>/) or the path of its {REPORT_JSON}")
    if path.is_file():
        return path
    file = path / REPORT_JSON
    if file.is_file():
        return file
    found = sorted(p.name for p in path.iterdir())[:8]
    listing = ", ".join(found) if found else "it is empty"
    raise InputError(
        f"{path}: not a run directory: no {REPORT_JSON} inside (found: {listing}); "
        f"pass the directory a drill run wrote (reports/<run-id>/) or a {REPORT_JSON} path"
    )


def _check_schema_version(file: Path, data: dict[str, object]) -> None:
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            f"{file}: schema_version is {version!r}, this harness reads version {SCHEMA_VERSION}; "
            "re-render the report with this harness version (or compare with the harness "
            "version that wrote it)"
        )


def _problem(err: object) -> str:
    e = err if isinstance(err, dict) else {}
    where = ".".join(str(part) for part in e.get("loc", ())) or "(top level)"
    return f"{where}: {e.get('msg', 'invalid')}"
