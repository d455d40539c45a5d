"""``sprig.*`` in Argo expressions: the Sprig template functions Argo workflows call, with Sprig's
argument order (the subject last: ``sprig.replace(old, new, text)``) and its Go conversions (a
number argument may be a string; integer arithmetic is int64; a failed conversion is 0).

Argo exposes all of Sprig except ``env`` and ``expandenv``; kjob has the text, arithmetic, encoding,
default and date functions listed in :data:`SPRIG`.  Another name is an error that says so.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import math
import re
from collections.abc import Mapping
from typing import Any

from kjob.expr._values import EvalFailure, Function, from_json, is_number, to_json
from kjob.expr.functions import to_string


def to_int64(value: object) -> int:
    """Sprig's ``toInt64`` (spf13/cast): numbers truncated, strings parsed, anything else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return 0 if math.isnan(value) or math.isinf(value) else int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 0) if re.fullmatch(r"[+-]?(?:0[xXoObB])?[0-9a-fA-F_]+", text) else int(text)
        except ValueError:
            return 0
    return 0


def to_float64(value: object) -> float:
    if is_number(value) or isinstance(value, bool):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return 0.0
    return 0.0


def _text(value: object) -> str:
    return to_string(value) if value is not None else ""


def _div(a: object, b: object) -> int:
    divisor = to_int64(b)
    if divisor == 0:
        raise EvalFailure("sprig.div: integer divide by zero")
    quotient = abs(to_int64(a)) // abs(divisor)
    return quotient if (to_int64(a) >= 0) == (divisor > 0) else -quotient


def _mod(a: object, b: object) -> int:
    divisor = to_int64(b)
    if divisor == 0:
        raise EvalFailure("sprig.mod: integer divide by zero")
    remainder = abs(to_int64(a)) % abs(divisor)
    return remainder if to_int64(a) >= 0 else -remainder


def _b64dec(value: object) -> str:
    try:
        return base64.b64decode(_text(value), validate=True).decode("utf-8", errors="replace")
    except binascii.Error as err:
        return str(err)  # Sprig returns the error's text as the value


def _empty(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return not value
    if is_number(value):
        return value == 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) == 0
    return False


def _default(default: object, *given: object) -> object:
    return default if not given or _empty(given[0]) else given[0]


def _coalesce(*values: object) -> object:
    return next((v for v in values if not _empty(v)), None)


def _substr(start: object, end: object, text: object) -> str:
    s, begin, stop = _text(text), to_int64(start), to_int64(end)
    if begin < 0:
        return s[:stop]
    if stop < 0 or stop > len(s):
        return s[begin:]
    return s[begin:stop]


def _trunc(count: object, text: object) -> str:
    s, n = _text(text), to_int64(count)
    return s[:n] if n >= 0 else s[max(len(s) + n, 0) :]


def _indent(spaces: object, text: object) -> str:
    pad = " " * to_int64(spaces)
    return pad + _text(text).replace("\n", "\n" + pad)


def _dict(*pairs: object) -> dict[str, Any]:
    return {_text(pairs[i]): pairs[i + 1] if i + 1 < len(pairs) else "" for i in range(0, len(pairs), 2)}


def _from_json(text: object) -> Any:
    try:
        return from_json(_text(text))
    except EvalFailure:
        return {}  # Sprig's fromJson gives an empty map for bad JSON (mustFromJson fails)


def _date(layout: object, when: object = None) -> str:
    """Sprig's ``date``: a time as a Go layout formats it; a value that is not a time is now, as in
    Sprig (Argo's timestamps are strings, so ``sprig.date('2006', workflow.creationTimestamp)`` is this
    year, as in Argo)."""
    if is_number(when) and not isinstance(when, bool):
        moment = datetime.datetime.fromtimestamp(float(when), tz=datetime.UTC)  # type: ignore[arg-type]
    else:
        moment = datetime.datetime.now(tz=datetime.UTC)
    return go_time_format(moment, _text(layout))


_GO_LAYOUT = re.compile(
    r"January|Jan|Monday|Mon|2006|MST|Z07:00|-07:00|-0700|Z0700|\.0+|\.9+|01|02|_2|03|04|05|06|15|PM|pm|1|2|3|4|5"
)


