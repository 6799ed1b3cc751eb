"""A durable outbox of ticket writes that the ticket store did not accept (SQLite).

``put`` commits before it returns, so a ticket acknowledged to a customer survives a
crash of the front; ``remove`` is called only after the store confirmed the write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT UNIQUE NOT NULL,
    payload TEXT NOT NULL
)
"""


class Outbox:
    """Ticket payloads waiting for the ticket store, oldest first."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    def put(self, ticket_id: str, payload: dict[str, Any]) -> None:
        """Store a payload durably; putting the same ticket id twice keeps the first."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO outbox (ticket_id, payload) VALUES (?, ?)",
                (ticket_id, json.dumps(payload)),
            )

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """Return the queued payload of ``ticket_id``, or None if it is not queued."""
        with self._lock:
            row = self._db.execute(
                "SELECT payload FROM outbox WHERE ticket_id = ?", (ticket_id,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def pending(self, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """Return up to ``limit`` queued (ticket_id, payload) pairs, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ticket_id, payload FROM outbox ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(tid, json.loads(p)) for tid, p in rows]

    def remove(self, ticket_id: str) -> None:
        """Forget a ticket once the store has confirmed it."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE ticket_id = ?", (ticket_id,))

    def depth(self) -> int:
        """Return how many tickets are waiting."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the database; safe to call twice."""
        with self._lock:
            self._db.close()
