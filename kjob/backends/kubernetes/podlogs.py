"""Which pod ran each attempt of a Kubernetes run, found when its logs are asked for (``kjob logs``): a
run spends no API request on logs nobody reads.  Two lists (the run's Jobs and pods, by its label) find
each attempt's pod, whether its Job ran one attempt or a fan-out's items as an Indexed Job."""

from __future__ import annotations

from collections.abc import Iterable

from kjob.backends.kubernetes.cluster import Cluster
from kjob.render import indexed, names
from kubernetes import client

# (node id, attempt number) -> (Job name, completion index or None)
Where = dict[tuple[str, int], tuple[str, int | None]]


def attempt_jobs(cluster: Cluster, run_id: str) -> Where:
    """Which Job (and index) ran each attempt of the run, from the Jobs' own annotations."""
    where: Where = {}
    jobs = cluster.batch.list_namespaced_job(cluster.namespace, label_selector=names.run_selector(run_id))
    for job in jobs.items:
        meta = job.metadata or client.V1ObjectMeta()
        name = str(meta.name)
        annotations, labels = meta.annotations or {}, meta.labels or {}
        node, attempt = annotations.get(names.ANNOTATION_NODE_ID), labels.get(names.LABEL_ATTEMPT, "")
        if node is None or not attempt.isdigit():
            continue
        items = indexed.item_indexes(annotations)
        if items is None:
            where[(node, int(attempt))] = (name, None)
            continue
        for index, item in enumerate(items):
            where[(f"{node}({item}:", int(attempt))] = (name, index)  # an item, by its id's prefix
    return where


def find_pods(
    cluster: Cluster, run_id: str, wanted: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], str | None]:
    """The pod that ran each wanted (node id, attempt), by name; ``None`` where none is left (the
    newest, if its Job made several)."""
    where = attempt_jobs(cluster, run_id)
    pods = cluster.core.list_namespaced_pod(
        cluster.namespace, label_selector=names.run_selector(run_id)
    ).items
    newest: dict[tuple[str, int | None], client.V1Pod] = {}
    for pod in sorted(pods, key=lambda p: str(_meta(p).creation_timestamp or "")):
        labels = _meta(pod).labels or {}
        index = labels.get(names.LABEL_COMPLETION_INDEX)
        newest[(labels.get("job-name", ""), int(index) if index and index.isdigit() else None)] = pod
    found: dict[tuple[str, int], str | None] = {}
    for node, attempt in wanted:
        job = where.get((node, attempt)) or where.get((_item_prefix(node), attempt))
        ran = newest.get(job) if job is not None else None
        found[(node, attempt)] = None if ran is None else str(_meta(ran).name)
    return found


def _meta(pod: client.V1Pod) -> client.V1ObjectMeta:
    return pod.metadata or client.V1ObjectMeta()


def _item_prefix(node_id: str) -> str:
    """``fan(3:`` from a fan-out item's id ``fan(3:value)``."""
    head, sep, rest = node_id.rpartition("(")
    return f"{head}({rest.split(':', 1)[0]}:" if sep and ":" in rest else node_id
