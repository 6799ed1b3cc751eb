"""CSRF tokens bound to a session cookie, and HTTP basic auth for the staff API.

CSRF: the form page sets a random session id in the ``deskapp_session`` cookie
(if the browser has none) and renders ``csrf_token = HMAC-SHA256(secret, session
id)`` in a hidden field. A POST is accepted only when its cookie and its field
match; no cookie, no field, or a token made for another session is a 403.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets


def new_session_id() -> str:
    return secrets.token_hex(16)


def csrf_token(secret: str, session_id: str) -> str:
    """The token the form carries for ``session_id``."""
    return hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret: str, session_id: str | None, token: str | None) -> bool:
    """True when ``token`` was made for ``session_id`` with ``secret``."""
    if not session_id or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, session_id), token)


def basic_auth_ok(header: str | None, user: str, password: str) -> bool:
    """True when an ``Authorization: Basic ...`` header carries ``user:password``."""
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    given_user, _, given_password = decoded.partition(":")
    return hmac.compare_digest(given_user, user) & hmac.compare_digest(given_password, password)
