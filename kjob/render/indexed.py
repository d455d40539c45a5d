"""A fan-out as a handful of Indexed Jobs (``completionMode: Indexed``), one completion per item.

The items of a fan-out differ only in what their templates rendered: arguments, environment values,
script text.  What is the same for every item is written once; only what varies is stored per item:

* the pod template runs ``sh`` on a fixed launcher (:data:`LAUNCH`): it reads its own item's values
  from a file of its Job's ConfigMap (``c<k>``, :data:`CHUNK` items each, a ``case`` over the
  completion index that sets the positional parameters), then ``run``: the item template, written
  once, which exports the environment values that vary and runs (``exec``) the command with ``"$1"``,
  ``"$2"``... where items differ.  Values are single-quoted by :func:`shlex.quote`, never
  interpolated; each distinct script is stored once per ConfigMap.
* ``$(VAR)`` and ``$$`` in the varying values are expanded by kjob, exactly as the kubelet expands a
  container's own command (:mod:`kjob.kubelet_expansion`): the item's program sees what it would see
  as a Job of its own.  A reference to a variable whose value only the kubelet knows (``valueFrom``,
  ``envFrom``, or one the container does not declare) keeps the fan-out one Job per item.
* When the items do not fit one ConfigMap (1 MiB, :data:`DATA_LIMIT` of data;
  ``KJOB_ITEMS_CONFIGMAP_BYTES`` lowers it) or one Indexed Job (at most
  :data:`MAX_COMPLETIONS` completions with ``backoffLimitPerIndex``), they are split into *parts*,
  each an Indexed Job with its own ConfigMap, and :func:`plan` says why.  The batch's parallelism is
  shared out between the parts; a part that gets none waits with ``parallelism: 0`` until a part
  before it finishes and hands over its share (the backend patches it).

Everything else (image, resources, outputs, pod fields) must be the same for every item, or the
fan-out is not batched and each item gets its own Job.

``backoffLimitPerIndex: 0`` lets the other indexes finish when one fails; the engine retries failed
items by a follow-up Indexed Job over just those items, on the workflow's own backoff schedule.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from kjob import kubelet_expansion
from kjob.backends.base import AttemptSpec
from kjob.errors import KjobError
from kjob.render import manifests, names, workspace
from kjob.render.intervals import compress_indexes, parse_indexes
from kjob.render.manifests import Manifest, RunObject
from kjob.spec.model import EnvVar
from kjob.spec.values import unpassable_in

ITEMS_DIR = "/kjob/items"
ANNOTATION_ITEMS = "kjob.dev/item-indexes"  # the fan-out item of each completion index, in order
CHUNK = 1000  # items per file of a part's ConfigMap (the one file a pod's sh reads)
LAUNCH = f'i=$JOB_COMPLETION_INDEX; . "{ITEMS_DIR}/c$((i / {CHUNK}))" && . {ITEMS_DIR}/run'
DATA_LIMIT = 900 * 1024  # a ConfigMap holds at most 1 MiB; keep room for its metadata
DATA_LIMIT_ENV = "KJOB_ITEMS_CONFIGMAP_BYTES"
MAX_COMPLETIONS = 100_000  # the API's cap on completions with backoffLimitPerIndex (no maxFailedIndexes)
INDEXES_ROOM = 64 * 1024  # of the 256 KiB of annotations, for a part's kjob.dev/item-indexes
_SH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def data_limit() -> int:
    """Bytes of item data per ConfigMap: :data:`DATA_LIMIT`, or less (``KJOB_ITEMS_CONFIGMAP_BYTES``)."""
    text = os.environ.get(DATA_LIMIT_ENV, "").strip()
    return min(DATA_LIMIT, int(text)) if text.isdigit() and int(text) > 0 else DATA_LIMIT


def item_indexes(annotations: Mapping[str, str]) -> list[int] | None:
    """The fan-out item each completion index of an Indexed Job of kjob's runs, in index order;
    ``None`` for a Job of one attempt."""
    items = annotations.get(ANNOTATION_ITEMS)
    return None if items is None else sorted(parse_indexes(items))


# ------------------------------------------------------------------------------------ layout
@dataclasses.dataclass(frozen=True, slots=True)
class _Layout:
    """How every item's values fill one item template: a column is a positional parameter."""

    common_env: frozenset[str]  # stays in the pod template (the same for every item)
    env: tuple[tuple[str, int | str], ...]  # exported by the template: a column or a constant
    argv: tuple[int | str, ...] | None  # a column or a constant; None: each item's argv ("$@")
    values: tuple[str, ...]  # per item: its positional parameters, quoted for ``set --``


