"""Where a workload comes from: a kjob/Argo workflow, a WfCommons WfFormat instance, a HEFT-style cost
table, or a synthetic generator.  :func:`load_source` tells them apart by content.

Synthetic generators (``NAME:N[,key=value...]``; the structure is fixed by ``seed=``, default 0)::

    chain:N                      one task after another
    fanout:N                     one task, N-2 in parallel, one task that joins them
    layered:N[,width=W,deps=D]   levels of W tasks (default sqrt N), each needs D (default 2) of the
                                 level before
    montage-like:N               Montage's shape: project, pairwise diffs, fit, background model,
                                 background corrections, table, co-add, viewer (about N tasks)

Durations come, most specific first, from ``--calibrate RUN``, a durations file, a template's
``kjob.io/duration`` annotation, what the source recorded (WfFormat runtimes, cost tables), and the
default (``lognormal:60s,0.5`` for synthetic kinds, ``fixed:60s`` for workflow templates).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from kjob.errors import KjobError
from kjob.limits import Limit
from kjob.plan import plan_edges
from kjob.spec import load_file
from kjob.spec.model import Workflow
from sim.cluster import INF, Cluster, Pool, parse_quantity
from sim.core import Workload
from sim.durations import Distribution, Fixed, LogNormal, Recorded, parse_distribution
from sim.errors import SimError, fail_at, locate
from sim.workflow_model import Assumption, Decisions, FlatDag, flatten

FloatArray = npt.NDArray[np.float64]

SYNTHETIC = ("chain", "fanout", "layered", "montage-like")
DURATION_ANNOTATION = "kjob.io/duration"
FAILURE_ANNOTATION = "kjob.io/fail-probability"
WORKFLOW_DEFAULT = Fixed(60.0)
SYNTHETIC_DEFAULT = LogNormal(60.0, 0.5)
RUNNABLE = ("Workflow", "CronWorkflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
_GPU_KEYS = ("nvidia.com/gpu", "amd.com/gpu", "gpu")
_WHOLE = re.compile(r"[0-9]+")  # str.isdigit() also accepts '²', which int() refuses

# A generated task costs about 500 bytes and 10 us to simulate; these keep a typo (chain:<30 digits>,
# layered:N,width=W,deps=D with W*D in the billions) from exhausting memory.
SYNTHETIC_TASKS = Limit("tasks", 5_000_000, "KJOB_MAX_SIM_TASKS")
SYNTHETIC_EDGES = Limit("edges", 50_000_000, "KJOB_MAX_SIM_EDGES")


@dataclass(frozen=True, slots=True)
class KindSettings:
    """What a durations file (or calibration) says about one kind: a distribution, a failure rate."""

    duration: Distribution | None = None
    fail: float | None = None


@dataclass(frozen=True)
class Source:
    """A loaded SOURCE: the workload, and the cluster it recorded or declares (``None`` if none)."""

    workload: Workload
    cluster: Cluster | None
    kind: str  # workflow | wfformat | cost-table | synthetic
    workflow: Workflow | None = None  # a workflow source, to flatten again under other decisions
    assumptions: tuple[Assumption, ...] = ()  # what building the workload took as given
    flat: FlatDag | None = None


def load_source(
    source: str,
    *,
    workflow_name: str | None = None,
    default_request: Sequence[float] = (1.0, 2.0**30, 0.0),
    decisions: Decisions | None = None,
) -> Source:
    """Load SOURCE by content (see the module doc).  ``default_request`` (cpu, memory bytes, gpu) is
    given to tasks whose source states no requests."""
    name, _, rest = source.partition(":")
    if name in SYNTHETIC and not Path(source).exists():
        return synthetic(name, rest, default_request)
    path = Path(source)
    if not path.exists():
        raise SimError(
            f"SOURCE '{source}' is neither a file nor a generator",
            hint="give a workflow, WfFormat or cost-table file, or one of: "
            + ", ".join(g + ":N" for g in SYNTHETIC),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise SimError(f"cannot read {source}: {err}") from None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            fail_at(f"not valid JSON: {err.msg}", source, err.lineno, err.colno)
        if isinstance(doc, dict) and "workflow" in doc:
            return wfformat(doc, text, source, default_request)
        if isinstance(doc, dict) and "computation_cost" in doc:
            return cost_table(doc, text, source)
        if not (isinstance(doc, dict) and "apiVersion" in doc):
            raise SimError(
                f"{source}: cannot tell what this JSON is",
                hint="expected a WfFormat instance ('workflow'), a cost table ('computation_cost') "
                "or a workflow ('apiVersion')",
            )
    return workflow_file(source, workflow_name, default_request, decisions)


# ------------------------------------------------------------------------------------------ synthetic
def synthetic(name: str, rest: str, default_request: Sequence[float]) -> Source:
    """A generated DAG; ``rest`` is ``N[,key=value...]``.  Sizes past :data:`SYNTHETIC_TASKS` or
    :data:`SYNTHETIC_EDGES` are refused before anything is built."""
    parts = [p.strip() for p in rest.split(",")] if rest else []
    usage = f"{name}:N[,key=value...], N a whole number >= 1"
    if not parts or not _WHOLE.fullmatch(parts[0]) or int(parts[0]) < 1:
        raise SimError(f"'{name}:{rest}' needs a task count", hint=f"write {usage}, e.g. {name}:1000")
    n = _within(SYNTHETIC_TASKS, int(parts[0]), f"'{name}:{rest}'")
    opts: dict[str, int] = {}
    allowed = {"layered": ("width", "deps", "seed")}.get(name, ("seed",))
    for part in parts[1:]:
        key, eq, value = part.partition("=")
        if not eq or key not in allowed or not _WHOLE.fullmatch(value):
            raise SimError(
                f"'{part}' is not an option of {name}",
                hint=f"{name} takes: {', '.join(k + '=N' for k in allowed)}",
            )
        opts[key] = int(value)
    rng = np.random.default_rng(opts.get("seed", 0))
    kinds: tuple[str, ...] = ("task",)
    durations: tuple[Distribution, ...] = (SYNTHETIC_DEFAULT,)
    kind = np.zeros(n, dtype=np.int32)
    if name == "chain":
        src = np.arange(n - 1, dtype=np.int64)
        dst = src + 1
    elif name == "fanout":
        if n < 3:
            src, dst = np.arange(n - 1, dtype=np.int64), np.arange(1, n, dtype=np.int64)
        else:
            mid = np.arange(1, n - 1, dtype=np.int64)
            src = np.concatenate([np.zeros(n - 2, dtype=np.int64), mid])
            dst = np.concatenate([mid, np.full(n - 2, n - 1, dtype=np.int64)])
    elif name == "layered":
        width = min(n, opts.get("width") or max(1, round(math.sqrt(n))))  # wider than n: one level
        deps = opts.get("deps", 2)
        _within(SYNTHETIC_EDGES, min(deps, width) * (n - width), f"'{name}:{rest}'")
        src, dst = _layered(n, width, deps, rng)
    else:
        src, dst, kind, kinds, durations = _montage(n)
        n = kind.size
    plan = plan_edges(n, src, dst)
    request = np.tile(np.asarray(default_request, dtype=np.float64), (n, 1))
    title = f"{name}:{rest}"
    workload = Workload(plan, kind, kinds, durations, request, title=title)
    return Source(workload, None, "synthetic")


def _within(limit: Limit, count: int, subject: str) -> int:
    """``count``, or a :class:`SimError` naming ``limit`` and how to raise it."""
    message = limit.problem(count, subject)
    if message is not None:
        raise SimError(message, hint="simulate a smaller size")
    return count


def _layered(n: int, width: int, deps: int, rng: np.random.Generator) -> tuple[Any, Any]:
    """Each task past the first level needs ``deps`` consecutive (wrapping) tasks of the level before,
    starting at a random one."""
    ids = np.arange(width, n, dtype=np.int64)
    if ids.size == 0 or deps < 1:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    prev_start = (ids // width - 1) * width
    first = rng.integers(0, width, size=ids.size)
    k = min(deps, width)
    src = (prev_start[None, :] + (first[None, :] + np.arange(k)[:, None]) % width).reshape(-1)
    dst = np.tile(ids, k)
    return src, dst


_MONTAGE = (
    ("mProject", LogNormal(13.0, 0.3)),
    ("mDiffFit", LogNormal(2.0, 0.3)),
    ("mConcatFit", LogNormal(30.0, 0.1)),
    ("mBgModel", LogNormal(20.0, 0.1)),
    ("mBackground", LogNormal(2.0, 0.3)),
    ("mImgtbl", LogNormal(5.0, 0.1)),
    ("mAdd", LogNormal(60.0, 0.1)),
    ("mViewer", LogNormal(10.0, 0.1)),
)


def _montage(n: int) -> tuple[Any, Any, Any, tuple[str, ...], tuple[Distribution, ...]]:
    """Montage's mosaic workflow on a grid of ``p`` tiles, ``p`` chosen so the total is about ``n``
    (illustrative durations: the shape is the point)."""
    p = max(1, (n - 5) // 4)
    cols = max(1, math.isqrt(p))
    tiles = np.arange(p, dtype=np.int64)
    right = tiles[(tiles % cols != cols - 1) & (tiles + 1 < p)]
    down = tiles[tiles + cols < p]
    a = np.concatenate([right, down])
    b = np.concatenate([right + 1, down + cols])
    d = a.size
    proj = tiles
    diff = p + np.arange(d, dtype=np.int64)
    concat, bgmodel = p + d, p + d + 1
    back = p + d + 2 + tiles
    imgtbl = p + d + 2 + p
    add, viewer = imgtbl + 1, imgtbl + 2
    total = viewer + 1
    src = np.concatenate([a, b, diff, [concat], np.full(p, bgmodel), proj, back, [imgtbl], [add]]).astype(
        np.int64
    )
    dst = np.concatenate(
        [diff, diff, np.full(d, concat), [bgmodel], back, back, np.full(p, imgtbl), [add], [viewer]]
    ).astype(np.int64)
    kind = np.concatenate([np.zeros(p), np.ones(d), [2, 3], np.full(p, 4), [5, 6, 7]]).astype(np.int32)
    assert kind.size == total
    return src, dst, kind, tuple(k for k, _ in _MONTAGE), tuple(v for _, v in _MONTAGE)


# ------------------------------------------------------------------------------------------ WfFormat
def wfformat(doc: dict[str, Any], text: str, path: str, default_request: Sequence[float]) -> Source:
    """A WfCommons WfFormat instance (1.5: ``workflow.specification`` and ``workflow.execution``;
    older ones with ``workflow.tasks``).  Durations are the recorded runtimes, cpu requests the
    recorded core counts (1 if absent), the cluster the recorded machines; transfer sizes come from
    the files a child reads that its parent wrote."""
    wf = doc.get("workflow")
    if not isinstance(wf, dict):
        fail_at("'workflow' must be an object", path, *locate(text, '"workflow"'))
    spec = wf.get("specification")
    execution: dict[str, Any] = wf["execution"] if isinstance(wf.get("execution"), dict) else {}
    if isinstance(spec, dict):
        tasks = spec.get("tasks")
        files = {f.get("id"): f.get("sizeInBytes", 0) for f in spec.get("files", []) if isinstance(f, dict)}
        runs = {t.get("id"): t for t in execution.get("tasks", []) if isinstance(t, dict)}
        machines = execution.get("machines", [])
    else:  # WfFormat <= 1.4: one list of tasks with their runtimes
        tasks = wf.get("tasks")
        files = {}
        runs = {t.get("id", t.get("name")): t for t in tasks or [] if isinstance(t, dict)}
        machines = wf.get("machines", [])
    if not isinstance(tasks, list) or not tasks:
        fail_at("no tasks: expected workflow.specification.tasks", path, *locate(text, '"workflow"'))
    ids: list[str] = []
    index: dict[str, int] = {}
    for t in tasks:
        tid = t.get("id", t.get("name")) if isinstance(t, dict) else None
        if not isinstance(tid, str):
            fail_at("a task without an id", path, *locate(text, '"tasks"'))
        if tid in index:
            fail_at(
                f"task id '{tid}' is used twice", path, *locate(text, f'"{tid}"', text.find(f'"{tid}"') + 1)
            )
        index[tid] = len(ids)
        ids.append(tid)
    n = len(ids)
    src: list[int] = []
    dst: list[int] = []
    for i, t in enumerate(tasks):
        for parent in t.get("parents", []):
            if parent not in index:
                fail_at(
                    f"task '{ids[i]}' has an unknown parent '{parent}'", path, *locate(text, f'"{parent}"')
                )
            src.append(index[parent])
            dst.append(i)
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    try:
        plan = plan_edges(n, s, d)
    except KjobError as err:
        raise SimError(f"{path}: {err.message}") from None
    recorded = np.full(n, np.nan)
    request = np.tile(np.asarray(default_request, dtype=np.float64), (n, 1))
    request[:, 1:] = 0.0  # WfFormat records memory use, not requests: place by cores only
    categories: list[str] = []
    for i, tid in enumerate(ids):
        run = runs.get(tid, {})
        runtime = run.get("runtimeInSeconds", run.get("runtime"))
        if isinstance(runtime, int | float) and runtime >= 0:
            recorded[i] = float(runtime)
        cores = run.get("coreCount", run.get("cores"))
        request[i, 0] = float(cores) if isinstance(cores, int | float) and cores > 0 else 1.0
        task = tasks[i]
        categories.append(str(task.get("category") or re.sub(r"_ID\d+$", "", task.get("name", tid))))
    kinds = tuple(dict.fromkeys(categories))
    kind_index = {k: j for j, k in enumerate(kinds)}
    kind = np.array([kind_index[c] for c in categories], dtype=np.int32)
    fallback = float(np.nanmedian(recorded)) if not np.isnan(recorded).all() else 0.0
    durations: tuple[Distribution, ...] = tuple(Recorded(fallback) for _ in kinds)
    transfer = _transfer_bytes(tasks, plan, files) if files else None
    pools = []
    for k, m in enumerate(machines):
        if not isinstance(m, dict):
            continue
        cpu = m.get("cpu", {}).get("coreCount") if isinstance(m.get("cpu"), dict) else None
        mem = m.get("memoryInBytes")
        pools.append(
            Pool(
                name=str(m.get("nodeName", f"machine-{k + 1}")),
                count=1,
                cpu=float(cpu) if isinstance(cpu, int | float) and cpu > 0 else INF,
                memory=float(mem) if isinstance(mem, int | float) and mem > 0 else INF,
                pods=INF,
            )
        )
    names = [p.name for p in pools]
    pools = [replace(p, name=f"{p.name}-{k}") if names.count(p.name) > 1 else p for k, p in enumerate(pools)]
    cluster = Cluster(pools=tuple(pools)) if pools else None
    info: dict[str, Any] = {"format": "wfformat"}
    recorded_makespan = execution.get("makespanInSeconds", wf.get("makespan"))
    if isinstance(recorded_makespan, int | float):
        info["recorded_makespan"] = float(recorded_makespan)
    workload = Workload(
        plan,
        kind,
        kinds,
        durations,
        request,
        recorded=recorded,
        transfer=transfer,
        transfer_bytes=True,
        names=ids,
        title=Path(path).name,
        info=info,
    )
    return Source(workload, cluster, "wfformat")


def _transfer_bytes(tasks: list[Any], plan: Any, files: Mapping[Any, Any]) -> FloatArray | None:
    """Bytes per CSR edge: the sizes of the files the parent writes and the child reads."""
    outputs = [set(t.get("outputFiles", [])) for t in tasks]
    inputs = [set(t.get("inputFiles", [])) for t in tasks]
    indptr = plan.indptr.tolist()
    indices = plan.indices.tolist()
    out = np.zeros(len(indices))
    for u in range(len(tasks)):
        if not outputs[u]:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            shared = outputs[u] & inputs[indices[e]]
            out[e] = sum(int(files.get(f, 0) or 0) for f in shared)  # ints: exact in any order
    return out if out.any() else None


# ---------------------------------------------------------------------------------------- cost table
def cost_table(doc: dict[str, Any], text: str, path: str) -> Source:
    """A HEFT-style table: ``processors``, ``tasks``, ``computation_cost`` (task -> cost per processor)
    and ``edges`` (from, to, comm), comm paid only between different processors (see
    ``../shared/data/heft-example.json``)."""
    procs = doc.get("processors")
    if not isinstance(procs, list) or not procs:
        fail_at("'processors' must be a non-empty list", path, *locate(text, '"processors"'))
    comp = doc["computation_cost"]
    if not isinstance(comp, dict) or not comp:
        fail_at(
            "'computation_cost' must map each task to its costs", path, *locate(text, '"computation_cost"')
        )
    tasks = doc.get("tasks", list(comp))
    if not isinstance(tasks, list):
        fail_at("'tasks' must be a list", path, *locate(text, '"tasks"'))
    ids = [str(t) for t in tasks]
    index = {t: i for i, t in enumerate(ids)}
    n, p = len(ids), len(procs)
    cost = np.zeros((n, p))
    for t in ids:
        row = comp.get(t)
        if not isinstance(row, list) or len(row) != p or not all(_nonneg(v) for v in row):
            fail_at(
                f"computation_cost of task {t} must be {p} numbers >= 0 (one per processor)",
                path,
                *locate(text, f'"{t}"', text.find('"computation_cost"')),
            )
        cost[index[t]] = row
    src: list[int] = []
    dst: list[int] = []
    comm: list[float] = []
    edges = doc.get("edges", [])
    for k, e in enumerate(edges if isinstance(edges, list) else []):
        edge = e if isinstance(e, dict) else {}
        a, b, c = str(edge.get("from")), str(edge.get("to")), edge.get("comm", 0)
        if a not in index or b not in index or not isinstance(c, int | float) or not _nonneg(c):
            line, col = locate(text, '"from"', _nth(text, '"from"', k))
            fail_at(f"edge {k + 1} needs 'from' and 'to' among the tasks and a 'comm' >= 0", path, line, col)
        src.append(index[a])
        dst.append(index[b])
        comm.append(float(c))
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    try:
        plan = plan_edges(n, s, d)
    except KjobError as err:
        raise SimError(f"{path}: {err.message}") from None
    order = np.lexsort((d, s))  # the CSR order: by source, then target
    transfer = np.asarray(comm)[order] if comm else None
    cluster = Cluster(pools=tuple(Pool(str(name), 1, cpu=1.0, memory=INF, pods=1.0) for name in procs))
    request = np.tile([1.0, 0.0, 0.0], (n, 1))
    info: dict[str, Any] = {"format": "cost-table"}
    if isinstance(doc.get("heft_makespan"), int | float):
        info["published_heft_makespan"] = float(doc["heft_makespan"])
    workload = Workload(
        plan,
        np.zeros(n, dtype=np.int32),
        ("task",),
        (Recorded(0.0),),
        request,
        recorded=cost.mean(axis=1),
        transfer=transfer,
        cost=cost,
        names=ids,
        title=Path(path).name,
        info=info,
    )
    return Source(workload, cluster, "cost-table")


def _nonneg(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _nth(text: str, needle: str, k: int) -> int:
    at = -1
    for _ in range(k + 1):
        at = text.find(needle, at + 1)
        if at < 0:
            return 0
    return at


# ------------------------------------------------------------------------------------------ workflows
def workflow_file(
    path: str, name: str | None, default_request: Sequence[float], decisions: Decisions | None = None
) -> Source:
    """A kjob/Argo workflow file: its entrypoint flattened (:mod:`sim.workflow_model`), one kind per
    container or script template."""
    workflow = pick_workflow(path, name)
    workload, flat = from_workflow(workflow, default_request, decisions)
    return Source(workload, None, "workflow", workflow=workflow, assumptions=flat.assumptions, flat=flat)


def pick_workflow(path: str, name: str | None) -> Workflow:
    """The one workflow of the file at ``path`` to simulate (``name`` picks one of several)."""
    loaded = load_file(path)
    candidates = [w for w in loaded.workflows if w.kind in RUNNABLE]
    if name is not None:
        candidates = [w for w in candidates if name in (w.name, w.generate_name, w.display_name)]
    if len(candidates) != 1:
        names = ", ".join(w.display_name for w in loaded.workflows) or "none"
        raise SimError(
            f"{path}: {'no' if not candidates else len(candidates)} workflows to simulate (found: {names})",
            hint="pick one with --workflow NAME",
        )
    return candidates[0]


def from_workflow(
    workflow: Workflow, default_request: Sequence[float], decisions: Decisions | None = None
) -> tuple[Workload, FlatDag]:
    """The workload of ``workflow`` under ``decisions`` (fan-out widths, ``when`` branches)."""
    flat = flatten(workflow, decisions)
    n = len(flat.ids)
    plan = plan_edges(n, flat.src, flat.dst)
    kinds = tuple(dict.fromkeys(flat.templates))
    kind_index = {k: j for j, k in enumerate(kinds)}
    kind = np.array([kind_index[t] for t in flat.templates], dtype=np.int32)
    per_kind_request = [_requests(workflow, k, default_request) for k in kinds]
    request = np.array([per_kind_request[k] for k in kind.tolist()], dtype=np.float64).reshape(n, 3)
    durations: list[Distribution] = []
    fail = np.zeros(len(kinds))
    for j, k in enumerate(kinds):
        template = workflow.templates[k]
        notes = _annotations(template.pod_extra)
        where = f"template '{k}' annotation"
        durations.append(
            _annotation_value(notes, DURATION_ANNOTATION, where, parse_distribution) or WORKFLOW_DEFAULT
        )
        fail[j] = _annotation_value(notes, FAILURE_ANNOTATION, where, _probability) or 0.0
    retry = tuple(workflow.templates[k].retry_strategy for k in kinds)
    info: dict[str, Any] = {"format": "workflow"}
    workload = Workload(
        plan,
        kind,
        kinds,
        tuple(durations),
        request,
        fail_prob=fail,
        retry=retry,
        names=flat.ids,
        title=workflow.display_name,
        info=info,
    )
    return workload, flat


def origins(
    workload: Workload, kind: str, workflow: Workflow | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Where each kind's duration and failure rate come from before any option applies (``kind`` is
    the source's): an annotation, the trace or cost table, or ``default`` (a silent default)."""
    if kind in ("wfformat", "cost-table"):
        what = "the trace's recorded runtimes" if kind == "wfformat" else "the cost table"
        return dict.fromkeys(workload.kinds, what), dict.fromkeys(workload.kinds, "default")
    durations = dict.fromkeys(workload.kinds, "default")
    failures = dict.fromkeys(workload.kinds, "default")
    if workflow is not None:
        for k in workload.kinds:
            notes = _annotations(workflow.templates[k].pod_extra)
            if DURATION_ANNOTATION in notes:
                durations[k] = f"annotation {DURATION_ANNOTATION}"
            if FAILURE_ANNOTATION in notes:
                failures[k] = f"annotation {FAILURE_ANNOTATION}"
    return durations, failures


