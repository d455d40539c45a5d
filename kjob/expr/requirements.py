"""A resource template's ``successCondition`` / ``failureCondition``: Argo's label-selector syntax over
an object's fields.

Argo parses the text with Kubernetes' label-selector parser (``status.phase in (Failed, Error),
status.failed > 0``: requirements joined by commas) and looks each key up in the object's JSON with a
gjson path (``status.succeeded``, ``status.conditions.0.type``, ``spec.items.#``).  A condition holds
when every requirement does.  The operators and their meaning are Kubernetes': ``=``/``==``/``in``
need the field present with one of the values, ``!=``/``notin`` hold when it is absent too, ``key``
and ``!key`` test presence, and ``>``/``<`` compare integers (a field that is not an integer fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kjob.errors import KjobError

_SPECIAL = "=!(),<>"
_KEY = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)
_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_OPERATORS = ("=", "==", "!=", "in", "notin", ">", "<")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # one of _OPERATORS, "exists" or "!"
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(sorted(self.values))})"
        return f"{self.key}{self.operator}{self.values[0]}"

    def matches(self, obj: Any) -> bool:
        found, value = lookup(obj, self.key)
        op = self.operator
        if op == "exists":
            return found
        if op == "!":
            return not found
        if op in ("=", "==", "in"):
            return found and text(value) in self.values
        if op in ("!=", "notin"):
            return not found or text(value) not in self.values
        number = _integer(text(value)) if found else None
        if number is None:
            return False
        limit = int(self.values[0])
        return number > limit if op == ">" else number < limit


def parse_requirements(condition: str) -> tuple[Requirement, ...]:
    """The requirements of ``condition``; :class:`KjobError` names what is wrong with it."""
    tokens = _tokens(condition)
    found: list[Requirement] = []
    at = 0
    while at < len(tokens):
        requirement, at = _requirement(tokens, at, condition)
        found.append(requirement)
        if at < len(tokens):
            if tokens[at] != ",":
                raise KjobError(f"expected ',' before '{tokens[at]}' in condition '{condition}'")
            at += 1
            if at == len(tokens):
                raise KjobError(f"condition '{condition}' ends with ','")
    return tuple(found)


def holds(requirements: Sequence[Requirement], obj: Any) -> bool:
    """Whether every requirement holds for ``obj`` (so an empty condition always holds)."""
    return all(r.matches(obj) for r in requirements)


def lookup(obj: Any, path: str) -> tuple[bool, Any]:
    """The value at a gjson ``path`` in ``obj`` (``a.b``, ``items.0.name``, ``items.#``, ``a\\.b``
    for a key with a dot): ``(False, None)`` when nothing is there."""
    value = obj
    for part in _path_parts(path):
        if isinstance(value, Mapping):
            if part not in value:
                return False, None
            value = value[part]
        elif isinstance(value, list):
            if part == "#":
                value = len(value)
            elif part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return False, None
        else:
            return False, None
    return True, value


def text(value: Any) -> str:
    """A field's value as gjson's ``String()`` gives it: strings bare, ``null`` empty, numbers and
    booleans as JSON writes them, objects and lists as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, separators=(",", ":"))


def _path_parts(path: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in path:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _integer(value: str) -> int | None:
    try:
        return int(value, 10)
    except ValueError:
        return None


def _tokens(condition: str) -> list[str]:
    tokens: list[str] = []
    at = 0
    while at < len(condition):
        ch = condition[at]
        if ch.isspace():
            at += 1
        elif ch in _SPECIAL:
            two = condition[at : at + 2]
            token = two if two in ("==", "!=") else ch
            tokens.append(token)
            at += len(token)
        else:
            end = at
            while end < len(condition) and not condition[end].isspace() and condition[end] not in _SPECIAL:
                end += 1
            tokens.append(condition[at:end])
            at = end
    return tokens


def _requirement(tokens: list[str], at: int, condition: str) -> tuple[Requirement, int]:
    negated = tokens[at] == "!"
    if negated:
        at += 1
    if at >= len(tokens) or _symbol(tokens[at]):
        got = f"'{tokens[at]}'" if at < len(tokens) else "the end"
        raise KjobError(f"expected a field path, found {got} in condition '{condition}'")
    key = _key(tokens[at], condition)
    at += 1
    if negated:
        return Requirement(key, "!"), at
    if at >= len(tokens) or tokens[at] == ",":
        return Requirement(key, "exists"), at
    op = tokens[at]
    if op not in _OPERATORS:
        raise KjobError(
            f"unknown operator '{op}' after '{key}' in condition '{condition}'",
            hint="use one of: =, ==, !=, in, notin, >, <",
        )
    at += 1
    if op in ("in", "notin"):
        return _set_requirement(key, op, tokens, at, condition)
    value = tokens[at] if at < len(tokens) and not _symbol(tokens[at]) else None
    if value is None:
        raise KjobError(f"'{key} {op}' has no value in condition '{condition}'")
    _value(value, condition)
    if op in (">", "<") and _integer(value) is None:
        raise KjobError(f"'{key} {op} {value}': '{op}' compares integers, in condition '{condition}'")
    return Requirement(key, op, (value,)), at + 1


def _set_requirement(
    key: str, op: str, tokens: list[str], at: int, condition: str
) -> tuple[Requirement, int]:
    if at >= len(tokens) or tokens[at] != "(":
        raise KjobError(f"'{key} {op}' needs a list in parentheses: {key} {op} (a, b), in '{condition}'")
    at += 1
    values: list[str] = []
    while at < len(tokens) and tokens[at] != ")":
        if tokens[at] == ",":
            at += 1
            continue
        values.append(_value(tokens[at], condition))
        at += 1
    if at >= len(tokens):
        raise KjobError(f"')' missing after '{key} {op} (' in condition '{condition}'")
    return Requirement(key, op, tuple(values)), at + 1


def _symbol(token: str) -> bool:
    return token in ("==", "!=") or token in _SPECIAL


def _key(token: str, condition: str) -> str:
    if not _KEY.fullmatch(token.replace("\\.", ".").replace("#", "0")):
        raise KjobError(f"'{token}' is not a field path in condition '{condition}'")
    return token


def _value(token: str, condition: str) -> str:
    if _symbol(token) or len(token) > 63 or not _VALUE.fullmatch(token):
        raise KjobError(
            f"'{token}' is not a value a condition can hold (at most 63 letters, digits, '-', '_', '.'), "
            f"in condition '{condition}'"
        )
    return token
