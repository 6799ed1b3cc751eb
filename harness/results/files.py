"""The raw files of one run directory: appended while the drill runs, read back to rebuild reports.

Each append is one JSON line written through at once (line-buffered), so a
crash loses at most the line being written; readers skip a torn last line.
See :mod:`harness.results.raw` for what each file holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import InputError
from harness.results.model import ServerSample, TimelineEvent
from harness.results.raw import AckedWrite, GeneratorRow, MetricRow, RunMeta, WriteVerification

RAW = "raw"
RUN = "run.json"
JOURNAL = "journal.jsonl"
METRICS = "metrics.jsonl"
WRITES = "writes.jsonl"
VERIFICATION = "verification.json"
SERVER = "server.jsonl"
GENERATOR = "generator.jsonl"

M = TypeVar("M", bound=BaseModel)


class RunFiles:
    """Writer for ``<run_dir>/raw/``; one instance per run, closed in ``finally``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.raw_dir = run_dir / RAW
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        self._streams: dict[str, IO[str]] = {}

    def write_meta(self, meta: RunMeta) -> None:
        _write_atomically(self.raw_dir / RUN, meta.model_dump_json(indent=2))

    def write_verification(self, verification: WriteVerification) -> None:
        _write_atomically(self.raw_dir / VERIFICATION, verification.model_dump_json(indent=2))

    def event(self, event: TimelineEvent) -> None:
        self._append(JOURNAL, event)

    def metric_rows(self, rows: list[MetricRow]) -> None:
        for row in rows:
            self._append(METRICS, row)

    def write(self, write: AckedWrite) -> None:
        self._append(WRITES, write)

    def server_sample(self, sample: ServerSample) -> None:
        self._append(SERVER, sample)

    def generator_row(self, row: GeneratorRow) -> None:
        self._append(GENERATOR, row)

    def _append(self, name: str, record: BaseModel) -> None:
        stream = self._streams.get(name)
        if stream is None:
            stream = open(self.raw_dir / name, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            self._streams[name] = stream
        stream.write(record.model_dump_json() + "\n")

    def close(self) -> None:
        for stream in self._streams.values():
            stream.flush()
            os.fsync(stream.fileno())
            stream.close()
        self._streams.clear()


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class RunData:
    """Everything in a run directory's raw files, parsed."""

    def __init__(self, run_dir: Path) -> None:
        raw_dir = run_dir / RAW
        meta_path = raw_dir / RUN
        if not meta_path.is_file():
            raise InputError(
                f"{run_dir}: not a run directory (no {RAW}/{RUN}); give a directory that "
                "`harness run` wrote, e.g. reports/<run id>"
            )
        try:
            self.meta = RunMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise InputError(
                f"{meta_path}: not a valid run description: {exc.errors()[0]['msg']}"
            ) from None
        self.run_dir = run_dir
        self.events = list(_read_lines(raw_dir / JOURNAL, TimelineEvent))
        self.metrics_path = raw_dir / METRICS
        self.writes = list(_read_lines(raw_dir / WRITES, AckedWrite))
        self.server_samples = list(_read_lines(raw_dir / SERVER, ServerSample))
        self.generator_rows = list(_read_lines(raw_dir / GENERATOR, GeneratorRow))  # [] in old runs
        verification_path = raw_dir / VERIFICATION
        self.verification = (
            WriteVerification.model_validate_json(verification_path.read_text(encoding="utf-8"))
            if verification_path.is_file()
            else None
        )

    def metric_rows(self) -> Iterator[MetricRow]:
        return _read_lines(self.metrics_path, MetricRow)


def _read_lines(path: Path, model: type[M]) -> Iterator[M]:
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield model.model_validate(json.loads(line))
            except (ValueError, ValidationError):
                # a torn last line from a crash is expected; anything else is damage
                remainder = stream.read()
                if remainder.strip():
                    raise InputError(
                        f"{path}:{number}: damaged record; the run's raw files were edited or "
                        "corrupted - restore them or re-run the drill"
                    ) from None
                return
