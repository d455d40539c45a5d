"""Values of Argo expressions as Go (expr-lang) sees them: kinds, equality, and text.

An expression's values are ``None`` (nil), ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict``
and functions.  Numbers print as Go prints them (``43.0`` is ``43``), and a value that is not a
string is written into a template as Go's ``json.Marshal`` writes it (compact, keys sorted, ``<``,
``>`` and ``&`` escaped).
"""

from __future__ import annotations

import decimal
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class EvalFailure(Exception):
    """An evaluation problem at ``column`` of the expression; the caller makes it a TemplateError."""

    def __init__(self, message: str, column: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


def kind(value: object) -> str:
    """Go's name for the kind of ``value``, as expr-lang's messages use it."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "map"
    if callable(value):
        return "func"
    return type(value).__name__


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def equal(a: object, b: object) -> bool:
    """expr-lang's ``==``: numbers compare by value whatever their kind, other kinds must match."""
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def number_text(value: int | float) -> str:
    """A number as Go's ``%v`` and ``json.Marshal`` print it: ``43.0`` is ``43``, ``1e21`` is ``1e+21``."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        raise EvalFailure(f"cannot write the number {value} as text")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if 1e-6 <= abs(value) < 1e21:
        return format(decimal.Decimal(repr(value)), "f")
    mantissa, exponent = f"{value!r}".split("e")
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0').zfill(2)}"


def to_json(value: object, *, indent: bool = False) -> str:
    """``value`` as Go's ``json.Marshal`` (or ``MarshalIndent`` with two spaces) writes it: keys
    sorted, numbers as Go prints them, ``<``, ``>`` and ``&`` escaped."""
    return _json(value, "\n" if indent else "", "  " if indent else "")


def _json(value: object, newline: str, step: str) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, str):
        encoded = json.dumps(value, ensure_ascii=False)
        return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    inner = newline + step if newline else ""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        colon = ": " if newline else ":"
        items = [
            f"{_json(str(k), newline, step)}{colon}{_json(value[k], inner, step)}" for k in sorted(value)
        ]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        return "[" + inner + ("," + inner).join(_json(v, inner, step) for v in value) + newline + "]"
    raise EvalFailure(f"cannot write a {kind(value)} as JSON")


def from_json(text: str) -> Any:
    """JSON text parsed as Go's ``json.Unmarshal`` into ``any`` reads it (numbers as float64)."""
    try:
        return json.loads(text, parse_int=float, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise EvalFailure(f"invalid JSON: {err}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def result_text(value: object) -> str:
    """How an expression's value is written into a template: a string as it is, anything else as
    JSON (Argo's expression tags); nil is an error."""
    if value is None:
        raise EvalFailure("the expression's value is nil", hint="use '??' to give a value in its place")
    if isinstance(value, str):
        return value
    return to_json(value)


def show(value: object) -> str:
    """``value`` for a message."""
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value):
        return f"the number {number_text(value)}"  # type: ignore[arg-type]
    return f"a {kind(value)}"


Function = Callable[..., Any]
Items = Sequence[Any]
