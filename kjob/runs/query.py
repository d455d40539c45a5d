"""Finding runs: :func:`list_runs` and :func:`get_run` on the local backend, a cluster, or both.

``backend``: ``local`` reads the runs recorded on this machine; ``kubernetes`` reads the cluster (a
run started anywhere is there), completed by this machine's record of a run where it has one;
``auto`` (the default) does both when a cluster is configured, and says, rather than fails, when that
cluster cannot be reached (the local runs are still listed; :func:`get_run` gives a Kubernetes run
as this machine last recorded it).  ``namespace`` and ``all_namespaces``
choose where in the cluster to look; local-backend runs have no namespace and are always listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kjob.errors import ClusterError, KjobError
from kjob.runrecord import RunRecord
from kjob.runs.selector import Selector, parse_selector
from kjob.runs.store import local_labels, read_local_run, read_local_runs

if TYPE_CHECKING:
    from kjob.backends.kubernetes.cluster import Cluster

BACKENDS = ("auto", "local", "kubernetes")
#: the phases ``status`` may name (a run the cluster cannot tell the end of is ``Unknown``)
STATUSES = ("Pending", "Running", "Succeeded", "Failed", "Error", "Skipped", "Unknown")


@dataclass(frozen=True, slots=True)
class RunList:
    """Runs, newest first, and what kept some from being shown (a damaged record, a cluster that
    could not be reached), one line each."""

    runs: list[RunRecord]
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Where:
    """Which backends to ask and how to reach the cluster."""

    backend: str = "auto"
    namespace: str | None = None
    kubeconfig: str | None = None
    context: str | None = None

    def wants_cluster(self) -> bool:
        if self.backend not in BACKENDS:
            raise KjobError(f"backend '{self.backend}': must be one of {', '.join(BACKENDS)}")
        if self.backend != "auto":
            return self.backend == "kubernetes"
        from kjob.backends.kubernetes.configured import kubeconfig_available

        return kubeconfig_available(self.kubeconfig)

    def connect(self) -> Cluster:
        from kjob.backends.kubernetes import connect

        return connect(kubeconfig=self.kubeconfig, context=self.context, namespace=self.namespace)


def list_runs(
    *,
    backend: str = "auto",
    namespace: str | None = None,
    all_namespaces: bool = False,
    selector: str | None = None,
    status: Iterable[str] = (),
    kubeconfig: str | None = None,
    context: str | None = None,
) -> RunList:
    """The runs ``backend`` knows, newest first, those whose labels ``selector`` picks and whose phase
    is one of ``status`` (any, if empty).  A local run's labels are ``kjob.dev/run``,
    ``kjob.dev/workflow`` and ``kjob.dev/backend``; a cluster run also has its run object's."""
    where = Where(backend, namespace, kubeconfig, context)
    picked = parse_selector(selector) if selector else None
    phases = _phases(status)
    local = read_local_runs()
    problems = list(local.problems)
    found: list[tuple[RunRecord, dict[str, str]]] = []
    if where.backend != "kubernetes":
        found += [(r, local_labels(r)) for r in local.records if r.backend == "local"]
    if where.wants_cluster():
        try:
            found += _from_cluster(where, local.records, all_namespaces=all_namespaces, selector=picked)
        except ClusterError as err:
            if where.backend == "kubernetes":
                raise
            problems.append(f"{err.message}: only the runs recorded on this machine are listed")
            found += _recorded_cluster_runs(local.records, namespace, all_namespaces)
    elif where.backend == "auto":
        found += _recorded_cluster_runs(local.records, namespace, all_namespaces)
    runs = [r for r, labels in found if _chosen(r, labels, picked, phases)]
    return RunList(newest_first(runs), problems)


