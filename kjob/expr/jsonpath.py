"""JSONPath queries for the expression function ``jsonpath(json, path)``, as Argo's library
(evilmonkeyinc/jsonpath) answers them.

Supported: ``$``, ``.key``, ``['key']``/``["key"]``, ``[n]`` (negative counts from the end),
``[a,b]``, ``[start:end]``, ``[*]``/``.*``, ``..key`` (anywhere below) and filters ``[?(...)]`` whose
condition is an expression over ``@`` (``@.age > 42 && @.name == "Baris"``).  A path made only of
keys and indexes gives one value; a path with a wildcard, slice, union, filter or ``..`` gives a
list.  A key or index that is not there is an error, as in Argo.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from kjob.expr._values import EvalFailure

_Step = Callable[[list[Any]], list[Any]]

_KEY = re.compile(r"\.([A-Za-z_$][\w$-]*|\*)")
_RECURSIVE = re.compile(r"\.\.([A-Za-z_$][\w$-]*|\*)")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_BRACKET = re.compile(r"\[([^\]]*)\]")


def query(document: Any, path: str) -> Any:
    """The value(s) at ``path`` in ``document`` (parsed JSON)."""
    steps, collection = _compile(path.strip())
    values = [document]
    for step in steps:
        values = step(values)
    if collection:
        return values
    if not values:  # pragma: no cover - a definite path either finds its value or raises
        raise EvalFailure(f"jsonpath {path!r} found nothing")
    return values[0]


@functools.lru_cache(maxsize=256)
def _compile(path: str) -> tuple[tuple[_Step, ...], bool]:
    if not path.startswith("$"):
        raise EvalFailure(f"jsonpath {path!r} must start with '$'")
    steps: list[_Step] = []
    collection = False
    pos = 1
    while pos < len(path):
        if path.startswith("[?(", pos):
            end = _filter_end(path, pos)
            steps.append(_filter(path[pos + 3 : end - 2]))
            collection = True
            pos = end
            continue
        match = _RECURSIVE.match(path, pos)
        if match:
            steps.append(_recursive(match.group(1)))
            collection = True
        elif match := _KEY.match(path, pos):
            name = match.group(1)
            steps.append(_wildcard if name == "*" else _key(name))
            collection |= name == "*"
        elif match := _QUOTED.match(path, pos):
            name = match.group(1) if match.group(1) is not None else match.group(2)
            steps.append(_key(re.sub(r"\\(.)", r"\1", name)))
        elif match := _BRACKET.match(path, pos):
            step, many = _bracket(match.group(1).strip(), path)
            steps.append(step)
            collection |= many
        else:
            raise EvalFailure(f"invalid jsonpath {path!r} at character {pos + 1}")
        pos = match.end()
    return tuple(steps), collection


def _filter_end(path: str, start: int) -> int:
    """The index after the ``)]`` that closes the filter opened at ``start`` (quotes respected)."""
    depth = 0
    quote: str | None = None
    i = start + 2
    while i < len(path):
        char = path[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0 and path.startswith(")]", i):
                return i + 2
        i += 1
    raise EvalFailure(f"unclosed filter in jsonpath {path!r}")


def _key(name: str) -> _Step:
    def step(values: list[Any]) -> list[Any]:
        out = []
        for value in values:
            if not isinstance(value, Mapping) or name not in value:
                raise EvalFailure(f"jsonpath: key {name!r} not found")
            out.append(value[name])
        return out

    return step


def _wildcard(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, Mapping):
            out.extend(value[k] for k in sorted(value))
        elif isinstance(value, list):
            out.extend(value)
    return out


def _recursive(name: str) -> _Step:
    def walk(value: Any, out: list[Any]) -> None:
        if isinstance(value, Mapping):
            if name == "*":
                out.extend(value[k] for k in sorted(value))
            elif name in value:
                out.append(value[name])
            for k in sorted(value):
                walk(value[k], out)
        elif isinstance(value, list):
            if name == "*":
                out.extend(value)
            for element in value:
                walk(element, out)

    def step(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value in values:
            walk(value, out)
        return out

    return step


def _bracket(inside: str, path: str) -> tuple[_Step, bool]:
    if inside == "*":
        return _wildcard, True
    try:
        if ":" in inside:
            start, end = (int(p) if p.strip() else None for p in inside.split(":")[:2])
            return _each_list(lambda items: items[start:end]), True
        if "," in inside:
            indexes = [int(p) for p in inside.split(",")]
            return _each_list(lambda items: [_at(items, i) for i in indexes]), True
        index = int(inside)
    except ValueError:
        raise EvalFailure(f"invalid jsonpath {path!r}: [{inside}]") from None
    return _each_list(lambda items: [_at(items, index)]), False


def _at(items: list[Any], index: int) -> Any:
    if not -len(items) <= index < len(items):
        raise EvalFailure(f"jsonpath: index {index} out of range")
    return items[index]


def _each_list(select: Callable[[list[Any]], list[Any]]) -> _Step:
    def step(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if not isinstance(value, list):
                raise EvalFailure("jsonpath: an index needs an array")
            out.extend(select(value))
        return out

    return step


def _filter(condition: str) -> _Step:
    from kjob.errors import TemplateError  # here: the expression module imports this one
    from kjob.expr.expression import compile_expression

    try:
        compiled = compile_expression(_at_to_pointer(condition))
    except TemplateError as err:
        raise EvalFailure(f"invalid jsonpath filter {condition!r}: {err.message}") from None

    def keep(element: Any) -> bool:
        try:
            return compiled.evaluate({}, pointer=element) is True
        except TemplateError:  # a missing key or a mismatched type: the element does not match
            return False

    def step(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for value in values:
            if isinstance(value, list):
                out.extend(e for e in value if keep(e))
            elif isinstance(value, Mapping):
                out.extend(value[k] for k in sorted(value) if keep(value[k]))
        return out

    return step


def _at_to_pointer(condition: str) -> str:
    """``@`` (the element) outside quotes becomes the expression's ``#``."""
    return re.sub(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|@""", lambda m: m.group(1) or "#", condition)
