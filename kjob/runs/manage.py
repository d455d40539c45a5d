"""Runs by id, for Python users and the CLI verbs alike: start one (:func:`run`), take one up again
(:func:`resume`, :func:`retry`), ask one to end (:func:`stop`, :func:`terminate`), :func:`delete`
one.  Each returns what happened (a :class:`~kjob.runrecord.RunRecord`, a :class:`Stopped`, a
:class:`~kjob.runs.control.Deleted`) or raises a :class:`~kjob.errors.KjobError`; none prints or exits.
A run that fails is a record whose ``phase`` is ``Failed``, not an exception.

What kjob notes along the way (a cluster that refused a TTL, the warnings of a ``lenient`` load) goes
to the ``kjob`` logger.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kjob.errors import KjobError
from kjob.runs.control import RunRef, find_run
from kjob.runs.drive import Launch, Notice, drive, log_notice

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster
    from kjob.runrecord import RunRecord
    from kjob.runs.control import Deleted

STOP_TIMEOUT = 300.0  # seconds to wait for a run watched on this machine to end once asked


def run(
    path: str | os.PathLike[str],
    *,
    parameters: Mapping[str, object] | None = None,
    backend: str = "auto",
    workflow: str | None = None,
    templates: Sequence[str] = (),
    parallelism: int | None = None,
    run_id: str | None = None,
    lenient: bool = False,
    keep_workdirs: bool = False,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    ttl_seconds_after_finished: int | None = None,
    queue: str | None = None,
    indexed_jobs: bool = True,
    workspace_claim: str | None = None,
    detach_on_interrupt: bool = False,
) -> RunRecord:
    """Run the workflow in the file at ``path`` to its end and return its record, recorded exactly
    as ``kjob run`` records it (its run directory, and on Kubernetes its run object and Jobs).

    ``backend``: ``auto`` (Kubernetes when a cluster is configured, else this machine), ``local`` or
    ``kubernetes``; ``workflow`` picks one of several in the file; ``templates``: directories of
    WorkflowTemplates.  On Kubernetes a ``run_id`` the cluster already holds with this workflow and
    these parameters is taken up again, not refused (as ``kjob run --run-id``).

    A bad file raises :class:`~kjob.errors.SpecErrors` (each error located ``file:line:col``); a bad
    parameter or option a :class:`~kjob.errors.KjobError`.  The cluster-only options (``context`` to
    ``workspace_claim``) are refused for a run on this machine.  On Ctrl-C the run's tasks are
    stopped (a Kubernetes run's are left running if ``detach_on_interrupt``) and the record says
    so."""
    from kjob.engine.engine import resolve_workflow_parameters
    from kjob.runs.start import (
        ClusterOptions,
        NewRun,
        check_run_id,
        choose_backend,
        cluster_start,
        local_start,
    )
    from kjob.runs.workflowfile import (
        ClusterTarget,
        load_workflow_file,
        parameter_values,
        pick_workflow,
        run_id_for,
    )

    file = os.path.abspath(path)
    loaded = load_workflow_file(
        file, lenient=lenient, templates=templates, cluster=ClusterTarget(kubeconfig, context, namespace)
    )
    for warning in loaded.warnings:
        log_notice(warning.render())
    chosen = pick_workflow(loaded, file, workflow)
    values = parameter_values(parameters or {})
    resolve_workflow_parameters(chosen, values)  # bad values fail before anything starts
    where = choose_backend(backend, kubeconfig)
    with open(file, encoding="utf-8") as f:
        text = f.read()
    new = NewRun(
        chosen,
        file,
        text,
        loaded.carried_templates(chosen),
        values,
        check_run_id(run_id) if run_id is not None else run_id_for(chosen),
        parallelism,
    )
    if where == "local":
        cluster_only = {
            "context": context,
            "namespace": namespace,
            "ttl_seconds_after_finished": ttl_seconds_after_finished,
            "queue": queue,
            "indexed_jobs": None if indexed_jobs else False,
            "workspace_claim": workspace_claim,
        }
        if given := [name for name, value in cluster_only.items() if value is not None]:
            raise KjobError(f"{', '.join(given)}: only for a run on Kubernetes, and this one runs locally")
        return _drive_to_record(local_start(new, keep_workdirs=keep_workdirs), detach_on_interrupt)
    from kjob.backends.kubernetes import connect

    options = ClusterOptions(
        ttl=ttl_seconds_after_finished,
        queue=queue,
        indexed_jobs=indexed_jobs,
        workspace_claim=workspace_claim,
        adopt=run_id is not None,
    )
    conn = connect(kubeconfig=kubeconfig, context=context, namespace=namespace or chosen.namespace)
    try:
        return _drive_to_record(cluster_start(conn, new, options), detach_on_interrupt)
    finally:
        conn.close()


def find(
    run: str,
    *,
    backend: str = "auto",
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
) -> RunRef:
    """The run ``run`` on this machine (by id or a unique prefix), else in the cluster the options name
    (``backend``: ``local`` looks only here, ``kubernetes`` only in the cluster); a clear error if
    neither has it."""

    def connect_to(recorded: str | None) -> Cluster:
        from kjob.backends.kubernetes import connect, kubeconfig_available

        if not kubeconfig_available(kubeconfig):
            raise KjobError(
                f"no run '{run}' on this machine, and no cluster is configured to look in",
                hint="`kjob list` shows the runs; name a cluster with --kubeconfig (or $KUBECONFIG)",
            )
        return connect(kubeconfig=kubeconfig, context=context, namespace=namespace or recorded)

    return find_run(run, connect_to, where=backend)


def resume_launch(
    run: str,
    connect: Callable[[], Cluster],
    *,
    parallelism: int | None = None,
    notice: Notice = log_notice,
) -> Launch:
    """The run ``run`` ready to be finished: a local run recorded here from its directory, else the
    run of that id in the cluster ``connect()`` connects to."""
    from kjob.runs.resumed import held_cluster_launch, local_launch, local_run

    local = local_run(run)
    if local is not None:
        return local_launch(local, parallelism, notice=notice)
    return held_cluster_launch(connect(), run, parallelism=parallelism, notice=notice)


def resume(
    run: str,
    *,
    parallelism: int | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    detach_on_interrupt: bool = False,
) -> RunRecord:
    """Finish ``run``, whose kjob stopped (killed, crashed, detached), and return its record: what
    still runs is adopted, what finished replayed, only the rest started; nothing finished runs
    again."""
    from kjob.backends.kubernetes import connect

    launch = resume_launch(
        run,
        lambda: connect(kubeconfig=kubeconfig, context=context, namespace=namespace),
        parallelism=parallelism,
    )
    return _drive_to_record(launch, detach_on_interrupt)


def retry_launch(
    ref: RunRef, *, selector: str | None = None, parallelism: int | None = None, notice: Notice = log_notice
) -> Launch:
    """The finished run ``ref`` ready to be retried: its failed and errored tasks (those
    ``selector`` chooses, see :func:`kjob.runs.control.parse_selector`) run again with what depends
    on them and the exit handler; a stop request it carries is forgotten."""
    from kjob.runs.control import clear_request, retry_plan
    from kjob.runs.resumed import held_cluster_launch, local_launch

    rerun = retry_plan(ref, selector)
    clear_request(ref)
    if ref.backend == "local":
        assert ref.run_dir is not None
        return local_launch(ref.run_dir, parallelism, rerun, notice=notice)
    assert ref.cluster is not None
    return held_cluster_launch(ref.cluster, ref.run_id, parallelism=parallelism, rerun=rerun, notice=notice)


def retry(
    run: str,
    *,
    selector: str | None = None,
    parallelism: int | None = None,
    backend: str = "auto",
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
    detach_on_interrupt: bool = False,
) -> RunRecord:
    """Retry ``run``, which failed or was stopped, to its end and return its record: what succeeded
    is not run again (its outputs are kept); each failed task's new attempt joins its record."""
    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    return _drive_to_record(
        retry_launch(ref, selector=selector, parallelism=parallelism), detach_on_interrupt
    )


@dataclass(frozen=True, slots=True)
class Stopped:
    """What became of a stop or terminate request.  ``watched``: a kjob on this machine acted on it
    (True), none watches the run (False: the next ``resume`` carries it out), or it cannot be known
    here (None: a Kubernetes run may be watched from elsewhere).  ``ended``: the run has ended (for
    one watched here, within the timeout).  ``record``: the run's record here once it ended."""

    run_id: str
    action: str
    watched: bool | None
    ended: bool
    record: RunRecord | None


def ask_to_end(ref: RunRef, action: str, *, timeout: float = STOP_TIMEOUT) -> Stopped:
    """Ask the kjob watching ``ref`` to ``stop`` or ``terminate`` it, and wait up to ``timeout``
    seconds for it to end when that kjob is on this machine."""
    from kjob.runrecord import RunRecord
    from kjob.runs.control import request, wait_until_unwatched

    done = request(ref, action)
    ended = bool(done.watched) and wait_until_unwatched(ref, timeout)
    record = RunRecord.read(ref.run_dir.record) if ended and ref.run_dir is not None else None
    return Stopped(ref.run_id, action, done.watched, ended, record)


def stop(
    run: str,
    *,
    timeout: float = STOP_TIMEOUT,
    backend: str = "auto",
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
) -> Stopped:
    """Stop ``run``: no new tasks start, running ones are stopped, then its exit handler runs; it
    ends Failed with "stopped".  A run that has ended is refused (:class:`~kjob.errors.KjobError`)."""
    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    return ask_to_end(ref, "stop", timeout=timeout)


def terminate(
    run: str,
    *,
    timeout: float = STOP_TIMEOUT,
    backend: str = "auto",
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
) -> Stopped:
    """As :func:`stop`, but the exit handler does not run; the run ends Failed with "terminated"."""
    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    return ask_to_end(ref, "terminate", timeout=timeout)


def delete(
    run: str,
    *,
    force: bool = False,
    backend: str = "auto",
    kubeconfig: str | None = None,
    context: str | None = None,
    namespace: str | None = None,
) -> Deleted:
    """Delete ``run``: a Kubernetes run's Jobs (with their pods) and ConfigMaps, and its directory on
    this machine.  A running run is refused unless ``force``, which terminates it first."""
    from kjob.runs import control

    ref = find(run, backend=backend, kubeconfig=kubeconfig, context=context, namespace=namespace)
    return control.delete(ref, force=force)


def _drive_to_record(launch: Launch, detach_on_interrupt: bool) -> RunRecord:
    from kjob.runrecord import RunRecord

    drive(launch, detach_on_interrupt=lambda: detach_on_interrupt)
    return RunRecord.read(launch.run_dir.record, run_id=launch.run_id)
