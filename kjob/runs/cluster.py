"""Runs read from a cluster, as typed :class:`~kjob.runrecord.RunRecord` values.

A run there is its run object (the ConfigMap named after the run, labelled ``kjob.dev/role=run``) and
the Jobs labelled ``kjob.dev/run`` with its id: one Job per task attempt (annotation
``kjob.dev/node-id``, label ``kjob.dev/attempt``), or one Indexed Job per batch of fan-out items.  Two
list calls read every run of a namespace (or of all of them), whoever started it: a ``kjob run`` on
some laptop, or a driver Job in the cluster (the ConfigMap's owner), whose own status then says how
the run ended.

How the run ended is the note its kjob left on the ConfigMap (``kjob.dev/ended``, see
:mod:`kjob.backends.kubernetes.runend`) while no Job was made after it; else the driver Job's status;
else what the Jobs tell: a run with a Job still going is ``Running``, one whose last attempt of some
task failed is ``Failed``; one with neither is ``Unknown`` (its kjob may have stopped, or be between
tasks).  The record this machine keeps of a run adds what the cluster does not hold (see
:func:`merge_local`).  Lists are read as JSON (the client's typed models take
several times longer to build for thousands of Jobs) and paged 500 at a time.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from kjob import jsonlines
from kjob.errors import ClusterError, KjobError
from kjob.render import names
from kjob.render.indexed import ANNOTATION_ITEMS, item_indexes
from kjob.render.intervals import parse_indexes
from kjob.runrecord import FAILED, AttemptRecord, NodeRecord, RunRecord, parent_from_id
from kjob.runs.store import LABEL_BACKEND, LABEL_WORKFLOW

if TYPE_CHECKING:
    from kjob.backends.kubernetes.cluster import Cluster

RUN_OBJECTS = f"{names.LABEL_ROLE}=run"
FEW_RUNS = 10  # runs a selector leaves whose Jobs are listed one run at a time
_PAGE = 500

Json = dict[str, Any]


def cluster_runs(
    cluster: Cluster,
    *,
    all_namespaces: bool = False,
    keep: Callable[[dict[str, str]], bool] | None = None,
) -> list[tuple[RunRecord, dict[str, str]]]:
    """Every run in the cluster's namespace (or in all namespaces) whose labels ``keep`` accepts (all
    if ``None``), with its tasks as its Jobs show them, and its labels: its run object's, and
    ``kjob.dev/workflow`` and ``kjob.dev/backend`` as a local run has them.  When ``keep`` leaves a
    few runs, their Jobs are listed run by run (by label, on the server) instead of all at once."""
    namespace = None if all_namespaces else cluster.namespace
    chosen = [(obj, run_labels(obj)) for obj in _listed(cluster, "configmaps", namespace, RUN_OBJECTS)]
    if keep is not None:
        chosen = [(obj, labels) for obj, labels in chosen if keep(labels)]
    if not chosen:
        return []
    if keep is not None and len(chosen) <= FEW_RUNS:
        jobs = {
            (_namespace(obj), _label(obj, names.LABEL_RUN)): list(
                _listed(cluster, "jobs", _namespace(obj), names.run_selector(_meta(obj).get("name", "")))
            )
            for obj, _ in chosen
        }
    else:
        jobs = _jobs_by_run(_listed(cluster, "jobs", namespace, names.LABEL_RUN))
    drivers = _drivers(cluster, [obj for obj, _ in chosen])
    return [
        (_run(obj, jobs.get((_namespace(obj), _label(obj, names.LABEL_RUN)), []), drivers), labels)
        for obj, labels in chosen
    ]


def run_labels(obj: Json) -> dict[str, str]:
    """The labels a ``-l`` selector sees on a cluster run: its run object's, and the ones every run
    has (:func:`kjob.runs.store.local_labels`)."""
    meta = _meta(obj)
    workflow = _workflow_name((obj.get("data") or {}).get("workflow.yaml"))
    return {
        **(meta.get("labels") or {}),
        names.LABEL_RUN: meta.get("name", ""),
        LABEL_WORKFLOW: workflow,
        LABEL_BACKEND: "kubernetes",
    }


def cluster_run(cluster: Cluster, run_id: str) -> RunRecord | None:
    """The run ``run_id`` of the cluster's namespace, or ``None`` if it has no run object there."""
    obj = _read_run_object(cluster, run_id)
    if obj is None:
        return None
    jobs = list(_listed(cluster, "jobs", cluster.namespace, names.run_selector(run_id)))
    return _run(obj, jobs, _drivers(cluster, [obj]))


