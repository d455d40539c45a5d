"""What a fanned-out task's outputs read as once its items have ended, by Argo's rules.

Argo (``processAggregateNodeOutputs`` in its controller's ``operator.go``, v4.1.2) builds these from
the items that *succeeded*, in item order; a skipped or failed item adds nothing:

* ``outputs.result`` is a JSON array of the items' results, each taken as the JSON value it spells
  (an object stays an object, a number a number), so ``withParam`` over it gives ``item.key``.  Argo
  refuses a result that is not JSON; kjob keeps such a result as a JSON string instead.
* ``outputs.parameters.NAME`` is a JSON array of the items' values: the parsed values when every one
  is a JSON object or array, else the values as strings (``"4"`` stays ``"4"``).
* ``outputs.parameters`` is a JSON array with one ``{name: value}`` object per item that has outputs.

Arrays are written compact (no spaces), with non-ASCII text as it is, as Argo's JSON encoder writes
them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

_NOT_JSON: Any = object()


def _compact(value: Any, *, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON (Python reads them; Go does not)


def _parsed(text: str) -> Any:
    """The JSON value ``text`` spells, or ``_NOT_JSON``."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return _NOT_JSON


def results(values: Iterable[str | None]) -> str:
    """``outputs.result`` of a loop, from its succeeded items' results in item order (``None``: an
    item with no result, left out)."""
    items = []
    for text in values:
        if text is None:
            continue
        value = _parsed(text)
        items.append(text if value is _NOT_JSON else value)
    return _compact(items)


def parameter(values: Sequence[str]) -> str:
    """``outputs.parameters.NAME`` of a loop, from its succeeded items' values in item order."""
    parsed = [_parsed(v) for v in values]
    if all(isinstance(p, dict | list) for p in parsed):
        return _compact(parsed, sort_keys=True)  # Argo decodes them into Go maps: keys come sorted
    return _compact(list(values))


def parameter_sets(items: Iterable[dict[str, str]]) -> str:
    """``outputs.parameters`` of a loop: one ``{name: value}`` object per item that has outputs."""
    return _compact([dict(p) for p in items if p], sort_keys=True)


def aggregate(
    items: Sequence[tuple[dict[str, str], str | None]],
) -> tuple[dict[str, str], str, str]:
    """From the succeeded items' ``(parameters, result)``: the loop's parameters by name, its
    ``outputs.parameters`` and its ``outputs.result``."""
    names = sorted({name for params, _ in items for name in params})
    by_name = {n: parameter([params[n] for params, _ in items if n in params]) for n in names}
    return by_name, parameter_sets(params for params, _ in items), results(r for _, r in items)
