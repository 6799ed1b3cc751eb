"""Write a run's reports into its run directory, one file per registered format."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from harness.errors import InfrastructureError
from harness.report import formats as registry
from harness.results.model import RunReport


def write_reports(report: RunReport, run_dir: Path,
                  formats: Iterable[str] | None = None) -> dict[str, Path]:
    """Render ``report`` in each named format (all registered ones by default) into ``run_dir``.

    Every format is rendered before anything is written, and each file is replaced
    atomically, so a failure never leaves a half-written report. Returns
    ``{format name: path}`` in the order written. Raises InputError for an unknown
    format name, InfrastructureError when the directory cannot be written.
    """
    names = list(registry.FORMATS) if formats is None else list(dict.fromkeys(formats))
    chosen = [registry.get(name) for name in names]
    rendered = [(fmt, fmt.render(report)) for fmt in chosen]
    run_dir = Path(run_dir)
    written: dict[str, Path] = {}
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        for fmt, text in rendered:
            written[fmt.name] = _write_atomically(run_dir / fmt.filename, text)
    except OSError as exc:
        raise InfrastructureError(
            f"{run_dir}: cannot write the reports ({exc.strerror or exc}); "
            "check that the directory is writable and the disk is not full"
        ) from exc
    return written


def _write_atomically(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