def merge_local(seen: RunRecord, local: RunRecord | None) -> RunRecord:
    """A cluster run with what this machine's record of it adds: the record is the run as its kjob
    last wrote it (phase, messages, outputs, skipped tasks), so it wins once it says the run ended;
    while it says ``Running``, the Jobs are more recent, and only its description is taken."""
    if local is None or local.backend != "kubernetes" or local.namespace != seen.namespace:
        return seen
    if local.finished_phase:
        return local
    return msgspec.structs.replace(
        seen,
        workflow=local.workflow,
        workflow_name=local.workflow_name or seen.workflow_name,
        parallelism=local.parallelism,
        uid=local.uid,
        nodes=_merge_nodes(seen.nodes, local.nodes),
    )


# ------------------------------------------------------------------------------------- reading
def _listed(cluster: Cluster, kind: str, namespace: str | None, selector: str) -> Iterator[Json]:
    """The objects of ``kind`` (``jobs`` or ``configmaps``) that ``selector`` picks, page by page."""
    everywhere: Any
    one: Any
    if kind == "jobs":
        everywhere, one = cluster.batch.list_job_for_all_namespaces, cluster.batch.list_namespaced_job
    else:
        everywhere, one = (
            cluster.core.list_config_map_for_all_namespaces,
            cluster.core.list_namespaced_config_map,
        )
    token: str | None = None
    while True:
        options: dict[str, Any] = {"label_selector": selector, "limit": _PAGE}
        if token:
            options["_continue"] = token
        if namespace is None:
            page = _call(cluster, f"list {kind}", namespace, everywhere, **options)
        else:
            page = _call(cluster, f"list {kind}", namespace, one, namespace, **options)
        page = page or {}
        yield from page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return


def _read_run_object(cluster: Cluster, run_id: str) -> Json | None:
    read = cluster.core.read_namespaced_config_map
    obj = _call(cluster, "read configmaps", cluster.namespace, read, run_id, cluster.namespace)
    return obj if obj is not None and _label(obj, names.LABEL_ROLE) == "run" else None


def _drivers(cluster: Cluster, objects: list[Json]) -> dict[tuple[str, str], Json]:
    """The driver Jobs that own some of these run objects, by (namespace, name)."""
    found: dict[tuple[str, str], Json] = {}
    for obj in objects:
        namespace = _meta(obj).get("namespace", "")
        for owner in _meta(obj).get("ownerReferences") or []:
            if owner.get("kind") == "Job":
                read = cluster.batch.read_namespaced_job
                job = _call(cluster, "read jobs", namespace, read, owner["name"], namespace)
                if job is not None:
                    found[(namespace, owner["name"])] = job
    return found


def _call(
    cluster: Cluster, what: str, namespace: str | None, method: Any, *args: Any, **kwargs: Any
) -> Json | None:
    """``method(*args, **kwargs)``'s answer as JSON (``None`` for 404 Not Found), its failure a
    :class:`ClusterError` in one line."""
    import urllib3
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error

    try:
        response = method(*args, _preload_content=False, **kwargs)
        data: Json = jsonlines.loads(response.data)
    except client.ApiException as err:
        if err.status == 404:
            return None
        raise _refused(cluster, err, what, namespace) from None
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as err:
        raise ClusterError(f"could not {what} on {cluster.where}: {describe_error(err)}") from None
    return data


def _refused(cluster: Cluster, err: Any, what: str, namespace: str | None) -> KjobError:
    where = "in every namespace" if namespace is None else f"in namespace {namespace}"
    if err.status in (401, 403):
        return ClusterError(
            f"the cluster ({cluster.where}) does not let you {what} {where} ({err.status} {err.reason})",
            hint="ask for list/get on configmaps and jobs there, or name a namespace you may read with -n",
        )
    return ClusterError(f"could not {what} {where} on {cluster.where}: {err.status} {err.reason}")


def _jobs_by_run(jobs: Iterator[Json]) -> dict[tuple[str, str], list[Json]]:
    grouped: dict[tuple[str, str], list[Json]] = defaultdict(list)
    for job in jobs:
        grouped[(_meta(job).get("namespace", ""), _label(job, names.LABEL_RUN))].append(job)
    return grouped


# ------------------------------------------------------------------------------------- a run
def _run(obj: Json, jobs: list[Json], drivers: dict[tuple[str, str], Json]) -> RunRecord:
    meta = _meta(obj)
    namespace = meta.get("namespace", "")
    nodes = _nodes(jobs)
    driver = next(
        (
            drivers[(namespace, o["name"])]
            for o in meta.get("ownerReferences") or []
            if (namespace, o.get("name")) in drivers
        ),
        None,
    )
    ended = _ended(meta.get("annotations") or {}, nodes)
    phase, message, finished = ended if ended is not None else _run_phase(nodes, driver)
    started = _time(meta.get("creationTimestamp"))
    parameters = _parameters((obj.get("data") or {}).get("parameters.json"))
    return RunRecord(
        run_id=meta.get("name", ""),
        workflow=f"configmap/{meta.get('name', '')}",
        workflow_name=_workflow_name((obj.get("data") or {}).get("workflow.yaml")),
        backend="kubernetes",
        namespace=namespace,
        parameters=parameters,
        uid=meta.get("uid", ""),
        phase=phase,
        message=message,
        started=started,
        finished=finished,
        nodes=tuple(nodes),
    )


