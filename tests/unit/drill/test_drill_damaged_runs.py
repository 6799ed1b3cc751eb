"""A report rebuilt from damaged raw files never builds a verdict on impossible data.

``harness report`` reads a run directory that anyone may have edited, truncated or
half-copied. ``run.json`` damaged: InputError naming it (exit 2, nothing to judge).
Any other raw file damaged: the report is built from what is sound, its verdict is
'inconclusive' (exit 3) and the reason names the file and line. Never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.drill.analysis import build_report
from harness.errors import InputError
from harness.metrics.synthetic import Seg, rows_for
from harness.results.model import EventKind, Outcome, TimelineEvent, Verdict
from harness.results.raw import RunMeta, WriteCheckOutcome, WriteVerification

BUCKET_S = 0.25
DRILL = {
    "name": "damaged",
    "target": {"url": "http://127.0.0.1:8080"},
    "load": {"scenario": "s", "shape": {"type": "steady", "level": 5}},
    "phases": [
        {"name": "only", "duration_s": 2,
         "checks": [{"type": "error_rate", "max_ratio": 0.1}]},
    ],
}


def healthy_run(root: Path) -> Path:
    """A finished run that passes: 2 s of 20 ok requests a bucket, a journal with its end."""
    raw = root / "run" / "raw"
    raw.mkdir(parents=True)
    meta = RunMeta(
        run_id="run", drill=DRILL, drill_file=None, started_at="2026-01-01T00:00:00+00:00",
        started_at_unix_s=0.0, bucket_s=BUCKET_S, target_url="http://127.0.0.1:8080",
        toxiproxy_url=None,
    )
    (raw / "run.json").write_text(meta.model_dump_json(indent=2), encoding="utf-8")
    events = [TimelineEvent(t_s=0.0, kind=EventKind.RUN_STARTED, message="started"),
              TimelineEvent(t_s=2.0, kind=EventKind.RUN_ENDED, message="ended")]
    (raw / "journal.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in events))
    rows = rows_for([Seg(0, 2, "orders", Outcome.OK, 20, 100)], BUCKET_S)
    (raw / "metrics.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in rows))
    verification = WriteVerification(checked_at_s=2.5, results=[
        WriteCheckOutcome(write_id="T-1", found=True, status=200)])
    (raw / "verification.json").write_text(verification.model_dump_json(), encoding="utf-8")
    lines = {"journal.jsonl": 2, "metrics.jsonl": len(rows)}  # as RunFiles.close() records
    (raw / "manifest.json").write_text(json.dumps({"lines": lines}), encoding="utf-8")
    return root / "run"


def edit(path: Path, change: Callable[[bytes], bytes]) -> None:
    path.write_bytes(change(path.read_bytes()))


def line_edit(index: int, change: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    """A change to the JSON record on line ``index`` (0-based) of a .jsonl file."""
    def apply(raw: bytes) -> bytes:
        lines = raw.decode().splitlines(keepends=True)
        record = json.loads(lines[index])
        change(record)
        lines[index] = json.dumps(record) + "\n"
        return "".join(lines).encode()
    return apply


def test_the_undamaged_run_passes(tmp_path: Path) -> None:
    """The run the cases below damage passes, so their verdicts are the damage's doing."""
    report = build_report(healthy_run(tmp_path))
    assert report.verdict is Verdict.PASS, report.verdict_reason


