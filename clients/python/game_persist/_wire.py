"""The contract's wire form on the client side: ids, timestamps, field names and the RFC 7396 fold."""

import copy
import os
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, Union

Id = Union[str, int]
"""A session or player id: the API stores it as a string; an int is sent as its decimal string."""

Event = Dict[str, Any]
"""One event in the contract's wire form: ``id``, ``type``, ``at``, ``data``, and ``sessionId``,
``player``, ``seq`` when set (docs/contract.md)."""


def uuid7() -> str:
    """A UUIDv7: time-ordered, so the ids a game server assigns sort by creation."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch, as the workers fold a ``turn.result``'s ``patch`` into the live state:
    a game server rebuilding its state from a recovery's ``sinceState`` or ``tail`` folds the same way."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def data_fields(values: Dict[str, Any]) -> Dict[str, Any]:
    """Helper keyword arguments (snake_case) to the contract's data fields (camelCase); None = absent."""
    return {camel(k): v for k, v in values.items() if v is not None}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
