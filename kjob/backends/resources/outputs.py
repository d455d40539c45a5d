"""A resource template's output parameters, read from the object as Argo reads them (see
:mod:`kjob.expr.objectpath` for jsonPath and jqFilter)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kjob.backends.base import ResourceOutputSpec
from kjob.expr.objectpath import jq_filter, json_path


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
