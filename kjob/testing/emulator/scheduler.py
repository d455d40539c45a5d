"""The scheduler (``kube-scheduler`` with its default plugins, as far as batch pods meet them).

Each pod without ``spec.nodeName`` (and without ``schedulingGates``) goes through, in this order:

1. **VolumeBinding PreFilter**: every ``persistentVolumeClaim`` volume's claim must exist, not be
   terminating, and be ``Bound``; otherwise no node is tried and the reason is the plugin's
   (``persistentvolumeclaim "x" not found``, ``pod has unbound immediate PersistentVolumeClaims``);
2. per node, **NodeAffinity** (``nodeSelector`` and the required ``nodeAffinity`` terms against the
   Node's labels: ``node(s) didn't match Pod's node affinity/selector``) and **NodeResourcesFit**:
   the node's pods (bound, not yet ``Succeeded``/``Failed``) plus this one within ``pods``
   (``Too many pods``), and the pod's requests within what the node has left of each allocatable
   resource (``Insufficient cpu``, ``Insufficient memory``, ``Insufficient nvidia.com/gpu``…). A
   pod's requests are the sum of its containers' (limits count where requests are absent: the API
   defaulted them so), or an init container's if larger;
3. **scoring**: the fitting node with the most room left (``LeastAllocated`` on cpu and memory,
   counting a container without requests as 100m/200Mi), the first by name on a tie — where the
   real scheduler picks randomly among equals.

A pod that fits is bound (``spec.nodeName``, condition ``PodScheduled=True``). One that does not
stays ``Pending`` with ``PodScheduled=False``, reason ``Unschedulable`` and the scheduler's message,
e.g. ``0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No
preemption victims found for incoming pod..`` — every pod has the same priority here, so preemption
never finds victims. Unschedulable pods are tried again whenever pods, nodes or claims change (a pod
finishing frees its requests), oldest first.

Not emulated: taints and tolerations, pod (anti-)affinity, topology spread, priority classes and
preemption, ``WaitForFirstConsumer`` claims, host ports, the real scheduler's back-off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kjob.testing.emulator.api import Registry
from kjob.testing.emulator.quantity import scheduler_units
from kjob.testing.emulator.store import Event
from kjob.testing.emulator.util import Obj, labels_of, name_of, namespace_of, sub, uid_of

UNRESOLVABLE = "Preemption is not helpful for scheduling"
NO_VICTIMS = "No preemption victims found for incoming pod"
SELECTOR_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
#: ``schedutil.DefaultMilliCPURequest`` / ``DefaultMemoryRequest``, used only for scoring.
NONZERO_CPU, NONZERO_MEMORY = 100, 200 * 1024 * 1024
TERMINAL = ("Succeeded", "Failed")

Requests = dict[str, int]


def container_requests(container: Obj) -> Requests:
    res = sub(container, "resources")
    values = dict(res.get("limits") or {})
    values.update(res.get("requests") or {})
    out: Requests = {}
    for name, value in values.items():
        try:
            out[str(name)] = scheduler_units(str(name), value)
        except ValueError:
            continue  # validation rejects these; nothing to count
    return out


def pod_requests(pod: Obj) -> Requests:
    """``computePodResourceRequest``: containers summed, then the largest init container if larger."""
    spec = sub(pod, "spec")
    total: Requests = {}
    for c in spec.get("containers") or []:
        for name, value in container_requests(c).items():
            total[name] = total.get(name, 0) + value
    for c in spec.get("initContainers") or []:
        for name, value in container_requests(c).items():
            total[name] = max(total.get(name, 0), value)
    return total


def _nonzero(pod: Obj) -> tuple[int, int]:
    cpu = mem = 0
    for c in sub(pod, "spec").get("containers") or []:
        r = container_requests(c)
        cpu += r.get("cpu") or NONZERO_CPU
        mem += r.get("memory") or NONZERO_MEMORY
    return cpu, mem


@dataclass
class NodeState:
    """What the scheduler's cache knows of one node."""

    name: str
    labels: dict[str, str]
    allocatable: Requests
    pods: int = 0
    requested: Requests = field(default_factory=dict)
    nonzero: tuple[int, int] = (0, 0)

    def add(self, requests: Requests, nonzero: tuple[int, int]) -> None:
        self.pods += 1
        for k, v in requests.items():
            self.requested[k] = self.requested.get(k, 0) + v
        self.nonzero = (self.nonzero[0] + nonzero[0], self.nonzero[1] + nonzero[1])

    def insufficient(self, requests: Requests) -> list[str]:
        """``fitsRequest``: the reasons this node cannot take a pod with ``requests``."""
        reasons = ["Too many pods"] if self.pods + 1 > self.allocatable.get("pods", 0) else []
        for name in ("cpu", "memory", "ephemeral-storage", *sorted(requests)):
            want = requests.get(name, 0)
            if name == "pods" or want <= 0 or f"Insufficient {name}" in reasons:
                continue
            if want > self.allocatable.get(name, 0) - self.requested.get(name, 0):
                reasons.append(f"Insufficient {name}")
        return reasons

    def score(self, nonzero: tuple[int, int]) -> float:
        """``LeastAllocated`` over cpu and memory, as a fraction (higher: more room left)."""
        fractions = []
        for key, want, used in (
            ("cpu", nonzero[0], self.nonzero[0]),
            ("memory", nonzero[1], self.nonzero[1]),
        ):
            cap = self.allocatable.get(key, 0)
            fractions.append(max(0.0, (cap - used - want) / cap) if cap else 0.0)
        return sum(fractions) / len(fractions)


