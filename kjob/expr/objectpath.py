"""Reading values out of a Kubernetes object, as Argo's resource templates do.

``valueFrom.jsonPath`` is a kubectl JSONPath template (``{.metadata.name}``, ``{.items[*].id}``, text
around the braces kept): each ``{...}`` is evaluated with ``jsonpath-ng`` (its extended parser, so
filters ``[?(@.x == 'y')]`` work), several matches are joined by spaces, and a map or list is written
as JSON, as kubectl does.  ``valueFrom.jqFilter`` runs through ``jq`` (the libjq bindings), as Argo's
gojq: each result on its own line, strings bare, everything else compact JSON, the whole trimmed.
:func:`check_json_path` and :func:`check_jq_filter` parse without an object, for ``kjob lint``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kjob.errors import KjobError

_BRACES = re.compile(r"\{([^{}]*)\}")


def json_path(template: str, obj: Any) -> str:
    """``template`` (kubectl's JSONPath template syntax) evaluated on ``obj``."""
    out: list[str] = []
    at = 0
    for match, path in _expressions(template):
        out.append(template[at : match.start()])
        at = match.end()
        out.append(" ".join(_kubectl_text(m.value) for m in path.find(obj)))
    out.append(template[at:])
    return "".join(out)


def check_json_path(template: str) -> None:
    """Raise :class:`KjobError` if ``template`` cannot be read."""
    _expressions(template)


def jq_filter(program: str, obj: Any) -> str:
    """``program`` run by jq on ``obj``."""
    try:
        results = _compile_jq(program).input_value(obj).all()
    except ValueError as err:
        raise KjobError(f"jqFilter '{program}' failed: {err}") from None
    lines = [r if isinstance(r, str) else _compact(r) for r in results]
    return "\n".join(lines).strip()


def check_jq_filter(program: str) -> None:
    """Raise :class:`KjobError` if ``program`` is not a jq program."""
    _compile_jq(program)


def _compile_jq(program: str) -> Any:
    import jq

    try:
        return jq.compile(program)
    except ValueError as err:
        reason = (str(err).splitlines() or ["?"])[0]
        raise KjobError(f"jqFilter '{program}' is not a jq program: {reason}") from None


def _expressions(template: str) -> list[tuple[re.Match[str], Any]]:
    """Each ``{...}`` of ``template`` and its parsed JSONPath."""
    from jsonpath_ng.ext.parser import parse

    found: list[tuple[re.Match[str], Any]] = []
    for match in _BRACES.finditer(template):
        expression = match.group(1).strip()
        if expression in ("range", "end") or expression.startswith("range "):
            raise KjobError(f"jsonPath '{template}': {{range}} is not supported by kjob yet")
        path = expression if expression.startswith("$") else "$" + ("" if expression.startswith(".") else ".")
        if not expression.startswith("$"):
            path += expression.lstrip("@")
        try:
            found.append((match, parse(path)))
        except Exception as err:  # jsonpath-ng's lexer and parser raise bare Exception too
            raise KjobError(f"jsonPath '{template}' cannot be read: {err}") from None
    if not found:
        raise KjobError(f"jsonPath '{template}' has no {{...}} expression", hint="e.g. '{.metadata.name}'")
    return found


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