# (file, damage, the words the reason must hold)
INCONCLUSIVE = {
    "metrics_not_utf8": ("metrics.jsonl", lambda b: b.replace(b'"orders"', b'"ord\xffers"', 1),
                         "metrics.jsonl:1: not UTF-8 text (byte 0xff)"),
    "metrics_negative_count": ("metrics.jsonl",
                               line_edit(2, lambda r: r.update(count=-1000)),
                               "metrics.jsonl:3: impossible record: a negative count (-1000)"),
    "metrics_bucket_far_away": ("metrics.jsonl", line_edit(0, lambda r: r.update(bucket=10**12)),
                                "metrics.jsonl:1: impossible record: bucket 1000000000000 lies "
                                "outside the drill"),
    "metrics_negative_bucket": ("metrics.jsonl", line_edit(0, lambda r: r.update(bucket=-3)),
                                "metrics.jsonl:1: impossible record: bucket -3"),
    "metrics_bad_histogram": ("metrics.jsonl", line_edit(1, lambda r: r.update(hist="bm90IGE=")),
                              "metrics.jsonl:2: damaged record (cannot decode latency histogram"),
    "metrics_not_json": ("metrics.jsonl", lambda b: b.replace(b"{", b"[", 1),
                         "metrics.jsonl:1: damaged record"),
    "metrics_cut_mid_line": ("metrics.jsonl", lambda b: b[: len(b) // 2 + 10],
                             "metrics.jsonl:5: cut short: it holds 4 lines, the run wrote 8"),
    "metrics_cut_at_a_line_end": ("metrics.jsonl", lambda b: b"".join(b.splitlines(True)[:4]),
                                  "metrics.jsonl:5: cut short: it holds 4 lines, the run wrote 8"),
    "metrics_added_to": ("metrics.jsonl", lambda b: b + b.splitlines(True)[0],
                         "metrics.jsonl:9: added to after the run: it holds 9 lines"),
    "metrics_missing": ("metrics.jsonl", None,
                        "metrics.jsonl: missing; the run wrote 8 lines to it"),
    "manifest_damaged": ("manifest.json", lambda b: b[:5], "manifest.json: damaged"),
    "verification_empty": ("verification.json", lambda b: b"",
                           "verification.json: damaged"),
    "verification_truncated": ("verification.json", lambda b: b[:20],
                               "verification.json: damaged"),
    "verification_not_utf8": ("verification.json", lambda b: b"\xff" + b,
                              "verification.json: damaged"),
    "journal_fault_event_without_fault": (
        "journal.jsonl",
        lambda b: b + b'{"t_s": 1.0, "kind": "fault_applied", "message": "x", "data": {}}\n',
        "journal.jsonl:3: damaged record: a fault event without a valid script"),
}


@pytest.mark.parametrize("case", list(INCONCLUSIVE))
def test_damaged_raw_files_make_the_verdict_inconclusive(tmp_path: Path, case: str) -> None:
    """Each damaged raw file: the verdict is 'inconclusive' and its reason names file and line;
    no traceback, no negative request count."""
    name, damage, words = INCONCLUSIVE[case]
    run_dir = healthy_run(tmp_path)
    path = run_dir / "raw" / name
    if damage is None:
        path.unlink()
    else:
        edit(path, damage)
    report = build_report(run_dir)
    assert report.verdict is Verdict.INCONCLUSIVE, report.verdict_reason
    assert words in report.verdict_reason
    assert "the run's raw files are damaged" in report.verdict_reason
    assert all(p.requests >= 0 for p in report.phases)


RUN_JSON = {
    "empty": lambda b: b"",
    "truncated": lambda b: b[: len(b) // 2],
    "not_utf8": lambda b: b.replace(b"damaged", b"dam\xffaged", 1),
    "invalid_drill": lambda b: b.replace(b'"duration_s": 2', b'"duration_s": -2', 1),
    "drill_not_a_mapping": lambda b: b.replace(b'"drill": {', b'"drill": [{', 1).replace(
        b'"drill_file"', b'"x": 1}], "drill_file"', 1),
    "zero_bucket": lambda b: b.replace(b'"bucket_s": 0.25', b'"bucket_s": 0.0', 1),
    "other_bucket": lambda b: b.replace(b'"bucket_s": 0.25', b'"bucket_s": 0.5', 1),
}


@pytest.mark.parametrize("case", list(RUN_JSON))
def test_a_damaged_run_json_is_an_input_error_naming_it(tmp_path: Path, case: str) -> None:
    """Without a sound run.json there is no drill to judge: InputError (exit 2) naming it."""
    run_dir = healthy_run(tmp_path)
    meta = run_dir / "raw" / "run.json"
    edit(meta, RUN_JSON[case])
    with pytest.raises(InputError) as info:
        build_report(run_dir)
    assert str(meta) in str(info.value)
    assert "Traceback" not in str(info.value)


def test_without_a_manifest_a_line_cut_off_after_the_end_is_still_damage(tmp_path: Path) -> None:
    """Runs made before manifests (or killed before writing one): a torn last line after the
    run recorded its end is damage, and so is a missing metrics.jsonl."""
    run_dir = healthy_run(tmp_path)
    (run_dir / "raw" / "manifest.json").unlink()
    edit(run_dir / "raw" / "metrics.jsonl", lambda b: b[: len(b) // 2 + 10])
    report = build_report(run_dir)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert "metrics.jsonl:5: cut off (no end of line) although the run recorded its end" in (
        report.verdict_reason
    )
    (run_dir / "raw" / "metrics.jsonl").unlink()
    assert "metrics.jsonl: missing, although the run recorded its end" in (
        build_report(run_dir).verdict_reason
    )


def test_a_torn_last_line_of_a_crashed_run_is_not_damage(tmp_path: Path) -> None:
    """A run killed mid-write leaves a torn last line (and no manifest): expected, the verdict
    says it crashed."""
    run_dir = healthy_run(tmp_path)
    (run_dir / "raw" / "manifest.json").unlink()
    edit(run_dir / "raw" / "journal.jsonl", lambda b: b.split(b"\n")[0] + b"\n")  # no end
    edit(run_dir / "raw" / "metrics.jsonl", lambda b: b + b'{"bucket": 3, "endp')
    report = build_report(run_dir)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert report.verdict_reason == "the run did not record its end (it crashed or was killed)"


def test_run_files_record_the_manifest_the_reader_checks(tmp_path: Path) -> None:
    """RunFiles.close() writes manifest.json; a line added to a raw file afterwards is noticed."""
    from harness.results.files import RunData, RunFiles

    files = RunFiles(tmp_path / "run")
    files.write_meta(RunMeta.model_validate_json(
        (healthy_run(tmp_path / "model") / "raw" / "run.json").read_bytes()))
    files.event(TimelineEvent(t_s=0.0, kind=EventKind.RUN_STARTED, message="started"))
    files.metric_rows(rows_for([Seg(0, 2, "orders", Outcome.OK, 20, 100)], BUCKET_S))
    files.event(TimelineEvent(t_s=2.0, kind=EventKind.RUN_ENDED, message="ended"))
    files.close()
    manifest = json.loads((tmp_path / "run" / "raw" / "manifest.json").read_text())
    assert manifest == {"lines": {"journal.jsonl": 2, "metrics.jsonl": 8}}
    assert RunData(tmp_path / "run").damage == []
    edit(tmp_path / "run" / "raw" / "journal.jsonl", lambda b: b + b.splitlines(True)[0])
    assert RunData(tmp_path / "run").damage == [
        f"{tmp_path / 'run' / 'raw' / 'journal.jsonl'}:3: added to after the run: it holds 3 "
        "lines, the run wrote 2"
    ]
