"""Toxic types: their attributes and how each one treats a chunk of data.

A toxic type is a small record (`ToxicType`) with one contract: an async
`apply(toxic, ctx, data, arrived_at, nxt)` that passes (possibly altered,
delayed or sliced) data on by awaiting `nxt(piece, at)`, or drops it by not
calling `nxt`. `at` is the time the piece is stamped with for the next toxic:
the arrival time, or for latency the time it was released (so two latency
toxics add up, as in Toxiproxy, whose latency advances the chunk's timestamp). `ctx` is the per-connection, per-direction `LinkContext`
(seeded random generator, per-toxic state, handle on the connection).
Add a type by adding a `ToxicType` to `TOXIC_TYPES`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _errors as err
from ._schema import check_name, decode_fields, expect_object, parse_json

if TYPE_CHECKING:
    from ._link import LinkContext

Next = Callable[[bytes, float], Awaitable[None]]
Apply = Callable[["Toxic", "LinkContext", bytes, float, Next], Awaitable[None]]

STREAMS = ("upstream", "downstream")
_uids = itertools.count(1)


@dataclass(frozen=True)
class ToxicType:
    """One toxic type: its name, integer attributes, Go struct name and behaviour."""

    name: str
    attributes: tuple[str, ...]
    go_struct: str
    apply: Apply


@dataclass(eq=False)
class Toxic:
    """A toxic as configured through the API (shared by every connection of a proxy)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int]
    uid: int = field(default_factory=lambda: next(_uids))

    def to_json(self) -> dict[str, Any]:
        """The toxic in Toxiproxy's JSON shape."""
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }

    def attr(self, key: str) -> int:
        """An attribute value (0 when unset, as in Go)."""
        return self.attributes.get(key, 0)


# ---------------------------------------------------------------- behaviours


async def _sleep_until(deadline: float) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


