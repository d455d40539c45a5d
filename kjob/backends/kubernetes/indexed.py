"""A fan-out as ONE Indexed Job: ``completionMode: Indexed``, one completion per item.

The items of a fan-out differ only in what their templates rendered: arguments, environment values,
script text.  Those go into one ConfigMap beside the Job (key ``i<index>`` per completion index, and
each distinct script once); the pod template runs ``sh`` on its own index's file, which exports the
item's environment and ``exec``s the item's command.  Values are single-quoted by :func:`shlex.quote`
before they reach that file, never interpolated.  Everything else (image, resources, outputs, pod
fields) must be the same for every item, or the fan-out is not batched and each item gets its own Job.

``backoffLimitPerIndex: 0`` lets the other indexes finish when one fails; the engine retries failed
items by a follow-up Indexed Job over just those items, on the workflow's own backoff schedule.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from kjob.backends.base import AttemptSpec
from kjob.backends.kubernetes import manifests, names, workspace
from kjob.backends.kubernetes.intervals import compress_indexes, parse_indexes
from kjob.backends.kubernetes.manifests import Manifest, RunObject
from kjob.spec.model import EnvVar
from kjob.spec.values import unpassable_in

ITEMS_DIR = "/kjob/items"
ANNOTATION_ITEMS = "kjob.dev/item-indexes"  # the fan-out item of each completion index, in order
LAUNCH = f'exec sh "{ITEMS_DIR}/i$JOB_COMPLETION_INDEX"'
DATA_LIMIT = 900 * 1024  # a ConfigMap holds at most 1 MiB; keep room for its metadata


def item_indexes(annotations: Mapping[str, str]) -> list[int] | None:
    """The fan-out item each completion index of an Indexed Job of kjob's runs, in index order;
    ``None`` for a Job of one attempt."""
    items = annotations.get(ANNOTATION_ITEMS)
    return None if items is None else sorted(parse_indexes(items))


def refusal(specs: Sequence[AttemptSpec]) -> str | None:
    """Why these items cannot share one Indexed Job, or ``None`` if they can."""
    first = specs[0]
    if workspace.needed(first):
        return "each item copies its artifacts to and from its own place in the run workspace"
    shape = _shape(first)
    if any(_shape(s) != shape for s in specs[1:]):
        return "the items differ in more than their command, arguments, environment or script"
    if first.deadline is not None:
        return "activeDeadlineSeconds applies to each item; an Indexed Job would apply it to all"
    if any("$(" in text for s in specs for text in _texts(s)):
        return "a $(VAR) reference is expanded by the kubelet in each container's own command"
    if any(unpassable_in(_texts(s), {}) for s in specs):
        return "an item's command cannot be given to a program: its own Job says why"
    if not all(s.container.command or s.container.source is not None for s in specs):
        return "the items run the image's own entrypoint, which only the container runtime knows"
    if (
        sum(len(_launch_file(s)) for s in specs) + sum(len(s.container.source or "") for s in specs)
        > DATA_LIMIT
    ):
        return "the items' rendered commands do not fit one ConfigMap"
    return None


def batch_node_id(specs: Sequence[AttemptSpec]) -> str:
    """A deterministic id for the batch: the fan-out and which of its items, e.g. ``fan#0-1999``."""
    return f"{specs[0].group_id}#{compress_indexes(_item(s) for s in specs)}"