def _ended(annotations: dict[str, str], nodes: list[NodeRecord]) -> tuple[str, str, float | None] | None:
    """How the run's kjob saw it end (:mod:`kjob.backends.kubernetes.runend`), unless the run was
    taken up again since: a Job going, or one created after that end."""
    text = annotations.get(names.ANNOTATION_ENDED)
    if not text:
        return None
    try:
        ended = jsonlines.loads(text)
        phase, message, finished = str(ended["phase"]), str(ended.get("message") or ""), ended.get("finished")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(finished, int | float):
        return None
    for node in nodes:
        if not node.finished_phase or any(
            a.queued is not None and a.queued > finished for a in node.attempts
        ):
            return None
    return phase, message, float(finished)


def _run_phase(nodes: list[NodeRecord], driver: Json | None) -> tuple[str, str, float | None]:
    """The run's phase, message and end, from its driver Job if it has one, else from its tasks."""
    ends = [n.finished for n in nodes if n.finished is not None]
    if driver is not None:
        status = driver.get("status") or {}
        done = _condition(status, "Complete")
        failed = _condition(status, "Failed")
        if done is not None:
            return (
                "Succeeded",
                "",
                _time(status.get("completionTime")) or _time(done.get("lastTransitionTime")),
            )
        if failed is not None:
            failed_tasks = [n.id for n in nodes if n.phase in FAILED and not n.group]
            said = f"failed tasks: {', '.join(failed_tasks[:5])}" if failed_tasks else _why(failed)
            return "Failed", said, _time(failed.get("lastTransitionTime"))
        return "Running", "", None
    leaves = [n for n in nodes if not n.group]
    if any(not n.finished_phase for n in leaves):
        return "Running", "", None
    failed_tasks = [n.id for n in leaves if n.phase in FAILED]
    if failed_tasks:
        return "Failed", f"failed tasks: {', '.join(failed_tasks[:5])}", max(ends, default=None)
    # the end is not known: the last task's end is the last sign of the run
    return "Unknown", "no Job of the run is going, and no kjob noted its end", max(ends, default=None)


def _nodes(jobs: list[Json]) -> list[NodeRecord]:
    """One node per task (its attempts in order) and per fan-out item, with the groups and nested
    templates the ids name made up from their members, in the order the Jobs were created."""
    attempts: dict[str, list[tuple[int, AttemptRecord, str]]] = defaultdict(list)
    for job in sorted(
        jobs, key=lambda j: (_meta(j).get("creationTimestamp") or "", _meta(j).get("name", ""))
    ):
        for node_id, number, attempt, task in _attempts_of(job):
            attempts[node_id].append((number, attempt, task))
    leaves: list[NodeRecord] = []
    for node_id, tries in attempts.items():
        tries.sort(key=lambda t: t[0])
        records = tuple(t[1] for t in tries)
        last = records[-1]
        leaves.append(
            NodeRecord(
                id=node_id,
                task=tries[-1][2],
                phase=last.phase or "Pending",
                message=last.message,
                started=next((a.started for a in records if a.started is not None), None),
                finished=last.finished,
                parent=_parent(node_id),
                attempts=records,
            )
        )
    return _with_ancestors(leaves)


def _attempts_of(job: Json) -> Iterator[tuple[str, int, AttemptRecord, str]]:
    """(node id, attempt number, attempt, task) for a Job: one, or one per item of an Indexed Job."""
    meta = _meta(job)
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    node_id = (
        annotations.get(names.ANNOTATION_NODE_ID) or labels.get(names.LABEL_TASK) or meta.get("name", "")
    )
    task = labels.get(names.LABEL_TASK, node_id)
    number = int(labels.get(names.LABEL_ATTEMPT, "0") or 0)
    status = job.get("status") or {}
    queued = _time(meta.get("creationTimestamp"))
    started = _time(status.get("startTime"))
    items = item_indexes(annotations) if ANNOTATION_ITEMS in annotations else None
    if items is None:
        phase, message, finished = _job_phase(status)
        yield (
            node_id,
            number,
            AttemptRecord(
                id=meta.get("name", ""),
                queued=queued,
                started=started,
                finished=finished,
                phase=phase,
                message=message,
            ),
            task,
        )
        return
    group = node_id.rpartition("#")[0] or node_id  # an Indexed Job's node id is <fan-out>#<items>
    completed = parse_indexes(status.get("completedIndexes") or "")
    failed = parse_indexes(status.get("failedIndexes") or "")
    _, _, finished = _job_phase(status)
    for index, item in enumerate(items):
        phase = (
            "Succeeded"
            if index in completed
            else "Failed"
            if index in failed
            else "Running"
            if started
            else "Pending"
        )
        yield (
            f"{group}({item})",
            number,
            AttemptRecord(
                id=f"{meta.get('name', '')}-{index}",
                queued=queued,
                started=started,
                finished=finished if phase in ("Succeeded", "Failed") else None,
                phase=phase,
            ),
            task,
        )


