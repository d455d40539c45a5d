"""The functions an Argo expression can call by name: expr-lang's builtins that Argo workflows use,
and the ones Argo adds (``asInt``, ``asFloat``, ``toJson``, ``jsonpath``; ``sprig.*`` is
:mod:`kjob.expr.sprig`).

A function takes already evaluated arguments.  The predicate builtins (``filter``, ``map``, ``all``,
...) take a function of one element as their second argument: the expression's ``{# > 1}`` (or a
bare ``# > 1``).  A problem raises :class:`~kjob.expr._values.EvalFailure`; the caller puts the
caret on the call.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from kjob.expr import jsonpath as _jsonpath
from kjob.expr._values import EvalFailure, Function, from_json, is_number, kind, number_text, show, to_json

Predicate = Callable[[Any], Any]
_INTEGER = re.compile(r"[+-]?[0-9]+")


def to_int(value: object) -> int:
    """expr-lang's ``int`` (Argo's ``asInt``): a number truncated, a string parsed as a whole integer."""
    if isinstance(value, bool):
        raise EvalFailure(f"cannot convert {show(value)} to int")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EvalFailure(f"cannot convert {show(value)} to int")
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    if isinstance(value, str):
        raise EvalFailure(
            f"cannot convert {show(value)} to int",
            hint="asInt parses a whole number; use asFloat for decimals",
        )
    raise EvalFailure(f"cannot convert {show(value)} to int")


def to_float(value: object) -> float:
    """expr-lang's ``float`` (Argo's ``asFloat``): a number as float64, a string parsed."""
    if is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise EvalFailure(f"cannot convert {show(value)} to float")


def to_string(value: object) -> str:
    """expr-lang's ``string``: Go's ``%v`` of the value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_number(value):
        return number_text(value)  # type: ignore[arg-type]
    if isinstance(value, list | tuple):
        return "[" + " ".join(to_string(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{to_string(value[k])}" for k in sorted(value)) + "]"
    return f"<{kind(value)}>"


def _length(value: object) -> int:
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise EvalFailure(f"invalid argument for len (type {kind(value)})")


def _items(value: object, name: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping):
        return list(value.values())
    raise EvalFailure(f"{name} needs an array, got {show(value)}")


def _test(predicate: Predicate, element: object, name: str) -> bool:
    result = predicate(element)
    if not isinstance(result, bool):
        raise EvalFailure(f"the predicate of {name} must be true or false, got {show(result)}")
    return result


def _filter(items: object, predicate: Predicate) -> list[Any]:
    return [e for e in _items(items, "filter") if _test(predicate, e, "filter")]


def _map(items: object, function: Predicate) -> list[Any]:
    return [function(e) for e in _items(items, "map")]


def _all(items: object, predicate: Predicate) -> bool:
    return all(_test(predicate, e, "all") for e in _items(items, "all"))


def _any(items: object, predicate: Predicate) -> bool:
    return any(_test(predicate, e, "any") for e in _items(items, "any"))


def _none(items: object, predicate: Predicate) -> bool:
    return not any(_test(predicate, e, "none") for e in _items(items, "none"))


def _one(items: object, predicate: Predicate) -> bool:
    return sum(_test(predicate, e, "one") for e in _items(items, "one")) == 1


def _count(items: object, predicate: Predicate | None = None) -> int:
    elements = _items(items, "count")
    if predicate is None:
        return sum(1 for e in elements if e is True)
    return sum(_test(predicate, e, "count") for e in elements)


def _find(items: object, predicate: Predicate) -> Any:
    return next((e for e in _items(items, "find") if _test(predicate, e, "find")), None)


def _find_index(items: object, predicate: Predicate) -> int:
    for i, e in enumerate(_items(items, "findIndex")):
        if _test(predicate, e, "findIndex"):
            return i
    return -1


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise EvalFailure(f"{name} needs a string, got {show(value)}")
    return value


def _trim(value: object, chars: object = None) -> str:
    text = _text(value, "trim")
    return text.strip() if chars is None else text.strip(_text(chars, "trim"))


def _split(value: object, separator: object, limit: object = -1) -> list[str]:
    text, sep = _text(value, "split"), _text(separator, "split")
    count = to_int(limit)
    if count == 0:
        return []
    if sep == "":
        return list(text)
    return text.split(sep, count - 1) if count > 0 else text.split(sep)


def _join(items: object, separator: object = "") -> str:
    return _text(separator, "join").join(_text(e, "join") for e in _items(items, "join"))


def _numbers(values: tuple[Any, ...], name: str) -> list[int | float]:
    flat: list[Any] = []
    for v in values:
        flat.extend(v if isinstance(v, list | tuple) else [v])
    if not flat or not all(is_number(v) for v in flat):
        raise EvalFailure(f"{name} needs numbers, got {', '.join(show(v) for v in flat) or 'none'}")
    return flat


def _max(*values: Any) -> int | float:
    return max(_numbers(values, "max"))


def _min(*values: Any) -> int | float:
    return min(_numbers(values, "min"))


def _sum(items: object) -> int | float:
    elements = _items(items, "sum")
    return sum(_numbers(tuple(elements), "sum")) if elements else 0


def _abs(value: object) -> int | float:
    return abs(_numbers((value,), "abs")[0])


def _keys(value: object) -> list[Any]:
    if not isinstance(value, Mapping):
        raise EvalFailure(f"keys needs a map, got {show(value)}")
    return list(value)


def _values(value: object) -> list[Any]:
    if not isinstance(value, Mapping):
        raise EvalFailure(f"values needs a map, got {show(value)}")
    return list(value.values())


def _first(value: object) -> Any:
    elements = _items(value, "first")
    return elements[0] if elements else None


def _last(value: object) -> Any:
    elements = _items(value, "last")
    return elements[-1] if elements else None


def _from_base64(value: object) -> str:
    try:
        return base64.b64decode(_text(value, "fromBase64"), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as err:
        raise EvalFailure(f"invalid base64: {err}") from None


def _from_json(value: object) -> Any:
    return from_json(_text(value, "fromJSON"))


def _jsonpath_call(document: object, path: object) -> Any:
    return _jsonpath.query(from_json(_text(document, "jsonpath")), _text(path, "jsonpath"))


def _round(value: object) -> float:
    number = _numbers((value,), "round")[0]
    return float(math.floor(number + 0.5) if number >= 0 else -math.floor(-number + 0.5))


BUILTINS: dict[str, Function] = {
    "len": _length,
    "int": to_int,
    "float": to_float,
    "string": to_string,
    "asInt": to_int,
    "asFloat": to_float,
    "toJson": to_json,
    "toJSON": lambda v: to_json(v, indent=True),
    "fromJSON": _from_json,
    "jsonpath": _jsonpath_call,
    "toBase64": lambda v: base64.b64encode(_text(v, "toBase64").encode()).decode(),
    "fromBase64": _from_base64,
    "trim": _trim,
    "trimPrefix": lambda v, p: _text(v, "trimPrefix").removeprefix(_text(p, "trimPrefix")),
    "trimSuffix": lambda v, s: _text(v, "trimSuffix").removesuffix(_text(s, "trimSuffix")),
    "upper": lambda v: _text(v, "upper").upper(),
    "lower": lambda v: _text(v, "lower").lower(),
    "split": _split,
    "join": _join,
    "replace": lambda v, old, new: _text(v, "replace").replace(_text(old, "replace"), _text(new, "replace")),
    "repeat": lambda v, n: _text(v, "repeat") * max(to_int(n), 0),
    "indexOf": lambda v, s: _text(v, "indexOf").find(_text(s, "indexOf")),
    "hasPrefix": lambda v, p: _text(v, "hasPrefix").startswith(_text(p, "hasPrefix")),
    "hasSuffix": lambda v, s: _text(v, "hasSuffix").endswith(_text(s, "hasSuffix")),
    "keys": _keys,
    "values": _values,
    "first": _first,
    "last": _last,
    "abs": _abs,
    "max": _max,
    "min": _min,
    "sum": _sum,
    "ceil": lambda v: float(math.ceil(_numbers((v,), "ceil")[0])),
    "floor": lambda v: float(math.floor(_numbers((v,), "floor")[0])),
    "round": _round,
    "filter": _filter,
    "map": _map,
    "all": _all,
    "any": _any,
    "none": _none,
    "one": _one,
    "count": _count,
    "find": _find,
    "findIndex": _find_index,
}

# builtins whose second argument is a predicate: a bare `# > 1` there is a function, not a value
PREDICATE_BUILTINS = frozenset({"filter", "map", "all", "any", "none", "one", "count", "find", "findIndex"})
