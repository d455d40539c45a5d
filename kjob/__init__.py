"""kjob: Argo-style DAG workflows as plain Kubernetes Jobs, or on this machine.

``kjob.run(path, parameters={...})`` runs a workflow to its end and returns its record;
``kjob.runs`` manages runs on either backend (``kjob.runs.list_runs()``, ``kjob.runs.get_run(id)``,
``kjob.runs.retry(id)``, ...).  Both are imported on first use, so ``import kjob`` stays cheap."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = frozenset({"runs"})


def __getattr__(name: str) -> Any:
    if name == "run":
        from kjob.runs.manage import run

        return run
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
