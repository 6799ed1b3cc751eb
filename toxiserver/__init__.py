"""toxiserver: an embedded, Toxiproxy-compatible TCP fault proxy with the same HTTP API.

Public API:

    ToxiproxyServer(host, port, seed)   in-process server on a background thread
    start_subprocess(...) -> ServerProcess   `python -m toxiserver` in its own process group
"""

from ._errors import ApiError, ServerStartError, ToxiserverError
from ._process import ServerProcess, start_subprocess
from ._server import ServerState, ToxiproxyServer

__all__ = [
    "ApiError",
    "ServerProcess",
    "ServerStartError",
    "ServerState",
    "ToxiproxyServer",
    "ToxiserverError",
    "start_subprocess",
]
