"""Errors raised by toxiserver.

Exception tree (catch what you need):

    ToxiserverError            any toxiserver failure
    ├── ServerStartError       a server or subprocess did not come up
    └── ApiError               an HTTP API failure with a status code
                               (the JSON error body Toxiproxy answers)
"""

from __future__ import annotations

import json


class ToxiserverError(Exception):
    """Base class of every toxiserver error."""


class ServerStartError(ToxiserverError):
    """A server (in-process or subprocess) failed to start or answer in time."""


class ApiError(ToxiserverError):
    """An error the control API reports as `{"error": message, "status": code}`."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> bytes:
        """The response body exactly as Toxiproxy writes it (JSON plus newline)."""
        text = json.dumps({"error": self.message, "status": self.status}, separators=(",", ":"))
        return (text + "\n").encode()

    def joined(self, detail: str) -> ApiError:
        """A copy whose message is `<message>: <detail>` (Toxiproxy's joinError)."""
        return ApiError(f"{self.message}: {detail}", self.status)


BAD_REQUEST_BODY = ApiError("bad request body", 400)
MISSING_FIELD = ApiError("missing required field", 400)
PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)