def _matches_expression(labels: dict[str, str], expr: Obj) -> bool:
    key, op, values = str(expr.get("key")), expr.get("operator"), [str(v) for v in expr.get("values") or []]
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and values:
        try:
            have, want = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def node_matches(pod: Obj, labels: dict[str, str]) -> bool:
    """``nodeSelector`` and ``requiredDuringSchedulingIgnoredDuringExecution`` (terms ORed)."""
    spec = sub(pod, "spec")
    selector = spec.get("nodeSelector") or {}
    if any(labels.get(str(k)) != str(v) for k, v in selector.items()):
        return False
    required = sub(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    return any(
        all(_matches_expression(labels, e) for e in term.get("matchExpressions") or [])
        for term in terms
        if term.get("matchExpressions")
    )


def _histogram(reasons: list[str]) -> str:
    return ", ".join(sorted(f"{n} {reason}" for reason, n in Counter(reasons).items()))


def fit_error(total: int, prefilter: str | None, by_node: dict[str, list[str]]) -> str:
    """``FitError.Error()`` followed by the preemption plugin's own (as ``PostFilter`` adds it)."""
    head = f"0/{total} nodes are available:"
    if prefilter is not None:
        message = f"{head} {prefilter}."
    else:
        message = f"{head} {_histogram([r for rs in by_node.values() for r in rs])}."
    victims = [
        UNRESOLVABLE if prefilter is not None or SELECTOR_MISMATCH in reasons else NO_VICTIMS
        for reasons in by_node.values()
    ]
    return f"{message} preemption: {head} {_histogram(victims)}.."


def _claims_prefilter(pod: Obj, lookup: Callable[[str, str], Obj | None]) -> str | None:
    """``VolumeBinding.PreFilter``: why the pod's claims keep it off every node, or ``None``."""
    unbound = False
    for volume in sub(pod, "spec").get("volumes") or []:
        claim_name = sub(volume, "persistentVolumeClaim").get("claimName")
        if not claim_name:
            continue
        claim = lookup(namespace_of(pod), str(claim_name))
        if claim is None:
            return f'persistentvolumeclaim "{claim_name}" not found'
        if sub(claim, "metadata").get("deletionTimestamp"):
            return f'persistentvolumeclaim "{claim_name}" is being deleted'
        if sub(claim, "status").get("phase") != "Bound":
            unbound = True
    return "pod has unbound immediate PersistentVolumeClaims" if unbound else None


def waits_for_scheduler(pod: Obj) -> bool:
    m, spec = sub(pod, "metadata"), sub(pod, "spec")
    return not spec.get("nodeName") and not m.get("deletionTimestamp") and not spec.get("schedulingGates")


class Scheduler:
    """Binds pending pods to the nodes in the store, or says why it cannot."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.clock = registry.clock
        self._feed = registry.store.feed()
        self._requests: dict[str, tuple[Requests, tuple[int, int]]] = {}  # per pod uid
        #: Per pod uid, when it was first seen (the scheduling queue's order, after its age).
        self._arrival: dict[str, int] = {}
        self._arrivals = 0

    def step(self) -> None:
        store = self.registry.store
        events, everything, retry = store.drain(self._feed)
        for ev in events:
            if ev.resource == "pods" and ev.type == "ADDED":
                self._arrive(ev.obj)
        if everything or retry or any(_matters(ev) for ev in events):
            pending = [p for p in store.items("pods") if waits_for_scheduler(p)]
            for p in pending:
                self._arrive(p)
            if pending:
                self._schedule(pending)
        self._feed.unfinished = False

    def _arrive(self, pod: Obj) -> None:
        uid = uid_of(pod)
        if uid not in self._arrival:
            self._arrival[uid] = self._arrivals
            self._arrivals += 1

    def _cached(self, pod: Obj) -> tuple[Requests, tuple[int, int]]:
        uid = uid_of(pod)
        found = self._requests.get(uid)
        if found is None:
            found = self._requests[uid] = (pod_requests(pod), _nonzero(pod))
        return found

    def _nodes(self) -> list[NodeState]:
        store = self.registry.store
        nodes: dict[str, NodeState] = {}
        for n in store.items("nodes"):
            allocatable: Requests = {}
            for key, value in sub(n, "status", "allocatable").items():
                try:
                    allocatable[str(key)] = scheduler_units(str(key), value)
                except ValueError:
                    continue
            nodes[name_of(n)] = NodeState(name_of(n), labels_of(n), allocatable)
        live: set[str] = set()
        for p in store.items("pods"):
            uid = uid_of(p)
            live.add(uid)
            node = nodes.get(str(sub(p, "spec").get("nodeName") or ""))
            if node is not None and sub(p, "status").get("phase") not in TERMINAL:
                node.add(*self._cached(p))
        for uid in [u for u in self._requests if u not in live]:
            del self._requests[uid]
        for uid in [u for u in self._arrival if u not in live]:
            del self._arrival[uid]
        return sorted(nodes.values(), key=lambda n: n.name)

    def _schedule(self, pending: list[Obj]) -> None:
        nodes = self._nodes()
        store = self.registry.store
        pending.sort(
            key=lambda p: (str(sub(p, "metadata").get("creationTimestamp")), self._arrival[uid_of(p)])
        )
        for pod in pending:
            requests, nonzero = self._cached(pod)
            prefilter = _claims_prefilter(
                pod, lambda ns, name: store.peek("persistentvolumeclaims", ns, name)
            )
            by_node: dict[str, list[str]] = {}
            fitting: list[NodeState] = []
            for node in nodes:
                if prefilter is not None:
                    by_node[node.name] = []
                elif not node_matches(pod, node.labels):
                    by_node[node.name] = [SELECTOR_MISMATCH]
                elif reasons := node.insufficient(requests):
                    by_node[node.name] = reasons
                else:
                    fitting.append(node)
            if fitting:
                best = max(fitting, key=lambda n: n.score(nonzero))  # max keeps the first of equals
                best.add(requests, nonzero)
                self._write(pod, best.name, None)
            elif nodes:
                self._write(pod, None, fit_error(len(nodes), prefilter, by_node))
            else:
                self._write(pod, None, "no nodes available to schedule pods")

    def _write(self, pod: Obj, node: str | None, message: str | None) -> None:
        """Bind ``pod`` to ``node``, or record why it is unschedulable (only if that changed)."""
        ts = self.clock.timestamp()
        for c in sub(pod, "status").get("conditions") or []:
            if c.get("type") == "PodScheduled" and node is None and c.get("message") == message:
                return

        def update(p: Obj) -> None:
            status: Obj = p.setdefault("status", {})
            conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            old: Obj = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {}
            )
            cond: Obj = {"type": "PodScheduled", "status": "True" if node else "False", "lastProbeTime": None}
            same = old.get("status") == cond["status"]
            cond["lastTransitionTime"] = old.get("lastTransitionTime") if same else ts
            if node is None:
                cond["reason"], cond["message"] = "Unschedulable", message
            else:
                p.setdefault("spec", {})["nodeName"] = node
            status["conditions"] = [*conds, cond]

        self.registry.mutate("pods", namespace_of(pod), name_of(pod), update)


def _matters(ev: Event) -> bool:
    """Whether a change can make some pending pod schedulable (or a new one pending)."""
    if ev.resource in ("nodes", "persistentvolumeclaims", "persistentvolumes"):
        return True
    if ev.resource != "pods":
        return False
    if ev.type != "MODIFIED" or ev.old is None:
        return True
    old, new = ev.old, ev.obj
    return (
        sub(old, "status").get("phase") != sub(new, "status").get("phase")
        or old.get("spec") != new.get("spec")
        or sub(old, "metadata").get("deletionTimestamp") != sub(new, "metadata").get("deletionTimestamp")
    )
