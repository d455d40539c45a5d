"""kjob: Argo-style DAG workflows as plain Kubernetes Jobs, or on this machine.

``kjob.runs`` (runs on either backend: ``kjob.runs.list_runs()``, ``kjob.runs.get_run(id)``) is
imported on first use, so ``import kjob`` stays cheap."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = frozenset({"runs"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
