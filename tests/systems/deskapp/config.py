"""What the deskapp process needs to know, and the facts tests rely on (credentials, texts)."""

from __future__ import annotations

import re
from dataclasses import dataclass

STAFF_USER = "staff"
STAFF_PASSWORD = "deskapp-staff"
INVALID_TICKET_TEXT = "Invalid ticket ID"  # the public page's whole answer for an unknown id
TICKET_ID_RE = re.compile(r"T-\d{6,}")  # T-000123; the number comes from a database counter
SESSION_COOKIE = "deskapp_session"
CSRF_FIELD = "csrf_token"
PROXY_NAME = "deskapp_db"  # the Toxiproxy proxy between the app and Redis
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True)
class AppSettings:
    """The app's settings; every field is a flag of ``python -m tests.systems.deskapp.serve``."""

    db_host: str = "127.0.0.1"
    db_port: int = 6379
    db_timeout_s: float = 2.0  # every Redis command: no answer within this -> the page is a 500
    db_connect_timeout_s: float = 0.5
    db_pool_size: int = 32  # connections; a request waits up to db_timeout_s for a free one
    secret: str = "deskapp-dev-secret"  # signs CSRF tokens; the launcher passes a random one
    staff_user: str = STAFF_USER
    staff_password: str = STAFF_PASSWORD

    @property
    def db_address(self) -> str:
        return f"{self.db_host}:{self.db_port}"