def _job_phase(status: Json) -> tuple[str, str, float | None]:
    done = _condition(status, "Complete")
    if done is not None:
        return "Succeeded", "", _time(status.get("completionTime")) or _time(done.get("lastTransitionTime"))
    failed = _condition(status, "Failed")
    if failed is not None:
        return "Failed", _why(failed), _time(failed.get("lastTransitionTime"))
    return ("Running" if status.get("startTime") else "Pending"), "", None


def _with_ancestors(leaves: list[NodeRecord]) -> list[NodeRecord]:
    """The leaves, each after the groups and nested templates holding it, which have no Job of their
    own: made from their members (running while any is, failed if any failed, else succeeded)."""
    members: dict[str, list[NodeRecord]] = defaultdict(list)
    for leaf in leaves:
        parent = leaf.parent or None
        while parent is not None:
            members[parent].append(leaf)
            parent = _parent(parent) or None
    made: set[str] = set()
    ordered: list[NodeRecord] = []
    for leaf in leaves:
        chain: list[str] = []
        parent = leaf.parent or None
        while parent is not None and parent not in made:
            chain.append(parent)
            parent = _parent(parent) or None
        for ancestor in reversed(chain):
            made.add(ancestor)
            ordered.append(_summary_node(ancestor, members[ancestor]))
        ordered.append(leaf)
    return ordered


def _summary_node(node_id: str, members: list[NodeRecord]) -> NodeRecord:
    phases = {m.phase for m in members}
    if phases & {"Running", "Pending"}:
        phase = "Running"
    elif phases & FAILED:
        phase = "Failed"
    else:
        phase = "Succeeded"
    starts = [m.started for m in members if m.started is not None]
    ends = [m.finished for m in members if m.finished is not None]
    return NodeRecord(
        id=node_id,
        task=node_id.rsplit(".", 1)[-1],
        phase=phase,
        started=min(starts, default=None),
        finished=max(ends, default=None) if phase != "Running" else None,
        group=any(m.parent == node_id and m.id.startswith(node_id + "(") for m in members),
        parent=_parent(node_id),
    )


def _merge_nodes(seen: tuple[NodeRecord, ...], recorded: tuple[NodeRecord, ...]) -> tuple[NodeRecord, ...]:
    """The record's nodes (they carry templates, inputs, outputs and skip reasons), each replaced by
    the Jobs' view where that is further along, then the nodes only the Jobs know."""
    by_id = {n.id: n for n in seen}
    merged = []
    for node in recorded:
        other = by_id.pop(node.id, None)
        if other is not None and len(other.attempts) >= len(node.attempts) and not node.finished_phase:
            node = msgspec.structs.replace(
                node,
                phase=other.phase,
                attempts=other.attempts,
                started=other.started,
                finished=other.finished,
            )
        merged.append(node)
    return (*merged, *by_id.values())


# ------------------------------------------------------------------------------------- fields
def _parent(node_id: str) -> str:
    return parent_from_id(node_id) or ""


def _namespace(obj: Json) -> str:
    return str(_meta(obj).get("namespace", ""))


def _meta(obj: Json) -> Json:
    meta: Json = obj.get("metadata") or {}
    return meta


def _label(obj: Json, key: str) -> str:
    return str((_meta(obj).get("labels") or {}).get(key, ""))


def _condition(status: Json, kind: str) -> Json | None:
    return next(
        (c for c in status.get("conditions") or [] if c.get("type") == kind and c.get("status") == "True"),
        None,
    )


def _why(condition: Json) -> str:
    reason, message = condition.get("reason") or "", condition.get("message") or ""
    return f"{reason}: {message}" if reason and message else reason or message


def _time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _parameters(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = jsonlines.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _workflow_name(text: str | None) -> str:
    """``metadata.name`` (or ``generateName`` without its dash) of the workflow the run object holds."""
    if not text:
        return ""
    import yaml

    try:
        documents = list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return ""
    for document in documents:
        meta = document.get("metadata") if isinstance(document, dict) else None
        if isinstance(meta, dict):
            name = meta.get("name") or str(meta.get("generateName") or "").rstrip("-")
            return str(name)
    return ""
