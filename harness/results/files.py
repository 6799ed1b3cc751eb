"""The raw files of one run directory: appended while the drill runs, read back to rebuild reports.

Each append is one JSON line written through at once (one ``write`` to a file
opened for appending), so a crash loses at most the line being written; readers
skip a torn last line. See :mod:`harness.results.raw` for what each file holds.

When the disk refuses (full, read-only, a size limit), a write is retried a few
times (``WRITE_ATTEMPTS``, short pauses) from where it stopped; then that file
takes no more lines (its torn last line, if any, stays last) and
:attr:`RunFiles.failure` says what happened. Writers never see the error: the
drill runner polls ``failure`` and ends the run as inconclusive (exit 3) with
that reason, after removing its faults. What was written is kept.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import InputError, ResultsWriteError
from harness.limits import MIN_BUCKET_S
from harness.metrics.histogram import BadHistogram, Latency
from harness.results.model import EventKind, ServerSample, TimelineEvent
from harness.results.raw import (
    AckedWrite,
    GeneratorRow,
    LoadLevelRow,
    MetricRow,
    ProbeRun,
    RunMeta,
    WriteVerification,
)

RAW = "raw"
RUN = "run.json"
JOURNAL = "journal.jsonl"
METRICS = "metrics.jsonl"
WRITES = "writes.jsonl"
VERIFICATION = "verification.json"
SERVER = "server.jsonl"
GENERATOR = "generator.jsonl"
PROBES = "probes.jsonl"
LOAD = "load.jsonl"
MANIFEST = "manifest.json"

M = TypeVar("M", bound=BaseModel)
WRITE_ATTEMPTS = 3
RETRY_PAUSES_S = (0.05, 0.2)  # between attempts (gevent-friendly once time is patched)

log = logging.getLogger(__name__)


class RunFiles:
    """Writer for ``<run_dir>/raw/``; one instance per run, closed in ``finally``.

    Raises :class:`ResultsWriteError` only when the run directory cannot be made;
    later write failures are retried, then recorded in :attr:`failure`.
    """

    def __init__(self, run_dir: Path, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.run_dir = run_dir
        self.raw_dir = run_dir / RAW
        try:
            self.raw_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsWriteError(
                f"cannot create the run directory {self.raw_dir} ({exc.strerror or exc}) - "
                "make --reports-dir writable or point it elsewhere"
            ) from exc
        self._fds: dict[str, int] = {}
        self._dead: set[str] = set()
        self._sleep = sleep
        self.failure: str | None = None  # the first write that failed for good

    def write_meta(self, meta: RunMeta) -> None:
        self._retrying(
            RUN, lambda: _write_atomically(self.raw_dir / RUN, meta.model_dump_json(indent=2))
        )

    def write_verification(self, verification: WriteVerification) -> None:
        text = verification.model_dump_json(indent=2)
        self._retrying(VERIFICATION, lambda: _write_atomically(self.raw_dir / VERIFICATION, text))

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

    def probe_run(self, run: ProbeRun) -> None:
        self._append(PROBES, run)

    def load_level(self, row: LoadLevelRow) -> None:
        self._append(LOAD, row)

    def _append(self, name: str, record: BaseModel) -> None:
        if name in self._dead:
            return
        pending = memoryview((record.model_dump_json() + "\n").encode())

        def write_rest() -> None:
            nonlocal pending
            fd = self._fds.get(name)
            if fd is None:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                fd = self._fds[name] = os.open(self.raw_dir / name, flags, 0o644)
            while pending:
                pending = pending[os.write(fd, pending) :]

        self._retrying(name, write_rest)

    def _retrying(self, name: str, attempt: Callable[[], None]) -> None:
        """Run ``attempt`` up to ``WRITE_ATTEMPTS`` times; then give the file up and record why."""
        for number in range(1, WRITE_ATTEMPTS + 1):
            try:
                attempt()
                return
            except OSError as exc:
                if number < WRITE_ATTEMPTS:
                    self._sleep(RETRY_PAUSES_S[min(number, len(RETRY_PAUSES_S)) - 1])
                    continue
                self._dead.add(name)
                reason = (
                    f"the results disk refused {self.raw_dir / name} ({exc.strerror or exc}; "
                    f"{WRITE_ATTEMPTS} attempts)"
                )
                log.warning("%s", reason)
                self.failure = self.failure or reason

    def close(self) -> None:
        """Flush every file to disk and close it; a failure is recorded, not raised."""
        for name, fd in self._fds.items():
            try:
                os.fsync(fd)
            except OSError as exc:
                self.failure = self.failure or (
                    f"the results disk refused {self.raw_dir / name} ({exc.strerror or exc})"
                )
            finally:
                os.close(fd)
        self._fds.clear()
        _write_manifest(self.raw_dir)


def _write_manifest(raw_dir: Path) -> None:
    """``manifest.json``: the lines each raw file holds now, so a reader notices a file cut
    short at a line's end or added to later. Best effort: without it, readers trust the files."""
    try:
        lines = {p.name: _count_lines(p) for p in sorted(raw_dir.glob("*.jsonl"))}
        _write_atomically(raw_dir / MANIFEST, json.dumps({"lines": lines}, indent=2))
    except OSError as exc:
        log.warning("could not write %s: %s", raw_dir / MANIFEST, exc)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as stream:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class RunData:
    """Everything in a run directory's raw files, parsed, tolerant of a crash, strict about damage.

    A torn last line (a crash mid-write) is skipped. Damage is named in :attr:`damage`
    (``file:line: what``) and the record left out: a line that is not UTF-8, not JSON or
    not of its type; an impossible record (a negative count, a bucket outside the drill
    and its drain, an unreadable histogram, a fault event without its fault); a torn
    line after the run recorded its end; a file whose lines differ from ``manifest.json``.
    Only ``run.json`` must be whole: without it :class:`InputError`."""

    def __init__(self, run_dir: Path) -> None:
        raw_dir = run_dir / RAW
        meta_path = raw_dir / RUN
        if not meta_path.is_file():
            raise InputError(
                f"{run_dir}: not a run directory (no {RAW}/{RUN}); give a directory that "
                "`harness run` wrote, e.g. reports/<run id>"
            )
        self.meta = _read_meta(meta_path)
        self.run_dir = run_dir
        self.damage: list[str] = []
        self._end_s = _drill_end_s(self.meta.drill)  # seconds a record may lie past t = 0
        self.events = self._records(raw_dir / JOURNAL, TimelineEvent, _event_problem)
        self.ended = any(e.kind is EventKind.RUN_ENDED for e in self.events)
        self.metrics_path = raw_dir / METRICS
        self.writes = self._records(raw_dir / WRITES, AckedWrite, _finite_problem)
        self.server_samples = self._records(raw_dir / SERVER, ServerSample, _finite_problem)
        self.generator_rows = self._records(  # [] in old runs
            raw_dir / GENERATOR, GeneratorRow, self._generator_problem
        )
        self.probe_runs = self._records(raw_dir / PROBES, ProbeRun, _finite_problem)  # [] if none
        self.load_levels = self._records(  # [] in old runs
            raw_dir / LOAD, LoadLevelRow, self._load_problem
        )
        self.verification = self._verification(raw_dir / VERIFICATION)
        self._check_manifest(raw_dir)

    def _check_manifest(self, raw_dir: Path) -> None:
        """Compare each raw file's lines with what ``manifest.json`` says the run wrote."""
        try:
            written = json.loads((raw_dir / MANIFEST).read_bytes())["lines"]
            written = {str(k): int(v) for k, v in written.items()}
        except FileNotFoundError:  # a run made before manifests, or one that crashed
            written = None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            self.damage.append(f"{raw_dir / MANIFEST}: damaged ({_why(exc)})")
            return
        if written is None:
            if self.ended and not self.metrics_path.is_file():
                self.damage.append(
                    f"{self.metrics_path}: missing, although the run recorded its end: every "
                    "figure of the run is gone"
                )
            return
        for name, count in written.items():
            path = raw_dir / name
            found = _count_lines(path) if path.is_file() else None
            if found is None:
                self.damage.append(f"{path}: missing; the run wrote {count} lines to it")
            elif found != count:
                how = "cut short" if found < count else "added to after the run"
                self.damage.append(
                    f"{path}:{min(found, count) + 1}: {how}: it holds {found} lines, the run "
                    f"wrote {count}"
                )

    def metric_rows(self) -> Iterator[MetricRow]:
        """The rows of ``metrics.jsonl``, streamed; damaged ones are added to :attr:`damage`."""
        return self._records_iter(self.metrics_path, MetricRow, self._metric_problem)

    def _records(self, path: Path, model: type[M], problem: Callable[[M], str | None]) -> list[M]:
        return list(self._records_iter(path, model, problem))

    def _records_iter(
        self, path: Path, model: type[M], problem: Callable[[M], str | None]
    ) -> Iterator[M]:
        """The valid records of ``path``. A last line without its newline is torn (a crash);
        after a run that recorded its end, that too is damage."""
        if not path.is_file():
            return
        found: list[str] = []
        with open(path, "rb") as stream:
            for number, raw in enumerate(stream, start=1):
                torn = not raw.endswith(b"\n")
                if torn and not self.ended:
                    return
                why = "cut off (no end of line) although the run recorded its end" if torn else None
                record = None
                if why is None:
                    record, why = _parse(raw, model)
                if why is None and record is not None:
                    why = problem(record)
                if why is None and record is not None:
                    yield record
                    continue
                if why != "blank":
                    found.append(f"{path}:{number}: {why}")
                    self._note(path, found)

    def _note(self, path: Path, found: list[str]) -> None:
        """Add the newest damage of ``path`` to :attr:`damage` (the first few named, then counted)."""
        if len(found) <= MAX_DAMAGE_LINES:
            self.damage.append(found[-1])
            return
        summary = f"{path}: {len(found) - MAX_DAMAGE_LINES} more damaged records"
        if (
            self.damage
            and self.damage[-1].startswith(f"{path}: ")
            and "more damaged" in self.damage[-1]
        ):
            self.damage[-1] = summary
        else:
            self.damage.append(summary)

    def _verification(self, path: Path) -> WriteVerification | None:
        if not path.is_file():
            return None
        try:
            verification = WriteVerification.model_validate_json(path.read_bytes())
        except (OSError, ValueError) as exc:
            self.damage.append(f"{path}: damaged ({_why(exc)}); the read-back of writes is unknown")
            return None
        if not all(math.isfinite(v) for v in [verification.checked_at_s]):
            self.damage.append(f"{path}: damaged (checked_at_s is not finite)")
            return None
        return verification

    def _metric_problem(self, row: MetricRow) -> str | None:
        counts = [row.count, row.retry_after_missing, *row.errors.values()]
        if any(n < 0 for n in counts):
            return f"impossible record: a negative count ({min(counts)})"
        if row.retry_after_missing > row.count or sum(row.errors.values()) > row.count:
            return f"impossible record: more sub-counts than its count {row.count}"
        outside = self._outside(row.bucket, 0.0)
        if outside:
            return outside
        for blob in (row.hist, row.hist_corrected):
            if blob is not None and (why := _histogram_problem(blob)):
                return why
        return None

    def _generator_problem(self, row: GeneratorRow) -> str | None:
        values = [row.samples, row.lag_max_ms, row.lag_mean_ms, row.cpu_percent]
        if any(not math.isfinite(v) or v < 0 for v in values):
            return "impossible record: a negative or non-finite figure"
        return self._outside(row.bucket, GENERATOR_SLACK_S)

    def _load_problem(self, row: LoadLevelRow) -> str | None:
        if not math.isfinite(row.level) or row.level < 0 or row.users < 0:
            return "impossible record: a negative or non-finite load level"
        return self._outside(row.bucket, 0.0)

    def _outside(self, bucket: int, slack_s: float) -> str | None:
        """Why ``bucket`` cannot hold a record of this run (None when it can)."""
        limit = math.ceil((self._end_s + slack_s) / self.meta.bucket_s) if self._end_s else None
        if bucket < 0 or (limit is not None and bucket >= limit):
            return (
                f"impossible record: bucket {bucket} lies outside the drill (buckets 0 to "
                f"{(limit or 1) - 1} of {self.meta.bucket_s:g} s, drain included)"
            )
        return None


