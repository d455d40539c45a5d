"""Driving a run to its end: the engine over the run's backend, recorded in ``run.json`` as it goes.

The one place a run is driven, whether it is new (``kjob run``, :func:`kjob.run`), resumed or retried.
A :class:`Launch` is a run ready to go (made by :mod:`kjob.runs.start` or :mod:`kjob.runs.resumed`);
:func:`drive` runs it and returns how it ended.  Nothing here prints: the CLI adds its live view as an
engine observer, its own signal handling and its exit code around it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kjob.errors import AccessError, KjobError
from kjob.render.metadata import run_metadata, workflow_parameters

if TYPE_CHECKING:
    from kjob.backends.base import Backend
    from kjob.engine.bulk import BulkReport
    from kjob.engine.engine import Observer, RunResult
    from kjob.engine.rerun import Rerun
    from kjob.rundir import RunDir
    from kjob.spec.model import Workflow

Notice = Callable[[str], None]

# What kjob notes while a run goes (a cluster that refused a TTL, a fan-out split in batches).  The CLI
# prints these; for Python users they go to this logger, which is quiet unless the program sets up
# logging.
log = logging.getLogger("kjob")
log.addHandler(logging.NullHandler())

KILLED = "interrupted again while stopping: every running task was killed"


def log_notice(message: str) -> None:
    """The notice of a run driven from Python: a warning on the ``kjob`` logger."""
    log.warning("%s", message)


@dataclass(frozen=True, slots=True)
class Launch:
    """A run ready to be driven: its workflow, the backend that runs its tasks, where it is recorded.

    ``kind`` is ``new``, ``resumed`` or ``retried``; ``where`` names the backend for people
    (``local``, ``kubernetes (https://..., namespace ns)``); ``previous`` is the record of an earlier
    kjob of the run (its start time, uid and resumptions are kept); ``rerun`` is a retry's choice."""

    workflow: Workflow
    backend: Backend
    run_id: str
    run_dir: RunDir
    source: str
    parameters: dict[str, str]
    parallelism: int | None
    namespace: str
    where: str
    kind: str = "new"
    previous: dict[str, Any] | None = None
    rerun: Rerun | None = None


def drive(
    launch: Launch,
    *,
    observers: Iterable[Observer] = (),
    detach_on_interrupt: Callable[[], bool] | None = None,
    on_bulk: BulkReport | None = None,
    on_end: Callable[[], None] | None = None,
    notice: Notice = log_notice,
) -> RunResult:
    """Run ``launch`` to the end, recording it in its run directory (and, for a Kubernetes run, how
    it ended on its run object), and return how it ended.

    ``observers`` are told of every node change before the record is; ``on_end`` is called once the
    engine stops, before the backend closes.  ``kjob stop``/``terminate`` requests are read between
    steps.  On an interrupt a Kubernetes run asks ``detach_on_interrupt`` whether to leave its running
    Jobs running (``None``: stop them); a local run always stops its processes.  A second interrupt
    while they stop kills them: the record is closed as ``Error`` and ``KeyboardInterrupt`` raised.
    A :class:`~kjob.errors.KjobError` that ends the run closes the record the same way."""
    from kjob.engine.engine import Engine, EngineOptions
    from kjob.engine.record import RunRecorder
    from kjob.runs.configmaps import config_map_reader
    from kjob.runs.control import requests_for, started_before
    from kjob.runs.coordination import coordination_for
    from kjob.runs.noderesume import resume_requests_for, secret_reader
    from kjob.runs.scheduled import cron_scheduled_time

    backend = launch.backend
    locks, memo = coordination_for(backend)
    recorder = RunRecorder(launch.run_dir, header=_header(launch), clock_now=backend.now())
    engine = Engine(
        launch.workflow,
        backend,
        run_id=launch.run_id,
        options=EngineOptions(
            parameters=launch.parameters,
            parallelism=launch.parallelism,
            namespace=launch.namespace,
            uid=str(recorder.header["uid"]),
            detach_on_interrupt=detach_on_interrupt if backend.name == "kubernetes" else None,
            control=requests_for(backend, launch.run_dir),
            resumes=resume_requests_for(backend, launch.run_dir),
            secrets=secret_reader(backend),
            config_maps=config_map_reader(backend),
            rerun=launch.rerun,
            started_before=started_before(launch.previous),
            on_bulk=on_bulk,
            locks=locks,
            memo=memo,
            scheduled_time=cron_scheduled_time(launch.workflow, launch.run_id),
        ),
        observers=[*observers, recorder],
    )

    def close() -> None:
        if on_end is not None:
            on_end()
        locks.close()
        backend.close()

    try:
        result = engine.run()
    except KeyboardInterrupt:  # again, while the first one stopped the tasks: they were killed
        with _signals_held():  # a third must not cut the record short
            close()
            recorder.abort(KILLED, backend.now())
        raise
    except KjobError as err:
        recorder.abort(err.message, backend.now())
        if isinstance(err, AccessError):  # once access is granted, the run can go on
            err.hint = (err.hint + "; " if err.hint else "") + (
                f"the Jobs it created are left as they are: `kjob resume {launch.run_id}` finishes the run"
            )
        raise
    finally:
        close()
    recorder.finish(result)
    if backend.name == "kubernetes" and not result.detached:  # readers elsewhere learn how it ended
        from kjob.backends.kubernetes.backend import KubernetesBackend
        from kjob.backends.kubernetes.pdb import delete_pdb
        from kjob.backends.kubernetes.runend import mark_run_end

        end = recorder.header.get("finished")
        mark_run_end(backend, phase=result.phase.value, message=result.message, finished=end, notice=notice)
        if isinstance(backend, KubernetesBackend):
            delete_pdb(backend, launch.workflow, notice)  # podDisruptionBudget: gone as the run ends
        if not result.interrupted:
            from kjob.backends.kubernetes.rungc import collect

            collect(backend, launch.workflow, succeeded=result.succeeded, notice=notice)
    return result


def _header(launch: Launch) -> dict[str, Any]:
    earlier = launch.previous or {}
    header: dict[str, Any] = {
        "run_id": launch.run_id,
        "workflow": launch.source,
        "workflow_name": launch.workflow.display_name,
        "backend": launch.backend.name,
        "namespace": launch.namespace,
        "parameters": launch.parameters,
        "parallelism": launch.parallelism,
        "uid": str(earlier.get("uid") or uuid.uuid4()),
    }
    labels, annotations = run_metadata(
        launch.workflow,
        launch.run_id,
        launch.namespace,
        workflow_parameters(launch.workflow, launch.parameters),
    )
    if labels or annotations:  # workflowMetadata
        header.update(labels=labels, annotations=annotations)
    if launch.previous is not None:
        header["started"] = earlier.get("started")
        resumed = [*earlier.get("resumed", [])]
        if earlier.get("phase") != "Pending":  # Pending: submitted (--wait=false), first watched now
            resumed.append(round(time.time(), 3))
        header["resumed"] = resumed
    return header


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored while the record of a killed run is written (main thread only:
    signals are the main thread's)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])