def indexed_job(
    specs: Sequence[AttemptSpec],
    run: RunObject,
    *,
    parallelism: int,
    ttl_seconds_after_finished: int | None = None,
    queue: str | None = None,
) -> tuple[Manifest, Manifest]:
    """The Indexed Job running ``specs`` (sorted by item) and the ConfigMap of their commands."""
    first = specs[0]
    common = _common_env(specs)
    launcher = dataclasses.replace(
        first.container,
        command=("sh", "-c", LAUNCH, "kjob-item"),
        args=(),
        source=None,
        env=tuple(e for e in first.container.env if e.name in common),
    )
    template_spec = dataclasses.replace(
        first, container=launcher, node_id=batch_node_id(specs), inputs={}, item_index=None
    )
    job = manifests.job_manifest(
        template_spec, run, ttl_seconds_after_finished=ttl_seconds_after_finished, queue=queue
    )
    name: str = job["metadata"]["name"]
    meta = job["metadata"]
    node_label = names.node_hash(run.run_id, first.group_id)
    meta["labels"][names.LABEL_NODE] = node_label
    job["spec"]["template"]["metadata"]["labels"][names.LABEL_NODE] = node_label
    meta["annotations"] = {
        **{k: v for k, v in meta["annotations"].items() if k != names.ANNOTATION_INPUTS},
        names.ANNOTATION_NODE_ID: first.group_id,
        ANNOTATION_ITEMS: compress_indexes(_item(s) for s in specs),
    }
    spec = job["spec"]
    del spec["backoffLimit"]  # with backoffLimitPerIndex it defaults to "no global limit"
    spec.update(
        completionMode="Indexed",
        completions=len(specs),
        parallelism=max(1, min(parallelism, len(specs))),
        backoffLimitPerIndex=0,
    )
    pod = spec["template"]["spec"]
    pod["volumes"] = [*pod.get("volumes", []), {"name": "kjob-items", "configMap": {"name": name}}]
    container = pod["containers"][0]
    container["volumeMounts"] = [
        *container.get("volumeMounts", []),
        {"name": "kjob-items", "mountPath": ITEMS_DIR, "readOnly": True},
    ]
    return job, _items_configmap(name, specs, run, common)


def _items_configmap(name: str, specs: Sequence[AttemptSpec], run: RunObject, common: set[str]) -> Manifest:
    data: dict[str, str] = {}
    for index, spec in enumerate(specs):
        data[f"i{index}"] = _launch_file(spec, common)
        if spec.container.source is not None:
            data[manifests.script_key(spec.container.source)] = spec.container.source
    data["inputs.json"] = json.dumps([dict(s.inputs) for s in specs], sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            "labels": {names.LABEL_RUN: names.label_value(run.run_id), names.LABEL_ROLE: "items"},
            "ownerReferences": [run.owner_reference()],
        },
        "data": data,
    }


def _launch_file(spec: AttemptSpec, common: set[str] | None = None) -> str:
    """What one item runs: its own environment values, then its command."""
    lines = [
        f"export {e.name}={shlex.quote(e.value)}"
        for e in spec.container.env
        if e.value is not None and (common is None or e.name not in common)
    ]
    lines.append("exec " + " ".join(shlex.quote(a) for a in _argv(spec)))
    return "\n".join(lines) + "\n"


def _argv(spec: AttemptSpec) -> list[str]:
    c = spec.container
    if c.source is not None:
        return [*(c.command or ("sh",)), f"{ITEMS_DIR}/{manifests.script_key(c.source)}"]
    return [*c.command, *c.args]


def _common_env(specs: Sequence[AttemptSpec]) -> set[str]:
    """The environment variables every item has with the same value (they stay in the pod template)."""
    first: dict[str, EnvVar] = {e.name: e for e in specs[0].container.env}
    return {name for name, var in first.items() if all(var in s.container.env for s in specs[1:])}


def _texts(spec: AttemptSpec) -> list[str]:
    c = spec.container
    return [*c.command, *c.args, *(e.value for e in c.env if e.value is not None)]


def _item(spec: AttemptSpec) -> int:
    assert spec.item_index is not None, "only fan-out items are batched"
    return spec.item_index


def _shape(spec: AttemptSpec) -> tuple[Any, ...]:
    """Everything that must be the same for every item of one Indexed Job."""
    c = spec.container
    return (
        spec.group_id,
        spec.attempt,
        spec.template_name,
        c.image,
        bool(c.command),
        c.source is not None,
        c.working_dir,
        c.resources,
        json.dumps(c.extra, sort_keys=True, default=str),
        json.dumps(spec.pod_extra, sort_keys=True, default=str),
        tuple(e.name for e in c.env),
        tuple((e.name, json.dumps(e.value_from, sort_keys=True, default=str)) for e in c.env if e.value_from),
        spec.input_artifacts,
        spec.output_parameters,
        spec.output_artifacts,
        spec.wants_result,
    )