def _layout(specs: Sequence[AttemptSpec]) -> _Layout | str:
    """How these items share one template, or why they cannot."""
    common = _common_env(specs)
    rows: list[tuple[str, ...]] = []
    width_env: int | None = None
    for spec in specs:
        row = _row(spec, common)
        if isinstance(row, str):
            return row
        width_env = len(row[0])
        rows.append((*row[0], *row[1]))
    assert width_env is not None
    env_names = [e.name for e in specs[0].container.env if e.name not in common and e.value is not None]
    bad = [n for n in env_names if not _SH_NAME.fullmatch(n)]
    if bad:
        return f"the variable {bad[0]!r} differs between items and is not a name sh can export"
    same_width = len({len(r) for r in rows}) == 1
    width = len(rows[0]) if same_width else width_env
    constant: dict[int, str] = {}
    columns: list[int] = []
    slot: dict[int, int] = {}  # row position -> positional parameter (1-based)
    first_seen: dict[tuple[str, ...], int] = {}
    for pos in range(width):
        column = tuple(r[pos] for r in rows)
        if all(v == column[0] for v in column):
            constant[pos] = column[0]
        elif column in first_seen:
            slot[pos] = slot[first_seen[column]]  # the same values as an earlier column: shared
        else:
            first_seen[column] = pos
            columns.append(pos)
            slot[pos] = len(columns)

    def ref(pos: int) -> int | str:
        return constant[pos] if pos in constant else slot[pos]

    env = tuple((name, ref(i)) for i, name in enumerate(env_names))
    argv_refs = tuple(ref(p) for p in range(width_env, width)) if same_width else None
    if not same_width:  # each item's whole argv follows the env columns
        columns = [p for p in columns if p < width_env]
    values = tuple(
        " ".join(shlex.quote(v) for v in [*(r[p] for p in columns), *(() if same_width else r[width_env:])])
        for r in rows
    )
    return _Layout(frozenset(common), env, argv_refs, values)


def _row(spec: AttemptSpec, common: set[str]) -> tuple[list[str], list[str]] | str:
    """An item's exported env values and argv, expanded as the kubelet would; or why it cannot be."""
    c = spec.container
    known: dict[str, str] = {}
    unknown: set[str] = set()
    if c.extra.get("envFrom"):
        unknown.add("envFrom")
    exported: list[str] = []
    for e in c.env:
        value = e.value
        refs = kubelet_expansion.references(value) if value else []
        resolvable = value is not None and "envFrom" not in unknown and all(r in known for r in refs)
        if resolvable:
            assert value is not None
            known[e.name] = kubelet_expansion.expand(value, known) if value else value
            unknown.discard(e.name)
        else:
            known.pop(e.name, None)
            unknown.add(e.name)
        if e.name in common or e.value is None:
            continue
        if not resolvable:
            missing = next(r for r in refs if r not in known)
            return _unresolved(missing)
        exported.append(known[e.name])
    argv = _argv(spec)
    for word in argv:
        for r in kubelet_expansion.references(word):
            if r not in known:
                return _unresolved(r)
    return exported, kubelet_expansion.command(argv, known)


def _unresolved(name: str) -> str:
    return (
        f"$({name}) is expanded by the kubelet in each container, from a value kjob does not know "
        "(valueFrom, envFrom, or not declared)"
    )


# -------------------------------------------------------------------------------- the plan
@dataclasses.dataclass(frozen=True, slots=True)
class Part:
    """One Indexed Job of a batch and the ConfigMap of its items."""

    specs: tuple[AttemptSpec, ...]
    job: Manifest
    items: Manifest


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    parts: tuple[Part, ...]
    split: str | None  # why there is more than one part, for a notice


def refusal(specs: Sequence[AttemptSpec]) -> str | None:
    """Why these items cannot share Indexed Jobs, or ``None`` if they can."""
    prepared = prepare(specs)
    return prepared if isinstance(prepared, str) else None


Layout = _Layout