async def apply_latency(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    delay_ms = toxic.attr("latency")
    jitter_ms = toxic.attr("jitter")
    if jitter_ms > 0:
        delay_ms += ctx.rng.randrange(2 * jitter_ms) - jitter_ms
    released = at + delay_ms / 1000
    await _sleep_until(released)
    await nxt(data, released)


async def _bandwidth(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    rate_kbps = toxic.attr("rate")
    if rate_kbps <= 0:
        await nxt(data, at)
        return
    state = ctx.state(toxic, dict)
    loop = asyncio.get_running_loop()
    piece_size = max(1, rate_kbps * 100)  # 100 ms worth of data per piece
    for start in range(0, len(data), piece_size):
        piece = data[start : start + piece_size]
        begin = max(loop.time(), state.get("next_at", 0.0))
        state["next_at"] = begin + len(piece) / (rate_kbps * 1000)
        await _sleep_until(state["next_at"])
        await nxt(piece, at)


async def _pass(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    await nxt(data, at)


async def _timeout(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    """Drop the data; the connection closes after `timeout` ms without data (see `_link`)."""
    ctx.conn.rearm_timeout(toxic)


async def _reset_peer(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    ctx.conn.schedule_reset(toxic.attr("timeout") / 1000)


def slice_offsets(total: int, average: int, variation: int, rng: Any) -> list[int]:
    """Cut points (0 .. total) splitting `total` bytes into ~`average`-sized slices."""
    cuts = [0, total]
    if average <= 0:
        return cuts
    stack = [(0, total)]
    points = {0, total}
    while stack:
        start, end = stack.pop()
        if (end - start) - average <= variation:
            continue
        spread = rng.randrange(variation * 2) - variation if variation > 0 else 0
        mid = min(max(start + (end - start) // 2 + spread, start + 1), end - 1)
        points.add(mid)
        stack.append((start, mid))
        stack.append((mid, end))
    return sorted(points)


async def _slicer(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    cuts = slice_offsets(
        len(data), toxic.attr("average_size"), toxic.attr("size_variation"), ctx.rng
    )
    delay_s = toxic.attr("delay") / 1_000_000
    for i in range(1, len(cuts)):
        await nxt(data[cuts[i - 1] : cuts[i]], at)
        if delay_s > 0 and i < len(cuts) - 1:
            await asyncio.sleep(delay_s)


async def _limit_data(toxic: Toxic, ctx: LinkContext, data: bytes, at: float, nxt: Next) -> None:
    state = ctx.state(toxic, dict)
    sent = state.get("sent", 0)
    remaining = max(0, toxic.attr("bytes") - sent)
    piece = data[:remaining]
    if piece:
        state["sent"] = sent + len(piece)
        await nxt(piece, at)
    if toxic.attr("bytes") - state.get("sent", 0) <= 0:
        await ctx.conn.close_after_flush()


TOXIC_TYPES: dict[str, ToxicType] = {
    t.name: t
    for t in (
        ToxicType("latency", ("latency", "jitter"), "LatencyToxic", apply_latency),
        ToxicType("bandwidth", ("rate",), "BandwidthToxic", _bandwidth),
        ToxicType("slow_close", ("delay",), "SlowCloseToxic", _pass),
        ToxicType("timeout", ("timeout",), "TimeoutToxic", _timeout),
        ToxicType("reset_peer", ("timeout",), "ResetToxic", _reset_peer),
        ToxicType("slicer", ("average_size", "size_variation", "delay"), "SlicerToxic", _slicer),
        ToxicType("limit_data", ("bytes",), "LimitDataToxic", _limit_data),
    )
}


# ---------------------------------------------------------------- decoding

_WRAPPER_FIELDS = {"name": "str", "type": "str", "stream": "str", "toxicity": "float"}


def _decode_attributes(
    ttype: ToxicType, body: dict[str, Any], current: dict[str, int]
) -> dict[str, int]:
    raw = body.get("attributes")
    if raw is None:
        return dict(current)
    if not isinstance(raw, dict):
        kind = "array" if isinstance(raw, list) else type(raw).__name__
        raise err.BAD_REQUEST_BODY.joined(
            f"json: cannot unmarshal {kind} into Go struct field .attributes of type "
            f"toxics.{ttype.go_struct}"
        )
    fields = {name: "int" for name in ttype.attributes}
    values = decode_fields(raw, fields, f"{ttype.go_struct}.attributes", current)
    for key, value in values.items():
        if value < 0:  # Go takes it (a negative slicer size recurses until the stack overflows)
            raise err.BAD_REQUEST_BODY.joined(
                f"attribute '{key}' of a {ttype.name} toxic must be 0 or more, got {value}"
            )
    return values


def _check_toxicity(toxicity: float) -> float:
    """Toxicity is a probability; Go takes any float32 (2 acts as 1, -0.1 as 0)."""
    if not 0.0 <= toxicity <= 1.0:
        raise err.BAD_REQUEST_BODY.joined(f"toxicity must be between 0 and 1, got {toxicity:g}")
    return toxicity


def toxic_from_body(raw: bytes) -> Toxic:
    """Build a new toxic from a create request, with Toxiproxy's defaults and errors."""
    body = expect_object(parse_json(raw), "toxics.ToxicWrapper")
    values = decode_fields(
        body,
        _WRAPPER_FIELDS,
        "ToxicWrapper",
        {"name": "", "type": "", "stream": "downstream", "toxicity": 1.0},
    )
    stream = values["stream"].lower()
    if stream not in STREAMS:
        raise err.INVALID_STREAM
    name = values["name"] or f"{values['type']}_{values['stream']}"
    ttype = TOXIC_TYPES.get(values["type"])
    if ttype is None:
        raise err.INVALID_TOXIC_TYPE
    check_name("toxic name", name)
    defaults = {key: 0 for key in ttype.attributes}
    attributes = _decode_attributes(ttype, body, defaults)
    return Toxic(name, ttype.name, stream, _check_toxicity(values["toxicity"]), attributes)


def update_from_body(toxic: Toxic, raw: bytes) -> tuple[float, dict[str, int]]:
    """The (toxicity, attributes) an update request asks for; name/type/stream are fixed."""
    body = expect_object(parse_json(raw), "toxics.ToxicWrapper")
    values = decode_fields(
        body, {"toxicity": "float"}, "ToxicWrapper", {"toxicity": toxic.toxicity}
    )
    attributes = _decode_attributes(TOXIC_TYPES[toxic.type], body, toxic.attributes)
    return _check_toxicity(values["toxicity"]), attributes
