"""Runs as users manage them, on either backend: the application layer the CLI verbs, the web page and
Python users share.  Every function returns values (a :class:`~kjob.runrecord.RunRecord`, a
:class:`RunList`) or raises a :class:`~kjob.errors.KjobError`; none prints or exits.

    import kjob
    for run in kjob.runs.list_runs().runs:            # newest first, local and cluster runs
        print(run.run_id, run.phase, run.progress())
    run = kjob.runs.get_run("hello-x7k2p")            # a unique prefix of the id is enough locally
    for node in run.nodes:
        print(node.id, node.phase, node.message)

    record = kjob.run("examples/01-basic-dag.yaml", parameters={"message": "hi"})  # to its end
    if record.phase == "Failed":
        record = kjob.runs.retry(record.run_id)       # only what failed runs again

Managing runs by id (:mod:`kjob.runs.manage`): :func:`run` (also ``kjob.run``) starts one and
returns its record once it ended; :func:`resume` finishes one whose kjob stopped; :func:`retry` runs
a failed run's failed tasks again; :func:`stop` and :func:`terminate` ask the kjob watching a run to
end it (a :class:`Stopped`); :func:`delete` removes it (a :class:`~kjob.runs.control.Deleted`).
A run that fails is a record with ``phase == "Failed"``, not an exception; bad input raises
:class:`~kjob.errors.KjobError` (a bad file :class:`~kjob.errors.SpecErrors`, located
``file:line:col``).  None prints: what kjob notes along the way goes to the ``kjob`` logger.

The modules, one job each:

* :mod:`kjob.runs.query` — :func:`list_runs` and :func:`get_run`: which backends to ask, merging what
  they say, filtering by status and label selector, ordering;
* :mod:`kjob.runs.store` — runs recorded on this machine (``$KJOB_HOME/runs/*/run.json``);
* :mod:`kjob.runs.cluster` — runs read from a cluster: the run ConfigMap and the Jobs labelled
  ``kjob.dev/run`` (a run driven elsewhere, by a driver Job in the cluster, is listed too);
* :mod:`kjob.runs.selector` — label selectors (``-l``) for local runs;
* :mod:`kjob.runs.logs` — what a run's tasks printed;
* :mod:`kjob.runs.follow` — a run's record each time it changes, until it ends;
* :mod:`kjob.runs.control` — stop, terminate, retry, resubmit and delete a run;
* :mod:`kjob.runs.manage` — the verbs above, by run id;
* :mod:`kjob.runs.workflowfile` — the workflow a run runs (loaded, picked, its new run id);
* :mod:`kjob.runs.start` — a new run: its backend, run directory and run object;
* :mod:`kjob.runs.resumed` — a run taken up again (resumed, retried);
* :mod:`kjob.runs.drive` — a run driven to its end by the engine, recorded as it goes.

Importing :mod:`kjob.runs` loads none of them: each name below, and each module as an attribute
(``kjob.runs.follow.follow_run``), is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kjob.runrecord import AttemptRecord, NodeRecord, RunRecord
    from kjob.runs.control import Deleted
    from kjob.runs.manage import Stopped, delete, resume, retry, run, stop, terminate
    from kjob.runs.query import RunList, get_run, list_runs

__all__ = [
    "AttemptRecord",
    "Deleted",
    "NodeRecord",
    "RunList",
    "RunRecord",
    "Stopped",
    "delete",
    "get_run",
    "list_runs",
    "resume",
    "retry",
    "run",
    "stop",
    "terminate",
]

_WHERE = {
    "list_runs": "kjob.runs.query",
    "get_run": "kjob.runs.query",
    "RunList": "kjob.runs.query",
    "RunRecord": "kjob.runrecord",
    "NodeRecord": "kjob.runrecord",
    "AttemptRecord": "kjob.runrecord",
    "Deleted": "kjob.runs.control",
    **dict.fromkeys(["run", "resume", "retry", "stop", "terminate", "delete", "Stopped"], "kjob.runs.manage"),
}


_MODULES = frozenset(
    {
        "query",
        "store",
        "cluster",
        "selector",
        "logs",
        "follow",
        "control",
        "manage",
        "workflowfile",
        "start",
        "resumed",
        "drive",
    }
)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