def _requests(workflow: Workflow, template: str, default: Sequence[float]) -> list[float]:
    t = workflow.templates[template]
    if t.container is None:
        return [0.0, 0.0, 0.0]  # a nested dag/steps runs as one task that holds nothing
    requests = t.container.resources.requests
    if not requests:
        return [float(x) for x in default]
    cpu = parse_quantity(requests["cpu"], "cpu") if "cpu" in requests else 0.0
    mem = parse_quantity(requests["memory"], "memory") if "memory" in requests else 0.0
    gpu = next((parse_quantity(requests[g], "gpu") for g in _GPU_KEYS if g in requests), 0.0)
    return [cpu, mem, gpu]


def _annotations(pod_extra: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = pod_extra.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, Mapping) else None
    return notes if isinstance(notes, Mapping) else {}


def _annotation_value(notes: Mapping[str, Any], key: str, where: str, parse: Any) -> Any:
    if key not in notes:
        return None
    try:
        return parse(notes[key])
    except KjobError as err:
        raise SimError(f"{where} {key}: {err.message}", hint=err.hint) from None


def _probability(value: object) -> float:
    try:
        p = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SimError(f"failure probability {value!r} is not a number") from None
    if not 0 <= p <= 1:
        raise SimError(f"failure probability {value!r} must be between 0 and 1")
    return p


