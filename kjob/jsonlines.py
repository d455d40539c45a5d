"""JSON as kjob writes and reads it on hot paths (the node agent's pipe and journal, ``run.json``):
orjson, several times faster than the standard library, which remains the fallback for what orjson
refuses to write (a lone surrogate, an integer beyond 64 bits)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(data: Any, *, sort_keys: bool = False) -> bytes:
    """``data`` as compact JSON, UTF-8, without a newline."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        return json.dumps(data, sort_keys=sort_keys, separators=(",", ":")).encode()


def loads(text: bytes | str) -> Any:
    """The value of one JSON text (what :func:`dumps` wrote, a lone surrogate included);
    ``ValueError`` if it is not one."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
