"""The edges of a drill: signals before the run and after it, and the harness's own dependencies failing.

* SIGINT arriving *ignored* (a background job of a non-interactive shell) still stops
  a drill, from the CLI entry on;
* SIGTERM while the verdict prints keeps the verdict's exit code (was 143);
* the results disk refusing writes (RLIMIT_FSIZE set on the running drill: EFBIG,
  the same OSError path as ENOSPC or EROFS) and
  Toxiproxy hanging (SIGSTOP) end the run as inconclusive (exit 3) with the reason,
  faults removed where possible, what was written kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import signal
import threading
import time
from pathlib import Path

import pytest
from safety_helpers import (
    DEPS_BROKEN,
    EXIT_WAIT_S,
    IGNORE_SIGINT,
    Child,
    DrillEnv,
    events,
    is_clean,
    report_json,
    run_args,
    start_harness,
    toxiproxy_state,
    wait_for,
    wait_for_faults,
    write_drill,
)

pytestmark = pytest.mark.slow

ERRORS_LOW = [{"type": "error_rate", "max_ratio": 0.5}]
SIGINT_MASK = 1 << (signal.SIGINT - 1)


def _catches_sigint(pid: int) -> bool:
    """Whether ``pid``, the harness by now (not the launcher), handles SIGINT (``SigCgt``)."""
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:3] != [b"-m", b"harness"]:
            return False  # still the launcher (python -c ...), before its exec
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    line = next(ln for ln in status.splitlines() if ln.startswith("SigCgt:"))
    return bool(int(line.split()[1], 16) & SIGINT_MASK)


def _broken_drill(tmp_path: Path, broken_s: float = 20) -> Path:
    return write_drill(
        tmp_path,
        "edge-drill",
        [
            {"name": "base", "duration_s": 0.5, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": broken_s, "faults": ["deps-broken"]},
        ],
        faults={"deps-broken": DEPS_BROKEN},
    )


def _finish(child: Child, timeout_s: float) -> int:
    try:
        return child.wait(timeout_s)
    finally:
        child.stop()


def test_sigint_ignored_at_start_is_handled_from_the_cli_entry(
    env: DrillEnv, tmp_path: Path
) -> None:
    """Started with SIGINT ignored, the drill catches it from its first moments; one then stops it untouched."""
    child = start_harness(
        run_args(_broken_drill(tmp_path), env, tmp_path, "early"), tmp_path, prelude=IGNORE_SIGINT
    )
    try:
        started = time.monotonic()
        wait_for(lambda: _catches_sigint(child.proc.pid), 60, child, "a SIGINT handler")
        print(f"SIGINT handled {time.monotonic() - started:.3f} s after the start")
        child.signal(signal.SIGINT)
        assert child.wait(EXIT_WAIT_S) == 4, child.stderr
    finally:
        child.stop()
    assert "stopped by SIGINT before" in child.stderr and "no fault was applied" in child.stderr
    assert "Traceback" not in child.stderr
    assert not (tmp_path / "early").exists()  # nothing started: no run directory
    assert is_clean(env.adapter)
    assert not list((tmp_path / "state").glob("ledger/*.json"))


def test_sigint_ignored_at_start_stops_a_drill_with_its_faults_on(
    env: DrillEnv, tmp_path: Path
) -> None:
    """A drill started with SIGINT ignored is stopped by SIGINT mid-fault: faults off, exit 4."""
    run_dir = tmp_path / "bg"
    child = start_harness(
        run_args(_broken_drill(tmp_path), env, tmp_path, "bg"), tmp_path, prelude=IGNORE_SIGINT
    )
    try:
        wait_for_faults(run_dir, 2, child)
        child.signal(signal.SIGINT)
        assert child.wait(EXIT_WAIT_S) == 4, child.stderr
    finally:
        child.stop()
    assert is_clean(env.adapter)
    assert any(e["message"] == "stopped by SIGINT" for e in events(run_dir, "aborted"))


def _full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is full: whoever writes to it blocks until the other end is read."""
    read_fd, write_fd = os.pipe()
    flags = fcntl.fcntl(write_fd, fcntl.F_GETFL)
    fcntl.fcntl(write_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(write_fd, b"\0" * 65536)
    fcntl.fcntl(write_fd, fcntl.F_SETFL, flags)
    return read_fd, write_fd


def test_sigterm_while_the_verdict_prints_keeps_the_verdicts_exit_code(
    env: DrillEnv, tmp_path: Path
) -> None:
    """SIGTERM while the verdict is being printed: the process finishes and exits 0 (pass), not 143."""
    drill = write_drill(
        tmp_path, "verdict", [{"name": "base", "duration_s": 1, "checks": ERRORS_LOW}]
    )
    args = run_args(drill, env, tmp_path, "verdict")
    args[args.index("--live") + 1] = "off"  # stdout is only the verdict
    read_fd, write_fd = _full_pipe()
    drained = bytearray()
    drainer = threading.Thread(target=_drain, args=(read_fd, drained), daemon=True)
    try:
        child = start_harness(args, tmp_path, stdout=write_fd)
        os.close(write_fd)
        write_fd = -1
        try:
            wait_for(lambda: (tmp_path / "verdict" / "report.json").is_file(), 30, child, "reports")
            time.sleep(0.3)  # the reports are written; it now blocks printing the verdict
            assert child.proc.poll() is None, "the verdict must still be printing"
            child.signal(signal.SIGTERM)
            time.sleep(0.2)
            drainer.start()
            code = child.wait(EXIT_WAIT_S)
        finally:
            child.stop()
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        drainer.join(5) if drainer.is_alive() else None
        os.close(read_fd)
    assert code == 0, child.stderr
    assert b"PASS" in drained
    assert "SIGTERM arrived after the drill had ended" in child.stderr
    assert report_json(tmp_path / "verdict")["verdict"] == "pass"


def _drain(fd: int, into: bytearray) -> None:
    while chunk := os.read(fd, 65536):
        into.extend(chunk)


def test_results_disk_refusing_writes_is_inconclusive_faults_off_data_kept(
    env: DrillEnv, tmp_path: Path
) -> None:
    """The disk fills mid-fault (RLIMIT_FSIZE set on the running drill): exit 3 naming the file,
    faults removed, what was written kept, and `harness report` rebuilds it as inconclusive."""
    run_dir = tmp_path / "full"
    metrics = run_dir / "raw" / "metrics.jsonl"
    child = start_harness(
        run_args(_broken_drill(tmp_path), env, tmp_path, "full"),
        tmp_path / "logs",
        stderr_through_pipe=True,  # the limit is on the results disk, not on our log
    )
    try:
        wait_for_faults(run_dir, 2, child)
        journal_file = run_dir / "raw" / "journal.jsonl"
        wait_for(
            lambda: (
                metrics.is_file() and metrics.stat().st_size > journal_file.stat().st_size + 4096
            ),
            20,
            child,
            "metric rows beyond the journal's size (room for its last entries)",
        )
        kept = metrics.stat().st_size
        # no file of the drill may grow past metrics.jsonl's size now: its next rows fail
        resource.prlimit(child.proc.pid, resource.RLIMIT_FSIZE, (kept, kept))
        assert child.wait(60) == 3, child.stderr
    finally:
        child.stop()
    time.sleep(0.2)  # the copier thread writes the last of stderr
    err = child.stderr
    assert "the results disk refused" in err and ".jsonl (File too large" in err, err
    assert "its faults were removed" in err and f"harness report {run_dir}" in err
    assert "Traceback" not in err
    assert is_clean(env.adapter)
    [applied, *_] = events(run_dir, "fault_applied")
    [error] = events(run_dir, "infrastructure_error")
    assert "the results disk refused" in error["message"]
    # stopped soon after the refusal, not at the planned end (the fault is on for 20 s);
    # on a saturated machine the rows that fill the limit took 8.2 s to come
    assert error["t_s"] - applied["t_s"] < 15
    assert len(events(run_dir, "fault_reverted")) == 2
    assert metrics.stat().st_size >= kept  # what was written is kept
    assert not (run_dir / "report.json").exists()  # no report on a disk that refuses writes

    rebuilt = start_harness(["report", str(run_dir)], tmp_path / "logs")
    assert _finish(rebuilt, 60) == 3, rebuilt.stderr
    report = report_json(run_dir)
    assert report["verdict"] == "inconclusive"
    assert "the results disk refused" in report["verdict_reason"]


def test_toxiproxy_hanging_mid_drill_is_inconclusive_and_cleanup_finishes_the_job(
    env: DrillEnv, tmp_path: Path
) -> None:
    """Toxiproxy frozen (SIGSTOP) with faults on: exit 3 naming it; once it answers, cleanup removes them."""
    run_dir = tmp_path / "frozen"
    child = start_harness(run_args(_broken_drill(tmp_path), env, tmp_path, "frozen"), tmp_path)
    frozen = False
    try:
        wait_for_faults(run_dir, 2, child)
        os.kill(env.toxiproxy.pid, signal.SIGSTOP)
        frozen = True
        stopped_at = time.monotonic()
        assert child.wait(60) == 3, child.stderr
        took = time.monotonic() - stopped_at
    finally:
        if frozen:
            os.kill(env.toxiproxy.pid, signal.SIGCONT)
        child.stop()
    print(f"a frozen Toxiproxy ended the drill {took:.1f} s after it froze")
    report = report_json(run_dir)
    assert report["verdict"] == "inconclusive"
    assert "Toxiproxy stopped answering" in report["verdict_reason"]
    assert events(run_dir, "fault_revert_failed")
    # what the timed-out reverts did not undo stays in the ledger (a revert that timed out
    # may still have been carried out once the server woke up)
    cleanup = start_harness(["cleanup", "--toxiproxy-url", env.toxiproxy_url], tmp_path / "logs")
    assert _finish(cleanup, 30) == 0, cleanup.stderr
    assert "of run 'frozen'" in cleanup.stdout or "removed toxic 'harness.frozen." in cleanup.stdout
    assert is_clean(env.adapter), toxiproxy_state(env.adapter)
    assert not list((tmp_path / "state").glob("ledger/*.json"))