# ------------------------------------------------------------------------------ applying durations
def load_durations(path: str) -> dict[str, KindSettings]:
    """A durations file: a mapping of kind (template) name, or ``*`` for every other kind, to a
    distribution or to ``{duration: ..., fail: probability}``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SimError(
            f"cannot read durations file {path}: {getattr(err, 'strerror', None) or err}"
        ) from None
    try:
        doc = YAML(typ="rt").load(io.StringIO(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        fail_at(
            f"not valid YAML or JSON: {err.problem}",
            path,
            (mark.line + 1) if mark else 1,
            (mark.column + 1) if mark else 1,
        )
    if not isinstance(doc, CommentedMap):
        fail_at("a durations file maps template names (or '*') to durations", path, 1, 1)
    out: dict[str, KindSettings] = {}
    for key, value in doc.items():
        line, col = (x + 1 for x in doc.lc.value(key))
        try:
            if isinstance(value, Mapping):
                unknown = [k for k in value if k not in ("duration", "fail")]
                if unknown:
                    raise SimError(f"unknown field '{unknown[0]}' (a kind takes duration and fail)")
                dist = parse_distribution(value["duration"]) if "duration" in value else None
                fail = _probability(value["fail"]) if "fail" in value else None
                out[str(key)] = KindSettings(dist, fail)
            else:
                out[str(key)] = KindSettings(parse_distribution(value))
        except KjobError as err:
            fail_at(f"{key}: {err.message}", path, line, col, err.hint)
    return out


def with_settings(
    workload: Workload,
    settings: Mapping[str, KindSettings],
    *,
    where: str = "",
    strict: bool = True,
) -> Workload:
    """The workload with these per-kind durations / failure rates (``*`` for every other kind).
    With ``strict``, a name that is no kind of the workload is an error listing the kinds."""
    if strict:
        for name in settings:
            if name != "*" and name not in workload.kinds:
                prefix = f"{where}: " if where else ""
                raise SimError(
                    f"{prefix}no template or kind '{name}' in {workload.title or 'the source'}",
                    hint=f"kinds: {', '.join(workload.kinds)}",
                )
    fallback = settings.get("*")
    durations = list(workload.durations)
    fail = workload.fail_prob.copy() if workload.fail_prob is not None else np.zeros(len(workload.kinds))
    for j, k in enumerate(workload.kinds):
        s = settings.get(k, fallback)
        if s is None:
            continue
        if s.duration is not None:
            durations[j] = s.duration
        if s.fail is not None:
            fail[j] = s.fail
    return replace(workload, durations=tuple(durations), fail_prob=fail)