GENERATOR_SLACK_S = 60.0  # the load processes watch themselves a little past the drain


def _read_meta(path: Path) -> RunMeta:
    """``run.json``, or InputError: without it no report can be rebuilt."""
    try:
        meta = RunMeta.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: damaged ({_why(exc)}); the run cannot be judged without the drill it "
            "describes - restore the file or re-run the drill"
        ) from None
    if not (math.isfinite(meta.bucket_s) and meta.bucket_s >= MIN_BUCKET_S):
        raise InputError(
            f"{path}: damaged (bucket_s {meta.bucket_s!r} is below {MIN_BUCKET_S:g} s); "
            "restore the file or re-run the drill"
        )
    return meta


def _drill_end_s(drill: dict[str, Any]) -> float | None:
    """Seconds from t = 0 to the end of the drill's drain, read from ``run.json``'s drill
    (None when it does not say; the drill's own validation names that)."""
    try:
        phases = sum(float(p["duration_s"]) for p in drill["phases"])
        drain = float((drill.get("load") or {}).get("drain_s", 10.0))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    end = phases + drain + 1.0  # + 1 s: the run loop's last tick
    return end if math.isfinite(end) and end > 0 else None


def _parse(raw: bytes, model: type[M]) -> tuple[M | None, str | None]:
    """A record from one line, or why not ("blank" for an empty line)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte 0x{raw[exc.start : exc.start + 1].hex()})"
    if not text.strip():
        return None, "blank"
    try:
        return model.model_validate_json(text), None
    except ValueError as exc:
        return None, f"damaged record ({_why(exc)})"


def _finite_problem(record: BaseModel) -> str | None:
    bad = [k for k, v in record if isinstance(v, float) and not math.isfinite(v)]
    return f"impossible record: {', '.join(bad)} not finite" if bad else None


_FAULT_KEYS = {
    "script": str,
    "fault": str,
    "proxy": str,
    "type": str,
    "planned_start_s": (int, float),
    "planned_end_s": (int, float),
}


def _event_problem(event: TimelineEvent) -> str | None:
    if not math.isfinite(event.t_s):
        return f"impossible record: t_s {event.t_s} is not finite"
    if event.kind in (EventKind.FAULT_APPLIED, EventKind.FAULT_REVERTED):
        wrong = [
            key
            for key, kind in _FAULT_KEYS.items()
            if not isinstance(event.data.get(key), kind) or isinstance(event.data.get(key), bool)
        ]
        if wrong:
            return f"damaged record: a fault event without a valid {', '.join(wrong)}"
    return None


_SCRATCH: list[Latency] = []


def _histogram_problem(blob: str) -> str | None:
    """Why the encoded latency histogram ``blob`` cannot be read (None when it can)."""
    if not _SCRATCH:
        _SCRATCH.append(Latency())
    scratch = _SCRATCH[0]
    try:
        scratch.add_blob(blob)
    except BadHistogram as exc:
        return f"damaged record ({exc})"
    finally:
        scratch.clear()
    return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where + ': ' if where else ''}{first['msg']}"
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def new_run_dir(reports_dir: Path, run_id: str) -> Path:
    """``reports_dir/run_id``, refused (InputError) when ``run_id`` is no plain folder name or
    the folder exists: a second run's lines would be appended to the first run's raw files
    and both judged as one verdict."""
    if not RUN_ID.fullmatch(run_id):
        raise InputError(
            f"--run-id {run_id[:80]!r}: a run id names a folder: use letters, digits, '_', '.' "
            "and '-', starting with a letter or digit, at most 200 characters"
        )
    run_dir = reports_dir / run_id
    if run_dir.exists() or run_dir.is_symlink():
        raise InputError(
            f"{run_dir} already exists: a run directory is never reused (this run's raw "
            "files would be appended to the earlier run's and both judged as one) - choose "
            f"another --run-id, or remove {run_dir} first"
        )
    return run_dir


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
MAX_DAMAGE_LINES = 5  # damaged records named per file; the rest are counted
