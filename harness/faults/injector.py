"""Apply and revert fault windows on Toxiproxy, and clean up after killed runs.

Ownership: what "owned" means
-----------------------------
A change on the Toxiproxy server belongs to the harness run that made it:

* a toxic is the harness's when its name is ``harness.<run_id>.<fault>``
  (``TOXIC_PREFIX``); the middle part names the owning run. Toxics without
  that prefix were added by someone else and are never touched;
* a proxy taken down (``down`` has no toxic to name) belongs to the run whose
  ledger ``<ledger_dir>/<run_id>.json`` lists it; the ledger is written and
  fsync'd *before* the proxy is disabled (and before each toxic is added).

A run is *live* when a ledger for it exists in ``ledger_dir`` and the process
recorded there (pid, and its start time on Linux) is still running on this
host; ledgers written on another host count as live. A run is *dead* when it
has a ledger and the process recorded there is gone; what it left behind is a
leftover: ``remove_leftovers`` removes the harness toxics of dead runs and
re-enables the proxies their ledgers took down (only those that were enabled
before, and only for ledgers written against the same server URL).

A harness toxic whose run has *no* ledger in ``ledger_dir`` is *unowned* and
left alone (and reported): its run may be starting right now (it writes its
ledger before its first toxic, but a cleanup may have read the ledger folder
just before that), or run on another machine or with another ledger folder.
Only an explicit ``run_id`` or ``force_unowned`` removes such toxics.

Process and command faults (``kill``, ``stop``, ``command``) touch no server:
the injector acts them out through ``harness.faults.local``, with their
pending revert ledgered first in ``<ledger_dir>/local/<run_id>.json``; after a
crash ``harness.faults.local.run_pending_reverts`` runs those reverts.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from harness.errors import (
    FaultActionError,
    HarnessError,
    InputError,
    ProxyNotFound,
    ToxicAlreadyExists,
    ToxiproxyError,
)
from harness.faults import local
from harness.faults.adapter import ToxiproxyAdapter
from harness.faults.ledger import LedgerEntry, RunLedger, owner_alive, read_ledgers
from harness.faults.model import Fault
from harness.faults.timeline import FaultWindow

__all__ = [
    "TOXIC_PREFIX",
    "FaultEvent",
    "FaultEventKind",
    "FaultInjector",
    "LeftoverSweep",
    "parse_toxic_name",
    "remove_leftovers",
    "sweep_leftovers",
    "toxic_name",
]

log = logging.getLogger(__name__)

TOXIC_PREFIX = "harness."
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DOWN_LABEL = "down"


class FaultEventKind(StrEnum):
    """What happened to a fault."""

    APPLIED = "applied"
    REVERTED = "reverted"
    REVERT_FAILED = "revert_failed"
    APPLY_UNDONE = "apply_undone"  # an apply that had failed midway was undone


@dataclass(frozen=True)
class FaultEvent:
    """A fault was applied, reverted, or failed to revert (for the run's journal).

    ``t_s``/``wall_time`` of APPLIED and REVERTED (and APPLY_UNDONE) are read
    right before the Toxiproxy request that made the change went out (its last
    attempt); with no request to make (a proxy that was already disabled) they
    are the moment the injector decided. REVERT_FAILED is timed at the failure.
    ``window`` is the fault window the event is about.
    """

    kind: FaultEventKind
    fault: str
    proxy: str
    toxic: str
    t_s: float
    wall_time: datetime
    detail: str = ""
    window: FaultWindow | None = None


def toxic_name(run_id: str, fault_name: str) -> str:
    """The name the harness gives the toxic of ``fault_name`` in run ``run_id``."""
    return f"{TOXIC_PREFIX}{run_id}.{fault_name}"


def parse_toxic_name(name: str) -> tuple[str, str] | None:
    """``(run_id, fault)`` for a harness toxic name, None for anyone else's toxic."""
    if not name.startswith(TOXIC_PREFIX):
        return None
    run_id, dot, fault = name[len(TOXIC_PREFIX) :].partition(".")
    return (run_id, fault) if dot and run_id and fault else None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Stamp:
    """Reads the clocks each time it is called; the last reading is the one that counts."""

    def __init__(self, clock: Callable[[], float], wall_clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self.t_s: float | None = None
        self.wall_time: datetime | None = None

    def __call__(self) -> None:
        self.t_s = self._clock()
        self.wall_time = self._wall_clock()

    def taken(self) -> _Stamp:
        """Itself, read now if it was never called (no request went out)."""
        if self.t_s is None:
            self()
        return self


class FaultInjector:
    """Applies and reverts the fault windows of one run; every change is ledgered first.

    ``on_event`` is called (with the injector's lock held) after each change;
    an exception it raises is logged and otherwise ignored. ``clock`` gives
    ``FaultEvent.t_s`` (a drill passes its own drill clock); tests inject it.
    """

    def __init__(
        self,
        adapter: ToxiproxyAdapter,
        run_id: str,
        *,
        ledger_dir: Path,
        on_event: Callable[[FaultEvent], None],
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not _RUN_ID.match(run_id):
            raise InputError(
                f"run id {run_id!r} must be 1-64 letters, digits, '-' or '_' (it becomes part "
                "of toxic names) - choose another run id"
            )
        self.adapter = adapter
        self.run_id = run_id
        self._ledger = RunLedger(Path(ledger_dir), run_id, adapter.url)
        self._local_ledger = RunLedger(local.local_ledger_dir(Path(ledger_dir)), run_id, "local")
        self._on_event = on_event
        self._clock = clock
        self._wall_clock = wall_clock
        self._active: dict[tuple[str, str], _Applied] = {}
        self._lock = threading.RLock()

    @property
    def ledger_path(self) -> Path:
        """Where this run's ledger lives (present only while something is applied)."""
        return self._ledger.path

    @property
    def active(self) -> list[str]:
        """Names of the faults currently applied (or whose apply may have half-happened)."""
        with self._lock:
            return [a.entry.fault for a in self._active.values()]

    @property
    def applied_windows(self) -> list[FaultWindow]:
        """The windows currently applied (or whose apply may have half-happened).

        No lock: a copy of the values is one step, and the drill loop asks every tick
        while a slow local action (a restart) may hold the lock for seconds."""
        return [a.window for a in list(self._active.values())]

    def is_applied(self, window: FaultWindow) -> bool:
        """True while ``window`` is the applied window of its fault (the one ``revert`` undoes).

        Also true for a window whose apply failed midway: it still needs reverting.
        No lock, for the same reason as :attr:`applied_windows` (a dict read is one step).
        """
        current = self._active.get(_key(window.fault))
        return current is not None and current.window == window

    def apply(self, window: FaultWindow) -> None:
        """Apply the window's fault; a no-op while that fault is already applied.

        Applying another window of a fault that is still applied (say the next
        flap, before the previous one was reverted) changes nothing on the
        server; that window becomes the one ``revert`` acts on.
        """
        fault = window.fault
        with self._lock:
            current = self._active.get(_key(fault))
            if current is not None:
                if current.fault != fault:
                    raise InputError(
                        f"run '{self.run_id}': two different faults named '{fault.name}' on "
                        f"proxy '{fault.proxy}' would be active at once (toxic names would "
                        "clash) - rename one of them"
                    )
                current.window = window
                return
            if fault.is_local:
                self._apply_local(window)
            elif fault.is_down:
                self._apply_down(window)
            else:
                self._apply_toxic(window)

    def revert(self, window: FaultWindow) -> None:
        """Undo the window's fault; a no-op unless that window is the applied one.

        Raises ToxiproxyError when the server refuses or cannot be reached.
        """
        with self._lock:
            current = self._active.get(_key(window.fault))
            if current is not None and current.window == window:
                self._revert(current)

    def revert_all(self) -> None:
        """Undo every applied fault, newest first; raise one ToxiproxyError listing failures.

        A toxic or proxy that is already gone counts as reverted. Faults that
        could not be reverted stay in the ledger for ``remove_leftovers``.
        """
        failures: list[str] = []
        local_only = True
        with self._lock:
            for applied in reversed(list(self._active.values())):
                entry = applied.entry
                try:
                    self._revert(applied)
                except (HarnessError, OSError) as exc:
                    failures.append(f"fault '{entry.fault}' on {_on(applied.fault)}: {exc}")
                    local_only = local_only and applied.fault.is_local
        if failures and local_only:
            raise FaultActionError(
                f"run '{self.run_id}' could not revert {len(failures)} local fault(s): "
                + "; ".join(failures)
                + f" - they stay recorded in {self._local_ledger.path}; 'harness cleanup' "
                "runs them again once this run is gone"
            )
        if failures:
            raise ToxiproxyError(
                f"run '{self.run_id}' could not revert {len(failures)} fault(s) on Toxiproxy at "
                f"{self.adapter.url}: " + "; ".join(failures) + f" - they stay recorded in "
                f"{self._ledger.path}; run the cleanup (remove_leftovers) once the server answers"
            )

    # -- internals -------------------------------------------------------------

    def _apply_toxic(self, window: FaultWindow) -> None:
        fault = window.fault
        name = toxic_name(self.run_id, fault.name)
        spec = fault.toxic_spec(name)
        entry = LedgerEntry("toxic", fault.proxy, fault.name, toxic=name)
        self._begin(entry, window)
        stamp = self._stamp()
        try:
            try:
                self.adapter.add_toxic(fault.proxy, spec, before_send=stamp)
            except ToxicAlreadyExists:
                # ours already (e.g. a POST whose answer was lost): in effect since the add
                self.adapter.update_toxic(fault.proxy, spec)
        except ProxyNotFound:
            self._forget(entry)  # nothing was changed
            raise
        self._applied(entry, name, stamp)

    def _apply_down(self, window: FaultWindow) -> None:
        fault = window.fault
        self.adapter.require_proxies([fault.proxy])
        was_enabled = self.adapter.proxies()[fault.proxy].enabled
        entry = LedgerEntry("down", fault.proxy, fault.name, was_enabled=was_enabled)
        self._begin(entry, window)
        stamp = self._stamp()
        if was_enabled:
            try:
                self.adapter.set_enabled(fault.proxy, False, before_send=stamp)
            except ProxyNotFound:
                self._forget(entry)
                raise
        detail = "" if was_enabled else "proxy was already disabled"
        self._applied(entry, DOWN_LABEL, stamp, detail)

    def _apply_local(self, window: FaultWindow) -> None:
        fault = window.fault
        action = local.prepare(fault)  # finds the process now; nothing changed yet
        entry = LedgerEntry(fault.type, "", fault.name, action=action.pending)  # type: ignore[arg-type]
        self._begin(entry, window)
        stamp = self._stamp()
        detail = action.apply(before_send=stamp)  # a failure leaves it to revert (unconfirmed)
        self._applied(entry, fault.type, stamp, detail)

    def _ledger_of(self, entry: LedgerEntry) -> RunLedger:
        return self._local_ledger if entry.action is not None else self._ledger

    def _begin(self, entry: LedgerEntry, window: FaultWindow) -> None:
        """Ledger first, then remember: even a half-done apply gets reverted."""
        self._ledger_of(entry).add(entry)
        self._active[_key(window.fault)] = _Applied(entry, window.fault, window)

    def _is_active(self, entry: LedgerEntry) -> bool:
        current = self._active.get((entry.proxy, entry.fault))
        return current is not None and current.entry is entry

    def _applied(self, entry: LedgerEntry, toxic: str, stamp: _Stamp, detail: str = "") -> None:
        current = self._active.get((entry.proxy, entry.fault))
        if current is None or current.entry is not entry:
            self._undo(entry)  # reverted (e.g. by a signal handler) while we were applying
            return
        current.confirmed = True
        self._emit(FaultEventKind.APPLIED, current, toxic, detail, stamp.taken())

    def _revert(self, applied: _Applied) -> None:
        entry = applied.entry
        label = entry.toxic or (entry.kind if entry.action is not None else DOWN_LABEL)
        stamp = self._stamp()
        try:
            detail = self._undo(entry, stamp)
        except (HarnessError, OSError) as exc:
            self._emit(FaultEventKind.REVERT_FAILED, applied, label, str(exc))
            raise
        self._forget(entry)
        if applied.confirmed:
            self._emit(FaultEventKind.REVERTED, applied, label, detail, stamp=stamp.taken())
        else:
            self._emit(
                FaultEventKind.APPLY_UNDONE,
                applied,
                label,
                "its apply had failed midway; whatever it may have changed is removed"
                + (f" ({detail})" if detail else ""),
                stamp.taken(),
            )

    def _undo(self, entry: LedgerEntry, stamp: _Stamp | None = None) -> str:
        """Undo one ledgered change; a sentence for the journal (local faults) or ''."""
        if entry.action is not None:
            return local.revert_pending(entry.action, fault=entry.fault, before_send=stamp)
        try:
            if entry.kind == "toxic" and entry.toxic:
                self.adapter.remove_toxic(
                    entry.proxy, entry.toxic, missing_ok=True, before_send=stamp
                )
            elif entry.was_enabled:
                self.adapter.set_enabled(entry.proxy, True, before_send=stamp)
        except ProxyNotFound:
            pass  # the proxy is gone, and with it our change
        return ""

    def _forget(self, entry: LedgerEntry) -> None:
        if self._is_active(entry):
            del self._active[(entry.proxy, entry.fault)]
        self._ledger_of(entry).discard(entry)

    def _stamp(self) -> _Stamp:
        return _Stamp(self._clock, self._wall_clock)

    def _emit(
        self,
        kind: FaultEventKind,
        applied: _Applied,
        toxic: str,
        detail: str = "",
        stamp: _Stamp | None = None,
    ) -> None:
        stamp = stamp or self._stamp().taken()
        assert stamp.t_s is not None and stamp.wall_time is not None
        entry = applied.entry
        event = FaultEvent(
            kind=kind,
            fault=entry.fault,
            proxy=entry.proxy,
            toxic=toxic,
            t_s=stamp.t_s,
            wall_time=stamp.wall_time,
            detail=detail,
            window=applied.window,
        )
        try:
            self._on_event(event)
        except Exception:  # the server state and the ledger matter more than one record
            log.exception("run '%s': recording fault event %s failed", self.run_id, event)


@dataclass
class _Applied:
    """An applied fault: its ledger entry and the window ``revert`` will act on.

    ``confirmed`` once the server accepted the change (an APPLIED event went out);
    an entry whose apply failed midway stays unconfirmed until it is undone.
    """

    entry: LedgerEntry
    fault: Fault
    window: FaultWindow
    confirmed: bool = False


def _key(fault: Fault) -> tuple[str, str]:
    return (fault.proxy or "", fault.name)


@dataclass
class LeftoverSweep:
    """What ``sweep_leftovers`` did: ``removed`` (one line per change) and ``unowned``.

    ``unowned`` lists the harness toxics left alone because no ledger in the
    ledger folder names their run (one line each, saying what to do).
    """

    removed: list[str]
    unowned: list[str]


def sweep_leftovers(
    adapter: ToxiproxyAdapter,
    *,
    ledger_dir: Path,
    run_id: str | None = None,
    force_unowned: bool = False,
) -> LeftoverSweep:
    """Undo what dead runs left on the server (or everything of ``run_id``); say what was done.

    Without ``run_id``: re-enable proxies taken down by runs whose ledger owner
    is dead, and remove the harness toxics of runs that have a ledger whose
    owner is dead. Harness toxics of runs without any ledger are left alone and
    reported in ``unowned`` (``force_unowned`` removes them too); those of live
    runs are never touched. With ``run_id``: clean that run only, live or not.
    Toxics without the harness prefix are never touched. See the module
    docstring for "owned".
    """
    folder = Path(ledger_dir)
    ledgers = read_ledgers(folder)
    live = {lg.run_id for lg in ledgers if owner_alive(lg)}
    dead = {lg.run_id for lg in ledgers} - live
    doomed = [
        lg
        for lg in ledgers
        if lg.server_url == adapter.url
        and (lg.run_id == run_id if run_id is not None else lg.run_id in dead)
    ]
    done: list[str] = []
    for ledger in doomed:
        for entry in ledger.entries:
            if entry.kind == "down" and entry.was_enabled:
                try:
                    adapter.set_enabled(entry.proxy, True)
                except ProxyNotFound:
                    continue
                done.append(
                    f"proxy '{entry.proxy}': re-enabled (taken down by fault "
                    f"'{entry.fault}' of run '{ledger.run_id}')"
                )
    proxies = adapter.proxies()
    known: set[str] = set()  # runs that have a ledger
    if run_id is None:
        # Read the folder again: a run counts as dead only if it was dead before the
        # listing and still is (a run id reused by a new run since is live again).
        again = read_ledgers(folder)
        dead &= {lg.run_id for lg in again if not owner_alive(lg)}
        known = {lg.run_id for lg in ledgers} | {lg.run_id for lg in again}
    unowned: list[str] = []
    for proxy in proxies.values():
        for toxic in proxy.toxics:
            owner = parse_toxic_name(toxic.name)
            if owner is None:
                continue
            run = owner[0]
            if run_id is not None:
                remove = run == run_id
            elif run in dead:
                remove = True
            elif run in known:
                remove = False  # a live run's
            elif force_unowned:
                remove = True
            else:
                remove = False
                unowned.append(
                    f"proxy '{proxy.name}': left toxic '{toxic.name}' alone: no ledger of run "
                    f"'{run}' in {folder} (a run starting right now, or one on another machine "
                    "or with another ledger folder) - if no such run is going on, remove it "
                    "with 'harness cleanup --force-unowned'"
                )
            if remove:
                adapter.remove_toxic(proxy.name, toxic.name, missing_ok=True)
                done.append(f"proxy '{proxy.name}': removed toxic '{toxic.name}'")
    for ledger in doomed:
        if run_id is not None or ledger.run_id in dead:  # not a ledger taken over since
            ledger.path.unlink(missing_ok=True)
    return LeftoverSweep(done, unowned)


def remove_leftovers(
    adapter: ToxiproxyAdapter,
    *,
    ledger_dir: Path,
    run_id: str | None = None,
    force_unowned: bool = False,
) -> list[str]:
    """``sweep_leftovers`` returning the changes made; unowned toxics are logged as warnings."""
    sweep = sweep_leftovers(
        adapter, ledger_dir=ledger_dir, run_id=run_id, force_unowned=force_unowned
    )
    for line in sweep.unowned:
        log.warning("%s", line)
    return sweep.removed


def _on(fault: Fault) -> str:
    """``proxy 'orders'``, or what a local fault acts on."""
    return f"proxy '{fault.proxy}'" if fault.proxy is not None else fault.target
