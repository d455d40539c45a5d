"""A resource template's output parameters, read from the object as Argo reads them.

``valueFrom.jsonPath`` is a kubectl JSONPath template (``{.metadata.name}``, ``{.items[*].id}``, text
around the braces kept): each ``{...}`` is evaluated with ``jsonpath-ng`` (its extended parser, so
filters ``[?(@.x == 'y')]`` work), several matches are joined by spaces, and a map or list is written
as JSON, as kubectl does.  ``valueFrom.jqFilter`` runs through ``jq`` (the libjq bindings), as Argo's
gojq: each result on its own line, strings bare, everything else compact JSON, the whole trimmed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kjob.backends.base import ResourceOutputSpec
from kjob.errors import KjobError

_BRACES = re.compile(r"\{([^{}]*)\}")


def read_outputs(specs: Sequence[ResourceOutputSpec], obj: Mapping[str, Any] | None) -> dict[str, str]:
    """Each output's value from ``obj`` (``None``: nothing is left, after a delete: the defaults, else
    empty, as Argo)."""
    values: dict[str, str] = {}
    for spec in specs:
        if obj is None:
            values[spec.name] = spec.default or ""
        elif spec.json_path is not None:
            values[spec.name] = json_path(spec.json_path, obj)
        elif spec.jq_filter is not None:
            values[spec.name] = jq_filter(spec.jq_filter, obj)
    return values


def json_path(template: str, obj: Any) -> str:
    """``template`` (kubectl's JSONPath template syntax) evaluated on ``obj``."""
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    out: list[str] = []
    at = 0
    for match in _BRACES.finditer(template):
        out.append(template[at : match.start()])
        at = match.end()
        expression = match.group(1).strip()
        if expression in ("range", "end") or expression.startswith("range "):
            raise KjobError(f"jsonPath '{template}': {{range}} is not supported by kjob yet")
        path = (
            expression
            if expression.startswith("$")
            else "$" + ("" if expression.startswith(".") else ".") + expression.lstrip("@")
        )
        try:
            found = parse(path).find(obj)
        except (
            JsonPathLexerError,
            JsonPathParserError,
            Exception,
        ) as err:  # (its parser raises Exception too)
            raise KjobError(f"jsonPath '{template}' cannot be read: {err}") from None
        out.append(" ".join(_kubectl_text(m.value) for m in found))
    out.append(template[at:])
    return "".join(out)


def jq_filter(program: str, obj: Any) -> str:
    """``program`` run by jq on ``obj``."""
    import jq

    try:
        results = jq.compile(program).input_value(obj).all()
    except ValueError as err:
        raise KjobError(f"jqFilter '{program}' failed: {err}") from None
    lines = [r if isinstance(r, str) else _compact(r) for r in results]
    return "\n".join(lines).strip()


def _kubectl_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, int | float):
        return json.dumps(value)
    return _compact(value)


def _compact(value: Any) -> str:
    """As Go's encoding/json writes it: compact, map keys sorted."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