def prepare(specs: Sequence[AttemptSpec]) -> Layout | str:
    """How these items share Indexed Jobs (for :func:`plan`), or why they cannot."""
    first = specs[0]
    if first.init_containers or first.sidecars or first.container_set or first.pod_spec_patches:
        return "the items' pods hold other containers or a podSpecPatch"
    if workspace.needed(first):
        return "each item copies its artifacts to and from its own place in the run workspace"
    shape = _shape(first)
    if any(_shape(s) != shape for s in specs[1:]):
        return "the items differ in more than their command, arguments, environment or script"
    if first.deadline is not None:
        return "activeDeadlineSeconds applies to each item; an Indexed Job would apply it to all"
    if any(unpassable_in(_texts(s), {}) for s in specs):
        return "an item's command cannot be given to a program: its own Job says why"
    if not all(s.container.command or s.container.source is not None for s in specs):
        return "the items run the image's own entrypoint, which only the container runtime knows"
    if any(len(s.container.source or "") * 4 > data_limit() // 2 for s in specs):
        return "an item's script is too big to share a ConfigMap with other items"
    return _layout(specs)


def batch_node_id(specs: Sequence[AttemptSpec]) -> str:
    """A deterministic id for the batch: the fan-out and which of its items, e.g. ``fan#0-1999``."""
    return f"{specs[0].group_id}#{compress_indexes(_item(s) for s in specs)}"


def plan(
    specs: Sequence[AttemptSpec],
    run: RunObject,
    *,
    parallelism: int,
    ttl_seconds_after_finished: int | None = None,
    queue: str | None = None,
    layout: Layout | None = None,
) -> Plan:
    """The Indexed Jobs (and their items' ConfigMaps) running ``specs`` (sorted by item, accepted by
    :func:`prepare`, whose ``layout`` may be passed), splitting them where one ConfigMap or one
    Indexed Job cannot hold them all."""
    if layout is None:
        prepared = _layout(specs)
        if isinstance(prepared, str):
            raise KjobError(prepared)
        layout = prepared
    template = _template(layout)
    limit = data_limit()
    bounds, why = _pack(specs, layout, template, limit)
    shares = _shares(parallelism, [hi - lo for lo, hi in bounds])
    parts = []
    for (lo, hi), share in zip(bounds, shares, strict=True):
        chosen = specs[lo:hi]
        job = _job(chosen, layout, run, share, ttl_seconds_after_finished, queue)
        items = _items_configmap(str(job["metadata"]["name"]), chosen, layout.values[lo:hi], layout, run)
        parts.append(Part(tuple(chosen), job, items))
    split = None
    if len(parts) > 1:
        split = (
            f"{len(specs):,} items in {len(parts)} Indexed Jobs, each with a ConfigMap of its items ({why})"
        )
    return Plan(tuple(parts), split)


def _pack(
    specs: Sequence[AttemptSpec], layout: _Layout, template: str, limit: int
) -> tuple[list[tuple[int, int]], str]:
    """Consecutive ranges of ``specs``, each as many items as fit one part; and what bounded them."""
    bounds: list[tuple[int, int]] = []
    why = ""
    lo = 0
    size = base = len(template.encode()) + 64
    scripts: set[str] = set()
    intervals, previous = 0, -2
    for i, spec in enumerate(specs):
        local = i - lo
        cost = len(layout.values[i].encode()) + len(str(local)) + 12 + (40 if local % CHUNK == 0 else 0)
        source = spec.container.source
        if source is not None and manifests.script_key(source) not in scripts:
            cost += len(source.encode()) + 32
        item = _item(spec)
        new_interval = item != previous + 1
        room = (intervals + new_interval) * (2 * len(str(item)) + 2)
        reason = ""
        if local >= MAX_COMPLETIONS:
            reason = f"an Indexed Job runs at most {MAX_COMPLETIONS:,} items with backoffLimitPerIndex"
        elif local and size + cost > limit:
            reason = f"a ConfigMap holds {limit:,} bytes of them"
        elif local and room > INDEXES_ROOM:
            reason = "the list of its items must fit the Job's annotations"
        if reason:
            bounds.append((lo, i))
            why = why or reason
            lo, size, scripts, intervals = i, base, set(), 0
            local = 0
            cost = len(layout.values[i].encode()) + 13 + 40
            new_interval = True
            if source is not None:
                cost += len(source.encode()) + 32
        if size + cost > limit:
            raise ValueError(
                f"one item's command and script take more than the {limit:,} bytes of a ConfigMap"
            )
        if source is not None:
            scripts.add(manifests.script_key(source))
        size += cost
        intervals += new_interval
        previous = item
    bounds.append((lo, len(specs)))
    return bounds, why


def _shares(parallelism: int, sizes: Sequence[int]) -> list[int]:
    """The batch's ``parallelism`` shared out between parts of these sizes, never more in all: in
    proportion to size (at least 1 each) when there is enough; else 1 for the first parts and 0 for
    the rest (they get a share when an earlier part ends)."""
    total = max(1, min(parallelism, sum(sizes)))
    if total < len(sizes):
        return [1 if i < total else 0 for i in range(len(sizes))]
    whole = sum(sizes)
    shares = [max(1, min(size, total * size // whole)) for size in sizes]
    i = 0
    while sum(shares) < total and any(s < z for s, z in zip(shares, sizes, strict=True)):
        if shares[i] < sizes[i]:
            shares[i] += 1
        i = (i + 1) % len(sizes)
    while sum(shares) > total:
        largest = max(range(len(shares)), key=lambda k: shares[k])
        shares[largest] -= 1
    return shares


# ----------------------------------------------------------------------------- rendering
def _template(layout: _Layout) -> str:
    """The ``run`` file: what every item does, with ``"$n"`` where items differ."""

    def word(ref: int | str) -> str:
        return shlex.quote(ref) if isinstance(ref, str) else f'"${{{ref}}}"'

    lines = [f"export {name}={word(ref)}" for name, ref in layout.env]
    if layout.argv is None:
        varying = {ref for _, ref in layout.env if isinstance(ref, int)}
        lines += [f"shift {len(varying)}"] if varying else []
        lines.append('exec "$@"')
    else:
        lines.append("exec " + " ".join(word(r) for r in layout.argv))
    return "\n".join(lines) + "\n"


def _arm(local: int, values: str) -> str:
    """One item's line of its chunk file: its completion index sets the positional parameters."""
    return f"{local}) set -- {values};;\n"


def _items_configmap(
    name: str,
    specs: Sequence[AttemptSpec],
    values: Sequence[str],
    layout: _Layout,
    run: RunObject,
) -> Manifest:
    data: dict[str, str] = {"run": _template(layout)}
    chunks: list[list[str]] = []
    for local, spec in enumerate(specs):
        if local % CHUNK == 0:
            chunks.append(["case $i in\n"])
        chunks[-1].append(_arm(local, values[local]))
        if spec.container.source is not None:
            data[manifests.script_key(spec.container.source)] = spec.container.source
    for k, lines in enumerate(chunks):
        lines.append('*) echo "kjob: no item $i in this Job" >&2; exit 127;;\nesac\n')
        data[f"c{k}"] = "".join(lines)
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


def _job(
    specs: Sequence[AttemptSpec],
    layout: _Layout,
    run: RunObject,
    parallelism: int,
    ttl_seconds_after_finished: int | None,
    queue: str | None,
) -> Manifest:
    first = specs[0]
    launcher = dataclasses.replace(
        first.container,
        command=("sh", "-c", LAUNCH, "kjob-item"),
        args=(),
        source=None,
        env=tuple(e for e in first.container.env if e.name in layout.common_env),
    )
    template_spec = dataclasses.replace(
        first, container=launcher, node_id=batch_node_id(specs), inputs={}, item_index=None
    )
    job = manifests.job_manifest(
        template_spec, run, ttl_seconds_after_finished=ttl_seconds_after_finished, queue=queue
    )
    name = names.job_name(run.run_id, template_spec.node_id, template_spec.attempt, room=names.INDEXED_ROOM)
    job["metadata"]["name"] = name
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
        parallelism=min(parallelism, len(specs)),
        backoffLimitPerIndex=0,
    )
    pod = spec["template"]["spec"]
    pod["volumes"] = [*pod.get("volumes", []), {"name": "kjob-items", "configMap": {"name": name}}]
    container = pod["containers"][0]
    container["volumeMounts"] = [
        *container.get("volumeMounts", []),
        {"name": "kjob-items", "mountPath": ITEMS_DIR, "readOnly": True},
    ]
    return job


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
    """Everything that must be the same for every item of one Indexed Job (compared with ``==``:
    mappings by content, and the same objects, which rendering shares between items, at once)."""
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
        c.extra,
        spec.pod_extra,
        tuple(e.name for e in c.env),
        tuple((e.name, e.value_from) for e in c.env if e.value_from),
        spec.input_artifacts,
        spec.output_parameters,
        spec.output_artifacts,
        spec.wants_result,
    )
