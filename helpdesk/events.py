"""The ground-truth event log: one JSON object per line in ``<state_dir>/events.jsonl``.

Every record has ``ts`` (``time.time()`` taken at the moment of the change) and ``event``:
``breaker_state`` (dependency, from, to), ``failover`` / ``failback`` (dependency, to),
``outbox_enqueued`` / ``outbox_replayed`` (ticket_id).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any


class EventLog:
    """Append-only JSON-lines writer, safe to call from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        """Append one event stamped with the current wall-clock time."""
        record = {"ts": time.time(), "event": event, **fields}
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)


def read_events(path: Path) -> list[dict[str, Any]]:
    """Read every event of a log; a missing file reads as no events."""
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
