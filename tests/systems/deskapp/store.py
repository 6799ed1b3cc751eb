"""Tickets in Redis: one hash per ticket, a counter for ids, a sorted set for the list.

Keys: ``deskapp:ticket_seq`` (INCR counter), ``deskapp:ticket:<id>`` (hash of the
ticket's fields), ``deskapp:tickets`` (sorted set of ids, scored by their number).
Creating a ticket is one Lua script (one round trip, atomic), like an
``INSERT ... RETURNING id``; reading is one HGETALL; deleting one MULTI/EXEC.
Every call can raise :class:`redis.RedisError` (the app turns it into a 500).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from .config import AppSettings

SEQ_KEY = "deskapp:ticket_seq"
LIST_KEY = "deskapp:tickets"
TICKET_PREFIX = "deskapp:ticket:"

CREATE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local id = string.format('T-%06d', n)
redis.call('HSET', ARGV[1] .. id, 'id', id, 'email', ARGV[2], 'subject', ARGV[3],
           'message', ARGV[4], 'status', 'open', 'created_at', ARGV[5])
redis.call('ZADD', KEYS[2], n, id)
return id
"""


@dataclass(frozen=True)
class Ticket:
    id: str
    email: str
    subject: str
    message: str
    status: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ticket(fields: dict[str, str]) -> Ticket:
    return Ticket(
        id=fields["id"],
        email=fields["email"],
        subject=fields["subject"],
        message=fields["message"],
        status=fields["status"],
        created_at=float(fields["created_at"]),
    )


def connect(settings: AppSettings) -> aioredis.Redis:
    """A client with a bounded pool, short timeouts and one reconnect on a broken connection.

    The single retry covers only connection errors (a pooled connection that the
    proxy closed, say); a timeout is never retried, so a slow database costs a
    page at most ``db_timeout_s`` per command. No CLIENT SETINFO on connect, so
    a new connection costs no extra round trip.
    """
    pool = aioredis.BlockingConnectionPool(
        host=settings.db_host,
        port=settings.db_port,
        max_connections=settings.db_pool_size,
        timeout=settings.db_timeout_s,
        socket_timeout=settings.db_timeout_s,
        socket_connect_timeout=settings.db_connect_timeout_s,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        decode_responses=True,
        driver_info=None,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes both


class TicketStore:
    """Create, read, list and delete tickets."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._create = client.register_script(CREATE_SCRIPT)

    async def create(self, email: str, subject: str, message: str) -> str:
        """Store a new ticket; return its id (``T-000123``)."""
        args = [TICKET_PREFIX, email, subject, message, f"{time.time():.3f}"]
        return str(await self._create(keys=[SEQ_KEY, LIST_KEY], args=args))

    async def get(self, ticket_id: str) -> Ticket | None:
        fields = await self._redis.hgetall(TICKET_PREFIX + ticket_id)
        return _ticket(fields) if fields else None

    async def delete(self, ticket_id: str) -> bool:
        """Remove a ticket; False when there was none."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(TICKET_PREFIX + ticket_id)
            pipe.zrem(LIST_KEY, ticket_id)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def latest(self, limit: int) -> tuple[int, list[Ticket]]:
        """The number of tickets and the newest ``limit`` of them, newest first."""
        ids = await self._redis.zrevrange(LIST_KEY, 0, limit - 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(LIST_KEY)
            for ticket_id in ids:
                pipe.hgetall(TICKET_PREFIX + ticket_id)
            count, *rows = await pipe.execute()
        return int(count), [_ticket(row) for row in rows if row]

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