def go_time_format(moment: datetime.datetime, layout: str) -> str:
    """``moment`` written with a Go time layout (``2006-01-02T15:04:05Z07:00``)."""

    def token(match: re.Match[str]) -> str:
        t = match.group()
        if t.startswith("."):  # fractional seconds: .000 keeps its zeros, .999 drops trailing ones
            digits = f"{moment.microsecond:06d}000"[: len(t) - 1]
            if t[1] == "9":
                digits = digits.rstrip("0")
            return f".{digits}" if digits else ""
        offset = moment.strftime("%z") or "+0000"
        table: dict[str, str] = {
            "January": moment.strftime("%B"),
            "Jan": moment.strftime("%b"),
            "Monday": moment.strftime("%A"),
            "Mon": moment.strftime("%a"),
            "2006": f"{moment.year:04d}",
            "06": f"{moment.year % 100:02d}",
            "MST": moment.tzname() or "UTC",
            "Z07:00": "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}",
            "Z0700": "Z" if offset == "+0000" else offset,
            "-07:00": f"{offset[:3]}:{offset[3:]}",
            "-0700": offset,
            "01": f"{moment.month:02d}",
            "1": str(moment.month),
            "02": f"{moment.day:02d}",
            "2": str(moment.day),
            "_2": f"{moment.day:2d}",
            "15": f"{moment.hour:02d}",
            "03": f"{(moment.hour % 12) or 12:02d}",
            "3": str((moment.hour % 12) or 12),
            "04": f"{moment.minute:02d}",
            "4": str(moment.minute),
            "05": f"{moment.second:02d}",
            "5": str(moment.second),
            "PM": "PM" if moment.hour >= 12 else "AM",
            "pm": "pm" if moment.hour >= 12 else "am",
        }
        return table[t]

    return _GO_LAYOUT.sub(token, layout)


def _int_list(values: tuple[object, ...]) -> list[int]:
    return [to_int64(v) for v in values]


SPRIG: dict[str, Function] = {
    # text
    "trim": lambda s: _text(s).strip(),
    "trimAll": lambda cut, s: _text(s).strip(_text(cut)),
    "trimPrefix": lambda prefix, s: _text(s).removeprefix(_text(prefix)),
    "trimSuffix": lambda suffix, s: _text(s).removesuffix(_text(suffix)),
    "upper": lambda s: _text(s).upper(),
    "lower": lambda s: _text(s).lower(),
    "title": lambda s: re.sub(r"\b[a-z]", lambda m: m.group().upper(), _text(s)),
    "replace": lambda old, new, s: _text(s).replace(_text(old), _text(new)),
    "contains": lambda sub, s: _text(sub) in _text(s),
    "hasPrefix": lambda prefix, s: _text(s).startswith(_text(prefix)),
    "hasSuffix": lambda suffix, s: _text(s).endswith(_text(suffix)),
    "repeat": lambda count, s: _text(s) * max(to_int64(count), 0),
    "substr": _substr,
    "trunc": _trunc,
    "nospace": lambda s: re.sub(r"\s", "", _text(s)),
    "quote": lambda *values: " ".join(f'"{_text(v)}"' for v in values if v is not None),
    "squote": lambda *values: " ".join(f"'{_text(v)}'" for v in values if v is not None),
    "cat": lambda *values: " ".join(_text(v) for v in values if v is not None),
    "indent": _indent,
    "nindent": lambda spaces, s: "\n" + _indent(spaces, s),
    "splitList": lambda sep, s: _text(s).split(_text(sep)),
    "join": lambda sep, items: _text(sep).join(
        _text(v) for v in (items if isinstance(items, list) else [items])
    ),
    "toString": _text,
    "toJson": to_json,
    "toPrettyJson": lambda v: to_json(v, indent=True),
    "fromJson": _from_json,
    "b64enc": lambda s: base64.b64encode(_text(s).encode()).decode(),
    "b64dec": _b64dec,
    # numbers (int64 unless named ...f)
    "add": lambda *values: sum(_int_list(values)),
    "add1": lambda v: to_int64(v) + 1,
    "sub": lambda a, b: to_int64(a) - to_int64(b),
    "mul": lambda *values: math.prod(_int_list(values)),
    "div": _div,
    "mod": _mod,
    "max": lambda first, *rest: max(_int_list((first, *rest))),
    "min": lambda first, *rest: min(_int_list((first, *rest))),
    "int": to_int64,
    "int64": to_int64,
    "atoi": to_int64,
    "float64": to_float64,
    "addf": lambda *values: math.fsum(to_float64(v) for v in values),
    "subf": lambda a, *rest: to_float64(a) - math.fsum(to_float64(v) for v in rest),
    "mulf": lambda *values: math.prod(to_float64(v) for v in values),
    "maxf": lambda first, *rest: max(to_float64(v) for v in (first, *rest)),
    "minf": lambda first, *rest: min(to_float64(v) for v in (first, *rest)),
    "floor": lambda v: float(math.floor(to_float64(v))),
    "ceil": lambda v: float(math.ceil(to_float64(v))),
    # defaults and collections
    "default": _default,
    "empty": _empty,
    "coalesce": _coalesce,
    "ternary": lambda yes, no, condition: yes if condition is True else no,
    "list": lambda *values: list(values),
    "dict": _dict,
    # time
    "date": _date,
    "now": lambda: datetime.datetime.now(tz=datetime.UTC).isoformat(),
}
