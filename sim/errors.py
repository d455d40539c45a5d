"""The simulator's errors: all are :class:`~kjob.errors.KjobError`, so the CLI prints one line, no traceback.

A mistake at a known place in a file we parse (a cluster file, a durations file, a WfFormat or cost
table) is a :class:`~kjob.errors.SpecError` (``file:line:col: error: ...``); anything else a user can
get wrong (a bad SOURCE, an option value) is a :class:`SimError`.
"""

from __future__ import annotations

from typing import NoReturn

from kjob.errors import KjobError, SpecError


class SimError(KjobError):
    """A simulation input that cannot be used: the message says which, the hint what to do."""


def fail_at(message: str, path: str, line: int, col: int, hint: str | None = None) -> NoReturn:
    """Raise a :class:`SpecError` at ``path:line:col`` (1-based)."""
    raise SpecError(message, path=path, line=line, col=col, hint=hint)


def locate(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """1-based ``(line, col)`` of the first ``needle`` in ``text`` at or after ``start`` (``(1, 1)`` if
    absent): a place to point at in a JSON file that was read with the fast ``json`` module."""
    at = text.find(needle, start)
    if at < 0:
        return 1, 1
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, col
