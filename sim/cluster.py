"""The modelled cluster: node pools, how pods are placed on nodes, and the delays around a pod.

A cluster file (YAML or JSON; every key optional except ``pools``)::

    pools:
    - name: general        # default pool-N
      count: 20            # nodes in the pool
      cpu: 16              # Kubernetes quantities: 500m, 2, 64Gi, 1e9 ...; omitted = unlimited
      memory: 64Gi
      gpu: 0
      pods: 110            # pods per node (Kubernetes' default)
      speed: 1.0           # a task takes duration / speed here
    placement: first-fit   # or best-fit
    startup: 2s            # pod start-up latency: a distribution (see sim.durations)
    api: {qps: 5, burst: 10}   # the client's rate limit on creating Jobs
    bandwidth: 1Gi         # bytes/s between nodes, for transfer costs (omitted: transfers are free)

Placement is by requests, as kube-scheduler does it: a pod fits a node when every request fits in what
the node has left.  ``first-fit`` takes the lowest-numbered node that fits, ``best-fit`` the one left
with the least free CPU (then memory, then lowest number).  A pod that fits nowhere waits.
:class:`Placer` holds the free resources and the index each rule searches, for any mix of requests;
the core runs first-fit on it inline (one request shape as free-slot counters), checking only the
resources that can run out first (:func:`binding`).
"""

from __future__ import annotations

import bisect
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from kjob.errors import KjobError
from kjob.quantity import parse_quantity as kjob_quantity
from sim.durations import Distribution, Fixed, parse_distribution
from sim.errors import SimError, fail_at

INF = math.inf
RESOURCES = ("cpu", "memory", "gpu", "pods")
PLACEMENTS = ("first-fit", "best-fit")
DEFAULT_PODS = 110


