"""Values read from YAML: Argo's string form of a scalar, and what to call a value in a message.

Argo reads every parameter value, env value and label as text, so ``1000`` becomes "1000" and ``true``
becomes "true"; :func:`plain` turns a positioned tree back into plain dicts and lists for the fields
kjob passes through to Kubernetes untouched.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any


def plain(value: Any) -> Any:
    """A YAML value as plain Python: dict, list, str, int, float, bool or None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def argo_string(value: Any) -> str | None:
    """A scalar in the string form Argo gives it (``1000`` -> "1000", ``true`` -> "true")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e16 else repr(number)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | datetime.date) or value is None


def unpassable(text: str) -> str | None:
    """What in ``text`` cannot reach a process (argv and environment are NUL-terminated bytes), or
    ``None``: a NUL character, or a lone surrogate (no encoding can carry it)."""
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return "a lone surrogate (not a character)"
    return None


def unpassable_in(argv: Iterable[str], env: Mapping[str, str]) -> str | None:
    """Why a process cannot be started with this command and environment, or ``None``."""
    named = [*(("an argument", a) for a in argv), *((f"env {k}", v) for k, v in env.items())]
    for what, text in named:
        problem = unpassable(text)
        if problem:
            return f"{what} of the task contains {problem}, which no program can be given"
    return None
