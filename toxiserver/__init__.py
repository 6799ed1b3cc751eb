"""toxiserver: an embedded, Toxiproxy-compatible TCP fault proxy with the same HTTP API.

Public API:

    ToxiproxyServer(host, port, seed)   in-process server on a background thread
    start_subprocess(...) -> ServerProcess   `python -m toxiserver` in its own process group,
                                             dying with its parent by default
    stop_orphans(folder) -> [Orphan]         stop recorded servers whose owner is gone
"""

from ._errors import ApiError, ServerStartError, ToxiserverError
from ._lifeline import Orphan, ServerRecord, stop_orphans
from ._process import ServerProcess, start_subprocess
from ._server import ServerState, ToxiproxyServer

__all__ = [
    "ApiError",
    "Orphan",
    "ServerProcess",
    "ServerRecord",
    "ServerStartError",
    "ServerState",
    "ToxiproxyServer",
    "ToxiserverError",
    "start_subprocess",
    "stop_orphans",
]