def parse_quantity(value: object, what: str = "quantity") -> float:
    """A Kubernetes quantity as a number: ``500m`` -> 0.5, ``4Gi`` -> 4294967296, ``2`` -> 2.

    >>> parse_quantity("1500m"), parse_quantity("1Gi"), parse_quantity(3)
    (1.5, 1073741824.0, 3.0)
    """
    if isinstance(value, bool):
        raise SimError(f"invalid {what} {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (exact := _exact(value)) is not None:
        try:
            number = float(exact)
        except OverflowError:  # 1e999: exact, but beyond any float
            number = math.inf
    else:
        raise SimError(
            f"invalid {what} {value!r}", hint="use a number or a Kubernetes quantity (500m, 2, 512Mi, 4Gi)"
        )
    if not math.isfinite(number) or number < 0:
        raise SimError(f"invalid {what} {value!r}: must be a finite number >= 0")
    return number


def _exact(text: str) -> Fraction | None:
    """kjob's one quantity parser (spaces inside, as in ``2 Gi``, allowed)."""
    try:
        return kjob_quantity("".join(text.split()))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Pool:
    """``count`` identical nodes.  ``inf`` means the resource does not limit placement."""

    name: str
    count: int
    cpu: float = INF
    memory: float = INF
    gpu: float = 0.0
    pods: float = DEFAULT_PODS
    speed: float = 1.0


@dataclass(frozen=True)
class Cluster:
    """Node pools plus the scheduler's placement rule and the delays a pod sees.

    No pools means unlimited capacity: only the workflow's parallelism limits how many tasks run.
    """

    pools: tuple[Pool, ...] = ()
    placement: str = "first-fit"
    startup: Distribution = field(default_factory=lambda: Fixed(0.0))
    qps: float | None = None
    burst: int = 1
    bandwidth: float | None = None

    @classmethod
    def uniform(cls, nodes: int, *, cpu: float = 1.0, memory: float = INF, **kw: Any) -> Cluster:
        """``nodes`` identical nodes (``gpu``, ``pods``, ``speed`` may be given too)."""
        extra = {k: kw.pop(k) for k in ("gpu", "pods", "speed") if k in kw}
        return cls(pools=(Pool("nodes", nodes, cpu=cpu, memory=memory, **extra),), **kw)

    @classmethod
    def slots(cls, k: int, **kw: Any) -> Cluster:
        """``k`` identical slots: one node that holds ``k`` pods whatever their requests."""
        return cls(pools=(Pool("slots", 1, cpu=INF, memory=INF, gpu=INF, pods=float(k)),), **kw)

    @property
    def unlimited(self) -> bool:
        return not self.pools

    def with_nodes(self, count: int) -> Cluster:
        """The same cluster with ``count`` nodes in its (only) pool."""
        if len(self.pools) != 1:
            raise SimError(
                f"'nodes' applies to a cluster of one pool; this one has {len(self.pools) or 'no'} pools",
                hint="sweep pool sizes by editing the cluster file, or give --nodes",
            )
        return replace(self, pools=(replace(self.pools[0], count=count),))

    def nodes(self) -> Nodes:
        """Every node as arrays (pools expanded in order)."""
        counts = [p.count for p in self.pools]
        cap = np.array([[p.cpu, p.memory, p.gpu, p.pods] for p in self.pools], dtype=np.float64)
        speed = np.array([p.speed for p in self.pools], dtype=np.float64)
        names: list[str] = []
        for p in self.pools:
            names.extend([p.name] if p.count == 1 else [f"{p.name}-{i}" for i in range(p.count)])
        return Nodes(
            capacity=np.repeat(cap.reshape(-1, 4), counts, axis=0),
            speed=np.repeat(speed, counts),
            names=tuple(names),
        )

    def describe(self) -> str:
        if self.unlimited:
            return "unlimited (only parallelism limits)"
        parts = []
        for p in self.pools:
            res = ", ".join(
                f"{r} {_show(v, r)}"
                for r, v in (("cpu", p.cpu), ("memory", p.memory), ("gpu", p.gpu), ("pods", p.pods))
                if math.isfinite(v) and (v or r != "gpu")
            )
            speed = f", speed {p.speed:g}" if p.speed != 1 else ""
            parts.append(f"{p.count} x {p.name} ({res or 'any size'}{speed})")
        return "; ".join(parts)


def _show(value: float, resource: str) -> str:
    if resource == "memory":
        for unit, size in (("Ti", 2.0**40), ("Gi", 2.0**30), ("Mi", 2.0**20)):
            if value >= size:
                return f"{value / size:g}{unit}"
    return f"{value:g}"


@dataclass(frozen=True, eq=False)
class Nodes:
    """Per node: ``capacity`` (cpu, memory, gpu, pods) shape ``(N, 4)``, ``speed`` and a name."""

    capacity: npt.NDArray[np.float64]
    speed: npt.NDArray[np.float64]
    names: tuple[str, ...]

    @property
    def count(self) -> int:
        return int(self.speed.size)

    def slots_for(self, request: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """How many pods of one request shape (cpu, memory, gpu, pods=1) each node holds."""
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(request > 0, np.floor(self.capacity / np.where(request > 0, request, 1)), INF)
        fit = per.min(axis=1)
        slots: npt.NDArray[np.int64] = np.minimum(fit, 2**31 - 1).astype(np.int64)
        return slots


class Placer:
    """The free resources of every node, and the index each placement rule searches.

    Resources are integers (milli-cpu, bytes, milli-gpu, pods) so that taking and giving back never
    drifts; ``req`` holds each request shape's cpu, memory and gpu.  First-fit keeps, per shape, a heap
    of the node numbers where that shape may fit, and :class:`sim.core.Simulator` places and frees
    inline on it: the lowest node in the heap that fits takes the pod, a node seen not to fit is
    dropped (``member`` false) until something on it is freed.  Best-fit keeps the nodes sorted by
    (free cpu, free memory, number): :meth:`place` scans up from the request, :meth:`give` frees.
    """

    def __init__(self, nodes: Nodes, classes: npt.NDArray[np.float64], placement: str) -> None:
        cap = _units(nodes.capacity)
        self.cpu, self.mem, self.gpu, self.pods = (cap[:, r].tolist() for r in range(4))
        self.req: list[tuple[int, int, int]] = [tuple(row[:3]) for row in _units(classes).tolist()]
        self.best = placement == "best-fit"
        n = nodes.count
        self.order: list[tuple[int, int, int]] = []
        self.heaps: list[list[int]] = []
        self.member: list[list[bool]] = []
        if self.best:
            self.order = sorted(zip(self.cpu, self.mem, range(n), strict=True))
            return
        for c in range(len(self.req)):
            fits = [self.fits(j, c) for j in range(n)]
            self.heaps.append([j for j in range(n) if fits[j]])
            self.member.append(fits)

    def fits(self, j: int, c: int) -> bool:
        rc, rm, rg = self.req[c]
        return bool(self.cpu[j] >= rc and self.mem[j] >= rm and self.gpu[j] >= rg and self.pods[j] > 0)

    def place(self, c: int) -> int:
        """Best-fit: put a pod of class ``c`` on the node left with the least free cpu (then memory,
        then lowest number) where it fits now, and return the node, or -1."""
        rc, rm, rg = self.req[c]
        cpu, mem, gpu, pods, order = self.cpu, self.mem, self.gpu, self.pods, self.order
        for k in range(bisect.bisect_left(order, (rc,)), len(order)):
            j = order[k][2]
            if mem[j] >= rm and gpu[j] >= rg and pods[j] > 0 and cpu[j] >= rc:
                del order[k]
                bisect.insort(order, (cpu[j] - rc, mem[j] - rm, j))
                cpu[j] -= rc
                mem[j] -= rm
                gpu[j] -= rg
                pods[j] -= 1
                return j
        return -1

    def give(self, j: int, c: int) -> None:
        """Best-fit: free what a pod of class ``c`` held on node ``j``."""
        rc, rm, rg = self.req[c]
        cpu, mem, order = self.cpu, self.mem, self.order
        del order[bisect.bisect_left(order, (cpu[j], mem[j], j))]
        bisect.insort(order, (cpu[j] + rc, mem[j] + rm, j))
        cpu[j] += rc
        mem[j] += rm
        self.gpu[j] += rg
        self.pods[j] += 1


def binding(capacity: npt.NDArray[np.float64], requests: npt.NDArray[np.float64]) -> tuple[bool, ...]:
    """Per resource (cpu, memory, gpu, pods), whether it can be the one that keeps a pod off a node,
    given ``capacity`` per node and ``requests`` per shape (rows of cpu, memory, gpu, pods).

    A resource cannot when no shape asks for it, or when another resource ``q`` that every shape asks
    for always runs out first: ``req[r] * cap[q] <= cap[r] * req[q]`` for every shape and node means
    whatever fits by ``q`` fits by ``r`` (the pods on a node use at most ``cap[q] * max(req[r] / req[q])``
    of ``r``).  Exact: integers, and a resource is dropped only for one that is still checked.

    >>> binding(np.array([[8, 2**36, 0, 110]]), np.array([[1, 2**30, 0, 1], [2, 2**32, 0, 1]]))
    (True, False, False, False)
    """
    caps = {tuple(row) for row in _units(capacity).tolist()}
    reqs: list[list[int]] = _units(requests).tolist()
    binds = [any(req[r] > 0 for req in reqs) for r in range(4)]
    for r in range(4):
        for q in range(4):
            if (
                binds[r]
                and q != r
                and binds[q]
                and all(req[q] > 0 for req in reqs)
                and all(req[r] * cap[q] <= cap[r] * req[q] for req in reqs for cap in caps)
            ):
                binds[r] = False
    return tuple(binds)


_UNIT = np.array([1000.0, 1.0, 1000.0, 1.0])  # milli-cpu, bytes, milli-gpu, pods
_BIG = 2**62


def _units(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Resources as exact integers; unlimited as a number no request reaches."""
    scaled = np.asarray(values, dtype=np.float64).reshape(-1, 4) * _UNIT
    return np.where(np.isfinite(scaled), np.minimum(np.round(scaled), _BIG), _BIG).astype(np.int64)


# ------------------------------------------------------------------------------------- cluster files
_TOP = ("pools", "placement", "startup", "api", "bandwidth")
_POOL = ("name", "count", "cpu", "memory", "gpu", "pods", "speed")
_API = ("qps", "burst")


def load_cluster(path: str | Path) -> Cluster:
    """Read a cluster file (see the module doc).  Mistakes raise ``SpecError`` at ``file:line:col``."""
    name = str(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SimError(f"cannot read cluster file {name}: no such file", hint="check the path") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise SimError(f"cannot read cluster file {name}: {err}") from None
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(io.StringIO(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        fail_at(f"not valid YAML or JSON: {err.problem or err.context}", name, line, col)
    return _ClusterReader(name).read(doc)


class _ClusterReader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, message: str, node: Any, key: str | int | None = None, hint: str | None = None) -> None:
        line, col = 1, 1
        lc = getattr(node, "lc", None)
        if lc is not None:
            try:
                if isinstance(node, CommentedMap) and key is not None:
                    line, col = lc.value(key) if key in node else (lc.line, lc.col)
                elif isinstance(node, CommentedSeq) and isinstance(key, int):
                    line, col = lc.item(key)
                else:
                    line, col = lc.line, lc.col
                line, col = line + 1, col + 1
            except (KeyError, TypeError, AttributeError):
                line, col = 1, 1
        fail_at(message, self.path, line, col, hint)

    def keys(self, node: CommentedMap, allowed: Sequence[str], where: str) -> None:
        for key in node:
            if key not in allowed:
                line, col = node.lc.key(key)
                fail_at(
                    f"unknown field '{key}' in {where}",
                    self.path,
                    line + 1,
                    col + 1,
                    hint=f"{where} takes: {', '.join(allowed)}",
                )

    def value(self, node: CommentedMap, key: str, parse: Any, what: str) -> Any:
        try:
            return parse(node[key])
        except KjobError as err:
            self.fail(f"{what}: {err.message}", node, key, err.hint)

    def read(self, doc: Any) -> Cluster:
        if not isinstance(doc, CommentedMap):
            self.fail("a cluster file is a mapping with 'pools' (and optional placement, startup, api)", doc)
        self.keys(doc, _TOP, "the cluster")
        pools_node = doc.get("pools")
        if not isinstance(pools_node, CommentedSeq) or not pools_node:
            self.fail(
                "'pools' must be a non-empty list of node pools", doc, "pools" if "pools" in doc else None
            )
        pools = tuple(self.pool(item, i) for i, item in enumerate(pools_node))
        names = [p.name for p in pools]
        for i, p in enumerate(pools):
            if names.index(p.name) != i:
                self.fail(f"pool name '{p.name}' is used twice", pools_node[i], "name")
        kw: dict[str, Any] = {}
        if "placement" in doc:
            if doc["placement"] not in PLACEMENTS:
                self.fail(
                    f"placement '{doc['placement']}' is not one of: {', '.join(PLACEMENTS)}", doc, "placement"
                )
            kw["placement"] = str(doc["placement"])
        if "startup" in doc:
            kw["startup"] = self.value(
                doc, "startup", lambda v: parse_distribution(v, what="startup"), "startup"
            )
        if "bandwidth" in doc:
            bw = self.value(doc, "bandwidth", lambda v: parse_quantity(v, "bandwidth"), "bandwidth")
            if bw <= 0:
                self.fail("bandwidth must be > 0 bytes per second", doc, "bandwidth")
            kw["bandwidth"] = bw
        if "api" in doc:
            api = doc["api"]
            if not isinstance(api, CommentedMap):
                self.fail("'api' must be a mapping with qps and burst", doc, "api")
            self.keys(api, _API, "api")
            if "qps" in api:
                kw["qps"] = self.value(api, "qps", _positive, "api.qps")
            if "burst" in api:
                kw["burst"] = self.value(api, "burst", _count, "api.burst")
                if kw["burst"] < 1:
                    self.fail("api.burst must be at least 1", api, "burst")
        return Cluster(pools=pools, **kw)

    def pool(self, node: Any, index: int) -> Pool:
        if not isinstance(node, CommentedMap):
            self.fail(f"pool {index + 1} must be a mapping (name, count, cpu, memory, ...)", node)
        self.keys(node, _POOL, "a pool")
        if "count" not in node:
            self.fail(f"pool {index + 1} has no 'count'", node, hint="say how many nodes the pool has")
        kw: dict[str, Any] = {"name": str(node.get("name", f"pool-{index + 1}"))}
        kw["count"] = self.value(node, "count", _count, "count")
        for key in ("cpu", "memory", "gpu", "pods"):
            if key in node:
                kw[key] = self.value(node, key, lambda v, k=key: parse_quantity(v, k), key)
        if "speed" in node:
            kw["speed"] = self.value(node, "speed", _positive, "speed")
        return Pool(**kw)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SimError(f"must be a whole number >= 0, not {value!r}")
    return value


def _positive(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value == INF:
        raise SimError(f"must be a number > 0, not {value!r}")
    return float(value)
