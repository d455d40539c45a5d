"""Durations as Argo writes them: a number of seconds, or a Go duration string ("10s", "1h30m", "500ms")."""

from __future__ import annotations

import re
from typing import NoReturn

from kjob.errors import KjobError, SpecError
from kjob.spec.model import Mark

# Seconds per unit, with the spellings Go's time.ParseDuration accepts.
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign
    "\u03bcs": 1e-6,  # Greek small letter mu
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_PART = re.compile(rf"({_NUMBER})({_UNIT})")
_GO_DURATION = re.compile(rf"(?:{_NUMBER}(?:{_UNIT}))+")
_PLAIN_SECONDS = re.compile(rf"{_NUMBER}")

LONGEST = (2**63 - 1) / 1e9  # seconds: Go's longest time.Duration, about 292 years
HINT = 'use a number of seconds or a duration like "30s", "5m", "1h30m" or "500ms"'


def parse_duration(value: object, *, mark: Mark | None = None) -> float:
    """``value`` in seconds.

    Numbers (and strings of digits) are seconds; strings may also be Go durations made of
    number+unit parts (``ns``, ``us``, ``ms``, ``s``, ``m``, ``h``).  Negative or malformed values raise
    :class:`~kjob.errors.SpecError` at ``mark`` (a plain :class:`~kjob.errors.KjobError` without one).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _fail(f"invalid duration {_show(value)}", mark)
    if isinstance(value, int | float):
        if value != value:  # NaN
            _fail(f"invalid duration {_show(value)}", mark)
        if value < 0:
            _fail(f"duration {_show(value)} must not be negative", mark)
        return _bounded(value, value, mark)
    text = value.strip()
    if text.startswith("-"):
        _fail(f"duration {_show(value)} must not be negative", mark)
    text = text.removeprefix("+")
    if _PLAIN_SECONDS.fullmatch(text):
        return _bounded(float(text), value, mark)
    if not _GO_DURATION.fullmatch(text):
        _fail(f"invalid duration {_show(value)}", mark)
    return _bounded(sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(text)), value, mark)


def _bounded(seconds: float, value: object, mark: Mark | None) -> float:
    """``seconds`` as a float, if no longer than Go's longest duration (as Argo's parser requires)."""
    if seconds > LONGEST:  # a huge int, or inf, compares without converting
        _fail(f"duration {_show(value)} is longer than any duration (about 292 years)", mark)
    return float(seconds)


def _show(value: object) -> str:
    text = str(value) if isinstance(value, str) else repr(value)
    if len(text) > 40:
        text = f"{text[:20]}…({len(text)} characters)"
    return f'"{text}"' if isinstance(value, str) else text


def _fail(message: str, mark: Mark | None) -> NoReturn:
    if mark is None:
        raise KjobError(message, hint=HINT)
    raise SpecError(message, path=mark.path, line=mark.line, col=mark.col, hint=HINT)