def get_run(
    run_id: str,
    *,
    backend: str = "auto",
    namespace: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> RunRecord:
    """The run ``run_id`` with every task it has so far.  A run recorded on this machine may be named
    by a unique prefix of its id; a cluster run by its whole id."""
    where = Where(backend, namespace, kubeconfig, context)
    recorded: RunRecord | None = None
    missing: KjobError | None = None
    if where.backend != "kubernetes":
        try:
            recorded = read_local_run(run_id)
        except KjobError as err:
            if "no run" not in err.message:
                raise  # a damaged record, an ambiguous prefix: say so
            missing = err
    if recorded is not None and (recorded.backend != "kubernetes" or recorded.finished_phase):
        return recorded
    if not where.wants_cluster():
        if recorded is not None:
            return recorded
        raise _unknown(run_id, missing.hint if missing is not None else None)
    if recorded is not None and namespace is None:
        where = Where(where.backend, recorded.namespace, where.kubeconfig, where.context)
    from kjob.runs.cluster import cluster_run, merge_local

    try:
        cluster = where.connect()
        try:
            seen = cluster_run(cluster, recorded.run_id if recorded else run_id)
            namespace_seen = cluster.namespace
        finally:
            cluster.close()
    except ClusterError:
        if recorded is None or where.backend == "kubernetes":
            raise
        return recorded  # auto, the cluster out of reach: the run as this machine last recorded it
    if seen is None:
        if recorded is not None:
            return recorded  # the cluster dropped it; the record remains
        raise _unknown(run_id, None, namespace=namespace_seen)
    return merge_local(seen, recorded)


def newest_first(runs: Sequence[RunRecord]) -> list[RunRecord]:
    """Latest start first; runs not started yet (no start time) before all; ties by id."""
    by_id = sorted(runs, key=lambda r: r.run_id)
    return sorted(by_id, key=lambda r: -(r.started if r.started is not None else float("inf")))


def _from_cluster(
    where: Where, recorded: list[RunRecord], *, all_namespaces: bool, selector: Selector | None
) -> list[tuple[RunRecord, dict[str, str]]]:
    from kjob.runs.cluster import cluster_runs, merge_local

    cluster = where.connect()
    try:
        keep = selector.matches if selector is not None else None
        seen = cluster_runs(cluster, all_namespaces=all_namespaces, keep=keep)
    finally:
        cluster.close()
    mine = {(r.namespace, r.run_id): r for r in recorded if r.backend == "kubernetes"}
    found = []
    for run, labels in seen:
        merged = merge_local(run, mine.get((run.namespace, run.run_id)))
        found.append((merged, {**labels, **local_labels(merged)}))
    return found


def _recorded_cluster_runs(
    recorded: list[RunRecord], namespace: str | None, all_namespaces: bool
) -> list[tuple[RunRecord, dict[str, str]]]:
    """Kubernetes runs as this machine recorded them (no cluster to ask)."""
    return [
        (r, local_labels(r))
        for r in recorded
        if r.backend == "kubernetes" and (all_namespaces or namespace is None or r.namespace == namespace)
    ]


def _chosen(
    run: RunRecord, labels: dict[str, str], selector: Selector | None, phases: frozenset[str]
) -> bool:
    return (not phases or run.phase in phases) and (selector is None or selector.matches(labels))


def _phases(status: Iterable[str]) -> frozenset[str]:
    known = {s.lower(): s for s in STATUSES}
    chosen = set()
    for word in (w.strip() for text in status for w in text.split(",")):
        if not word:
            continue
        if word.lower() not in known:
            raise KjobError(f"--status {word}: not a run status", hint=f"use one of {', '.join(STATUSES)}")
        chosen.add(known[word.lower()])
    return frozenset(chosen)


def _unknown(run_id: str, known: str | None, *, namespace: str | None = None) -> KjobError:
    """No such run: on this machine (``known`` says which runs are), or in ``namespace``."""
    if namespace is not None:
        return KjobError(
            f"no run '{run_id}' in namespace {namespace}",
            hint="`kjob list -A` shows the runs of every namespace; name one with -n",
        )
    return KjobError(
        f"no run '{run_id}' on this machine",
        hint="; ".join(filter(None, [known, "`kjob list` shows the runs"])),
    )
