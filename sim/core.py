"""The discrete-event core: tasks of a DAG run on a modelled cluster in virtual time.

Everything that does not depend on the order of events is done up front with numpy: the CSR successor
lists and indegrees (from :func:`kjob.plan.plan_edges`), every attempt's duration and start-up
latency, how many attempts fail, the priority keys.  The loop in :meth:`Simulator._loop` then does
only what must happen per event, on plain lists.

The event list is a heap of ``(time, seq, code)`` tuples: ``seq`` counts the events scheduled, so
ties go to the event scheduled first and runs repeat exactly; ``code`` is ``task << 2 | kind``.  All
events of an instant are applied before anything is dispatched, as kjob's engine handles a batch of
backend events before it dispatches; retry timers due at that instant come after them.  The loop is
written once, every feature behind a test of a flag (:class:`_Flags`), and compiled per combination
of features with the branches of the others taken out (:mod:`sim.specialise`): the plain
first-in-first-out case then runs within 3% of a loop written for it alone (the loop as written
takes 1.4x as long), and a test holds the compiled loops to the loop as written.

The dispatch rules are the engine's (``kjob/engine/engine.py``): a task is queued the moment its last
dependency succeeds; queued attempts are submitted oldest first while fewer than ``parallelism`` are
running; a failed attempt is retried when and if :func:`kjob.engine.retry.decide_retry` says so, and
queued again at the back; after a failure that is not retried, ``fail_fast`` (the engine's default)
starts nothing new.  Submission then goes through the client's API rate limit (a token bucket of
``qps`` and ``burst``) to the scheduler, which places pending pods by their requests (see
:mod:`sim.cluster`) in the same order; a placed pod starts after its start-up latency and after its
inputs have arrived from other nodes.
"""

from __future__ import annotations

import gc
import math
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from heapq import heapify, heappop, heappush
from typing import Any

import numpy as np
import numpy.typing as npt

from kjob.backends.base import AttemptPhase
from kjob.engine.retry import decide_retry
from kjob.plan import Plan
from kjob.spec.model import RetryStrategy
from sim.cluster import Cluster, Placer, binding
from sim.durations import Distribution, Fixed, Recorded, draw
from sim.errors import SimError
from sim.policies import POLICIES, execute_static, heft, priority_key
from sim.results import NOT_RUN, Bounds, MonteCarlo, Result, RunFigures, compute_bounds
from sim.specialise import specialise

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_ATTEMPTS = 10_000
"""An attempt count drawn above this (an almost-always-failing task with unlimited retries) is an error."""


@dataclass(frozen=True, eq=False)
class Workload:
    """A DAG of ``n`` tasks to simulate.

    ``kind[i]`` indexes ``kinds`` (templates, WfFormat categories, ...), which carry the duration
    distribution, failure probability and retry strategy.  ``request`` is ``(n, 3)``: cpu, memory
    (bytes), gpu.  ``recorded`` is a duration per task (NaN where unknown) for ``Recorded`` kinds.
    ``transfer`` is per CSR edge (aligned with ``plan.indices``): seconds, or bytes when
    ``transfer_bytes`` (divided by the cluster's bandwidth).  ``cost`` (``(n, nodes)``) replaces
    duration and speed for cost tables: task ``i`` takes ``cost[i, j]`` on node ``j``.  ``fails``
    fixes how many attempts of each task fail before one succeeds (as recorded), instead of drawing
    that from ``fail_prob``.
    """

    plan: Plan
    kind: npt.NDArray[np.int32]
    kinds: tuple[str, ...]
    durations: tuple[Distribution, ...]
    request: FloatArray
    fail_prob: FloatArray | None = None
    retry: tuple[RetryStrategy | None, ...] | None = None
    recorded: FloatArray | None = None
    transfer: FloatArray | None = None
    transfer_bytes: bool = False
    cost: FloatArray | None = None
    fails: IntArray | None = None
    names: list[str] | None = None
    title: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.plan.n

    def expected(self) -> FloatArray:
        """Each task's expected duration (the mean of its distribution, or what was recorded)."""
        means = np.array([d.mean() for d in self.durations], dtype=np.float64)
        out = means[self.kind] if self.n else np.zeros(0)
        if self.recorded is not None:
            rec = np.array([isinstance(d, Recorded) for d in self.durations])[self.kind]
            out = np.where(rec & ~np.isnan(self.recorded), self.recorded, out)
        return out


@dataclass(eq=False)
class _Draws:
    """One run's random draws, flat per attempt: task ``i``'s attempts are ``ptr[i]..ptr[i]+slots-1``,
    the first ``fails[i]`` of them fail."""

    ptr: IntArray
    fails: IntArray
    dur: FloatArray
    startup: FloatArray | None
    startup0: float


@dataclass(eq=False)
class _Raw:
    ready: FloatArray
    placed: FloatArray
    start: FloatArray
    end: FloatArray
    node: npt.NDArray[np.int32]
    status: npt.NDArray[np.int8]
    cur: IntArray
    retried: dict[int, list[float]]
    events: int
    rated: FloatArray  # per task: seconds its submissions waited for the API rate


@dataclass(frozen=True, slots=True)
class _Flags:
    """The features a run uses: :meth:`Simulator._loop` is compiled once per combination."""

    fifo: bool  # first in first out (no priority key)
    levels: bool  # level barriers
    queue: bool  # the engine's queue: a parallelism cap or an API rate
    rate: bool  # an API rate (timers for held-back submissions)
    fails: bool  # some attempts fail (retries, back-off timers, fail-fast)
    slots: bool  # one request shape, first-fit: free-slot counters instead of the placer
    best: bool  # best-fit placement
    spread: bool  # start-up drawn per attempt (else one fixed value)
    transfer: bool  # inputs from other nodes take time to arrive
    factor: bool  # nodes differ in speed
    ratio: bool  # a cost table: task i takes cost[i, j] on node j
    cpu: bool  # with the placer: the resources that can keep a pod off a node (the others never do)
    memory: bool
    gpu: bool
    pods: bool

    @property
    def direct(self) -> bool:
        """Nothing between ready and pending: no failure can stop the run, no engine queue, no
        priorities, no barriers, no placer."""
        return self.fifo and self.slots and not (self.queue or self.fails or self.levels)

    @property
    def timers(self) -> bool:
        """Events other than ends: codes carry a kind (``task << 2 | kind``)."""
        return self.rate or self.fails


class Simulator:
    """A workload on a cluster under a policy, prepared once and run for any number of seeds.

    >>> import numpy as np
    >>> from kjob.plan import plan_edges
    >>> from sim.durations import Fixed
    >>> w = Workload(plan_edges(3, [0, 0], [1, 2]), np.zeros(3, np.int32), ("t",), (Fixed(10.0),),
    ...              np.ones((3, 3)))
    >>> Simulator(w, Cluster.slots(1)).run().makespan
    30.0
    """

    def __init__(
        self,
        workload: Workload,
        cluster: Cluster,
        *,
        policy: str = "eager",
        parallelism: int | None = None,
        fail_fast: bool = True,
        run_delay: float = 0.0,
    ) -> None:
        if policy not in POLICIES:
            raise SimError(f"unknown policy '{policy}'", hint=f"use one of: {', '.join(POLICIES)}")
        if parallelism is not None and parallelism < 1:
            raise SimError(f"parallelism must be at least 1, not {parallelism}")
        self.workload = workload
        self.cluster = cluster
        self.policy = policy
        self.parallelism = parallelism
        self.fail_fast = fail_fast
        self.run_delay = run_delay  # kjob's own start before the first task can be submitted
        self.force_general = False  # tests set it to run the loop as written, not specialised
        w = workload
        n = w.n
        self.nodes = cluster.nodes() if not cluster.unlimited else None
        if w.cost is not None and (self.nodes is None or w.cost.shape != (n, self.nodes.count)):
            raise SimError("a cost table needs its own processors as the cluster (one node per column)")
        plan = w.plan
        self._indptr: list[int] = plan.indptr.tolist()
        self._indices: list[int] = plan.indices.tolist()
        self._indeg: list[int] = plan.indegree.tolist()
        self._expected = w.expected()
        self._key = priority_key(policy, plan, self._expected + cluster.startup.mean())
        levels = policy == "levels"
        self._level: list[int] = plan.level.tolist() if levels else []
        self._order: list[int] = plan.order.tolist() if levels else []
        self._lptr: list[int] = plan.level_ptr.tolist() if levels else []
        self._left: list[int] = np.diff(plan.level_ptr).tolist() if levels else []
        fail = w.fail_prob if w.fail_prob is not None else np.zeros(len(w.kinds))
        self._fail_task = fail[w.kind] if n else np.zeros(0)
        retry = w.retry or (None,) * len(w.kinds)
        self._retry = list(retry)
        self._limit = np.array(
            [(-1 if s is None else (s.limit if s.limit is not None else MAX_ATTEMPTS)) for s in retry],
            dtype=np.int64,
        )
        self._prepare_transfer()
        self._prepare_cluster()

    def with_workload(self, workload: Workload) -> Simulator:
        """A simulator of ``workload`` on this cluster, policy and parallelism."""
        return Simulator(
            workload,
            self.cluster,
            policy=self.policy,
            parallelism=self.parallelism,
            fail_fast=self.fail_fast,
            run_delay=self.run_delay,
        )

    # ---------------------------------------------------------------------------------- preparing
    def _prepare_transfer(self) -> None:
        w = self.workload
        seconds: FloatArray | None = None
        if w.transfer is not None:
            if not w.transfer_bytes:
                seconds = w.transfer
            elif self.cluster.bandwidth is not None:
                seconds = w.transfer / self.cluster.bandwidth
        if seconds is not None and (self.nodes is None or self.nodes.count < 2 or not seconds.any()):
            seconds = None
        self.transfer = seconds
        self._pptr: list[int] | None = None
        if seconds is None:
            return
        n = w.n
        indices = w.plan.indices.astype(np.int64)
        src = np.repeat(np.arange(n, dtype=np.int64), w.plan.outdegree)
        by_dst = np.argsort(indices, kind="stable")
        pptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(indices, minlength=n), out=pptr[1:])
        self._pptr = pptr.tolist()
        self._pidx: list[int] = src[by_dst].tolist()
        self._pcost: list[float] = seconds[by_dst].tolist()

    def _prepare_cluster(self) -> None:
        w = self.workload
        n = w.n
        req = np.zeros((n, 4), dtype=np.float64)
        req[:, :3] = w.request
        req[:, 3] = 1.0  # one pod
        if n and (req[:, :3] == req[0, :3]).all():
            classes, cls = req[:1], np.zeros(n, dtype=np.int64)
        elif n:  # the distinct rows in order, as np.unique(axis=0) gives them, 15x faster
            order = np.lexsort(req.T[::-1])
            ordered = req[order]
            new = np.empty(n, dtype=bool)
            new[0] = True
            np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
            classes, cls = ordered[new], np.empty(n, dtype=np.int64)
            cls[order] = np.cumsum(new) - 1
        else:
            classes, cls = np.zeros((0, 4)), np.zeros(0, dtype=np.int64)
        self._classes = classes
        self._cls = cls
        nodes = self.nodes
        self.slots: float | None = math.inf  # identical slots for Graham's bound, None if not
        self._why_not = ""
        self._factor: list[float] | None = None
        self._ratio: list[list[float]] | None = None
        self._slot_counts: list[int] = []
        self._binds: tuple[bool, ...] = (False,) * 4
        if nodes is None:
            self._mode = "slots"
            self._slot_counts = [n + 1]
            return
        per_class = [nodes.slots_for(c) for c in classes]
        for c, slots in enumerate(per_class):
            if not slots.any():
                i = int(np.flatnonzero(cls == c)[0])
                name = w.names[i] if w.names else f"task {i}"
                need = ", ".join(
                    f"{r} {v:g}" for r, v in zip(("cpu", "memory", "gpu"), classes[c][:3], strict=True) if v
                )
                raise SimError(
                    f"{name} requests {need or 'nothing'}, more than any node has",
                    hint="add a bigger node pool (--cluster) or lower the task's requests",
                )
        if w.cost is not None:
            mean = w.cost.mean(axis=1, keepdims=True)
            self._ratio = np.divide(w.cost, mean, out=np.ones_like(w.cost), where=mean > 0).tolist()
        elif (nodes.speed != 1).any():
            self._factor = (1.0 / nodes.speed).tolist()
        if len(classes) == 1 and self.cluster.placement == "first-fit":
            self._mode = "slots"
            self._slot_counts = per_class[0].tolist()
        else:
            self._mode = "placer"
            self._binds = binding(nodes.capacity, classes)
        if len(classes) != 1:
            self.slots, self._why_not = None, "tasks have several request shapes (no identical slots)"
        elif w.cost is not None or self._factor is not None:
            self.slots, self._why_not = None, "nodes differ in speed (no identical slots)"
        elif self.transfer is not None:
            self.slots, self._why_not = None, "transfer costs between nodes"
        else:
            self.slots = float(per_class[0].sum())

    # ---------------------------------------------------------------------------------------- run
    def run(self, seed: int = 0) -> Result:
        """One run with this seed (the same seed gives the same result)."""
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        draws = self._draw(rng)
        if self.policy == "heft":
            result = self._run_heft(draws, seed)
        else:
            gc_was_on = gc.isenabled()
            gc.disable()  # the loop allocates millions of short-lived tuples and creates no cycles
            try:
                raw = self._prepared_loop(draws)()
            finally:
                if gc_was_on:
                    gc.enable()
            result = self._result(raw, draws, seed)
        return result.delayed(self.run_delay) if self.run_delay else result

    def monte_carlo(
        self,
        runs: int,
        seed: int = 0,
        *,
        each: Callable[[], None] | None = None,
        workload_for: Callable[[int], Workload] | None = None,
    ) -> MonteCarlo:
        """``runs`` runs with seeds ``seed, seed + 1, ...``: the figures of each.  ``each`` is called
        after every run (a progress bar counts them).  ``workload_for(seed)``, if given, is the
        workload of that run (one whose branches are drawn per run) on this cluster and policy."""
        if runs < 1:
            raise SimError(f"--runs must be at least 1, not {runs}")
        figures: list[RunFigures] = []
        first: Result | None = None
        for r in range(runs):  # each run's figures are kept, not its per-task arrays (but the first's)
            sim = self if workload_for is None else self.with_workload(workload_for(seed + r))
            result = sim.run(seed + r)
            first = first or result
            figures.append(RunFigures.of(result))
            if each is not None:
                each()
        assert first is not None
        return MonteCarlo(tuple(figures), first)

    def _draw(self, rng: np.random.Generator) -> _Draws:
        w = self.workload
        n = w.n
        p = self._fail_task
        fails = np.zeros(n, dtype=np.int64)
        risky = np.flatnonzero(p > 0) if w.fails is None else np.zeros(0, dtype=np.int64)
        if w.fails is not None:
            fails = np.minimum(np.asarray(w.fails, dtype=np.int64), MAX_ATTEMPTS - 1)
        if risky.size:
            pr = p[risky]
            if (pr >= 1).any():
                limit = self._limit[w.kind[risky]]
                if ((pr >= 1) & (limit >= MAX_ATTEMPTS)).any():
                    raise SimError(
                        "a task that always fails is retried without limit",
                        hint="give retryStrategy a limit, or a failure probability below 1",
                    )
            # failures before the first success: geometric; certain failure never succeeds
            fails[risky] = np.where(pr >= 1, MAX_ATTEMPTS, rng.geometric(np.where(pr >= 1, 1.0, 1 - pr)) - 1)
        limit = self._limit[w.kind] if n else np.zeros(0, dtype=np.int64)
        extra = np.minimum(fails, np.maximum(limit, 0))
        if int(extra.max(initial=0)) >= MAX_ATTEMPTS:
            raise SimError(
                f"a task drew more than {MAX_ATTEMPTS} attempts", hint="lower the failure probability"
            )
        fails = np.minimum(fails, extra + 1)  # at most every attempt fails
        slots = extra + 1
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(slots, out=ptr[1:])
        task = np.repeat(np.arange(n, dtype=np.int64), slots)
        dur = draw(w.durations, w.kind, w.recorded, task, rng)
        startup = self.cluster.startup
        if isinstance(startup, Fixed):
            return _Draws(ptr, fails, dur, None, startup.value)
        return _Draws(ptr, fails, dur, np.maximum(startup.sample(rng, task.size), 0.0), 0.0)

    def _flags(self, d: _Draws) -> _Flags:
        return _Flags(
            fifo=self._key is None,
            levels=self.policy == "levels",
            queue=self.parallelism is not None or self.cluster.qps is not None,
            rate=bool(self.cluster.qps),
            fails=bool(d.fails.any()),
            slots=self._mode == "slots",
            best=self._mode != "slots" and self.cluster.placement == "best-fit",
            spread=d.startup is not None,
            transfer=self._pptr is not None,
            factor=self._factor is not None,
            ratio=self._ratio is not None,
            cpu=self._binds[0],
            memory=self._binds[1],
            gpu=self._binds[2],
            pods=self._binds[3],
        )

    def _prepared_loop(self, d: _Draws) -> Callable[[], _Raw]:
        """The event loop for these draws, specialised to the features they use (see :meth:`_loop`)."""
        on = self._flags(d)
        loop = Simulator._loop if self.force_general else specialise(Simulator._loop, on)
        return lambda: loop(self, d, on)

    def _loop(self, d: _Draws, on: _Flags) -> _Raw:
        """Run every event (see the module doc).  Each feature is behind a test of ``on``, which
        :func:`sim.specialise.specialise` takes out for the run at hand: keep those tests to the
        forms it folds (``if on.x``, ``a if on.x else b``, ``on.x and ...``, ``not on.x``)."""
        w = self.workload
        n = w.n
        nan = math.nan
        # -- static structure (plain lists: indexing them is several times faster than numpy's)
        indptr, indices = self._indptr, self._indices
        indeg = self._indeg[:]
        key: list[float] = self._key or []
        limit = self.parallelism if self.parallelism is not None else n + 1
        interval = 1.0 / self.cluster.qps if self.cluster.qps else 0.0
        tau = (self.cluster.burst - 1) * interval
        tat = 0.0  # the token bucket as GCRA: theoretical arrival time of the next request
        # -- draws
        dur: list[float] = d.dur.tolist()
        stu: list[float] = d.startup.tolist() if d.startup is not None else []
        stu0 = d.startup0
        ptr: list[int] = d.ptr.tolist() if on.fails else []
        cur: list[int] = ptr[:-1]  # each task's current attempt
        fail_upto: list[int] = (d.ptr[:-1] + d.fails).tolist() if on.fails else []
        strategies, kind = self._retry, w.kind
        # -- cluster
        slot_free = self._slot_counts[:]
        fit = [j for j, s in enumerate(slot_free) if s > 0]
        heapify(fit)
        if not on.slots:
            assert self.nodes is not None
            placer = Placer(self.nodes, self._classes, self.cluster.placement)
            place, give = placer.place, placer.give
            fcpu, fmem, fgpu, fpods = placer.cpu, placer.mem, placer.gpu, placer.pods
            freq, fheaps, fmember = placer.req, placer.heaps, placer.member
        cls: list[int] = self._cls.tolist() if not on.slots else []
        nclasses = len(self._classes)
        factor: list[float] = self._factor or []
        ratio: list[list[float]] = self._ratio or []
        pptr: list[int] = self._pptr or []
        pidx: list[int] = self._pidx if on.transfer else []
        pcost: list[float] = self._pcost if on.transfer else []
        # -- outputs (array.array: compact, and numpy reads them without a copy)
        qt = array("d", [nan]) * n  # when the current attempt was queued
        pl = array("d", [nan]) * n  # when it got a node
        start = array("d", [nan]) * (n if on.transfer else 0)  # else placed + start-up, afterwards
        end = array("d", [nan]) * n
        node = array("i", [-1]) * n
        failed: list[int] = []
        rated = array("d", [0.0]) * (n if on.rate else 0)  # how long the API rate held each task back
        retried: dict[int, list[float]] = {}  # first start, first ready, wait, busy, back-off, dropped
        # -- queues
        rq: Any = deque() if on.fifo else []  # the engine's queue (with parallelism or an API rate)
        pend: Any = deque() if on.fifo else []  # pods waiting for a slot
        pends: list[list[tuple[float, int, int]]] = [[] for _ in range(nclasses)]  # ... per shape
        npend = 0  # pods in ``pends``
        dirty = False  # whether something was freed or queued since the pending pods last looked
        shapes = range(nclasses)
        live: list[int] = []
        seq = 0
        running = 0
        stopping = False
        heap: list[tuple[float, int, int]] = []
        eid = 0  # the event sequence number
        extra_events = 0
        level, order, lptr, left = self._level, self._order, self._lptr, self._left[:]
        nlev = len(lptr) - 1
        cur_lvl = 0
        dead = bytearray(n if on.levels else 0)
        newly = order[: lptr[1]] if on.levels and nlev else [i for i in range(n) if not indeg[i]]
        arrived: list[int] = []
        late: list[int] = []  # retries due now: queued after everything else of the instant
        t = 0.0

        if on.fails:

            def finally_failed(i: int, t: float) -> None:
                nonlocal stopping, cur_lvl
                failed.append(i)
                end[i] = t
                if self.fail_fast:
                    stopping = True
                if on.levels:
                    # the failed task and everything downstream of it count as done for the barriers
                    left[level[i]] -= 1
                    stack = [i]
                    while stack:
                        u = stack.pop()
                        for s in indices[indptr[u] : indptr[u + 1]]:
                            if not dead[s]:
                                dead[s] = 1
                                left[level[s]] -= 1
                                stack.append(s)
                    while cur_lvl + 1 < nlev and not left[cur_lvl]:
                        cur_lvl += 1
                        newly.extend(x for x in order[lptr[cur_lvl] : lptr[cur_lvl + 1]] if not dead[x])

        while True:
            # 1. queue what became ready at t, oldest first
            if on.fails and late:
                newly += late
                late = []
            if newly:
                if on.fails and stopping:
                    for i in newly:
                        if i in retried:  # a retry that was due: it fails without running again
                            retried[i][5] = 1.0
                            pl[i] = nan
                            finally_failed(i, t)
                else:
                    for i in newly:
                        qt[i] = t
                    if not on.queue:
                        arrived = newly  # nothing else arrives without the engine's queue
                    elif on.fifo:
                        rq.extend(newly)
                    else:
                        for i in newly:
                            heappush(rq, (key[i], seq, i))
                            seq += 1
                newly = []
            # 2. the engine submits while parallelism allows; the API rate may delay a submission
            if on.queue and rq:
                if on.fails and stopping:
                    for i in rq if on.fifo else (e[2] for e in rq):
                        if i in retried:
                            retried[i][5] = 1.0
                            pl[i] = nan
                            finally_failed(i, t)
                    rq.clear()
                while rq and running < limit:
                    i = rq.popleft() if on.fifo else heappop(rq)[2]
                    running += 1
                    if on.rate:
                        s = tat - tau
                        if s <= t:
                            s = t
                        tat = (tat if tat > s else s) + interval
                        if s > t:
                            rated[i] += s - t
                            extra_events += 1
                            heappush(heap, (s, eid, i << 2 | 1))
                            eid += 1
                            continue
                    arrived.append(i)
            # 3. pods reach the scheduler and wait in order (priority key, then arrival)
            if arrived:
                if on.slots:
                    if on.fifo:
                        pend += arrived
                    else:
                        for i in arrived:
                            heappush(pend, (key[i], seq, i))
                            seq += 1
                    arrived = []
                elif npend:
                    for i in arrived:
                        heappush(pends[cls[i]], (0.0 if on.fifo else key[i], seq, i))
                        seq += 1
                    npend += len(arrived)
                    dirty = True
                    arrived = []
                else:  # nothing waits ahead of them: step 4 tries them first, in order
                    if not on.fifo and len(arrived) > 1:
                        arrived.sort(key=key.__getitem__)  # stable: ties keep their order
                    arrived.reverse()
            # 4. the scheduler places the first pending pod that fits, then the next: a shape whose
            # first pod fits nowhere waits for the next instant (nothing is freed meanwhile)
            if not on.slots and npend and dirty:
                dirty = False
                live = list(filter(pends.__getitem__, shapes))  # shapes with pods waiting, not blocked
            while True:
                if on.slots:
                    if not pend or not fit:
                        break
                    i = pend.popleft() if on.fifo else heappop(pend)[2]
                    j = fit[0]  # the lowest-numbered node with a free slot
                    c = slot_free[j] - 1
                    slot_free[j] = c
                    if not c:
                        heappop(fit)
                else:
                    if arrived:  # straight onto a node, if one fits
                        c = cls[arrived[-1]]
                    elif live:
                        c = live[0]
                        if len(live) > 1:
                            for b in live:
                                if pends[b][0] < pends[c][0]:
                                    c = b
                    else:
                        break
                    if on.best:
                        j = place(c)
                    else:  # first-fit, inline: the lowest-numbered node in the shape's heap that fits
                        rc, rm, rg = freq[c]
                        h = fheaps[c]
                        while h:
                            j = h[0]
                            if (
                                (not on.cpu or fcpu[j] >= rc)
                                and (not on.memory or fmem[j] >= rm)
                                and (not on.gpu or fgpu[j] >= rg)
                                and (not on.pods or fpods[j] > 0)
                            ):
                                if on.cpu:
                                    fcpu[j] -= rc
                                if on.memory:
                                    fmem[j] -= rm
                                if on.gpu:
                                    fgpu[j] -= rg
                                if on.pods:
                                    fpods[j] -= 1
                                break
                            heappop(h)  # a node it no longer fits: out of the heap until freed
                            fmember[c][j] = False
                        else:
                            j = -1
                    if j < 0:
                        if arrived:  # it waits, and so does every pod after it
                            for i in reversed(arrived):
                                heappush(pends[cls[i]], (0.0 if on.fifo else key[i], seq, i))
                                seq += 1
                            npend += len(arrived)
                            arrived = []
                            dirty = False
                            live = list(filter(pends.__getitem__, shapes))
                        live.remove(c)
                        continue
                    if arrived:
                        i = arrived.pop()
                    else:
                        i = heappop(pends[c])[2]
                        npend -= 1
                        if not pends[c]:
                            live.remove(c)
                # the pod starts after its start-up and once its inputs are in; its end is an event
                k = cur[i] if on.fails else i
                s = t + (stu[k] if on.spread else stu0)
                if on.transfer:
                    for q in range(pptr[i], pptr[i + 1]):
                        u = pidx[q]
                        if node[u] != j:
                            a = end[u] + pcost[q]
                            if a > s:
                                s = a
                    start[i] = s
                pl[i] = t
                node[i] = j
                if on.ratio:
                    f = s + dur[k] * ratio[i][j]
                elif on.factor:
                    f = s + dur[k] * factor[j]
                else:
                    f = s + dur[k]
                heappush(heap, (f, eid, i << 2 if on.timers else i))
                eid += 1
            # 5. the next instant: apply every event due then
            if not heap:
                break
            t, _, code = heappop(heap)
            while True:
                i = code >> 2 if on.timers else code
                if not on.timers or not code & 3:  # an attempt ended: free its node, then go on
                    j = node[i]
                    if on.slots:
                        c = slot_free[j]
                        slot_free[j] = c + 1
                        if not c:
                            heappush(fit, j)
                    elif on.best:
                        give(j, cls[i])
                        dirty = True
                    else:  # first-fit's give, inline: free the node, and offer it to every shape again
                        rc, rm, rg = freq[cls[i]]
                        if on.cpu:
                            fcpu[j] += rc
                        if on.memory:
                            fmem[j] += rm
                        if on.gpu:
                            fgpu[j] += rg
                        if on.pods:
                            fpods[j] += 1
                        dirty = True
                        for c in shapes:
                            if not fmember[c][j]:
                                rc, rm, rg = freq[c]
                                if (
                                    (not on.cpu or fcpu[j] >= rc)
                                    and (not on.memory or fmem[j] >= rm)
                                    and (not on.gpu or fgpu[j] >= rg)
                                ):
                                    heappush(fheaps[c], j)
                                    fmember[c][j] = True
                    if on.queue:
                        running -= 1
                    if on.fails and cur[i] < fail_upto[i]:  # it failed: retry, or fail for good
                        info = retried.get(i)
                        if info is None:
                            first = start[i] if on.transfer else pl[i] + (stu[cur[i]] if on.spread else stu0)
                            info = retried[i] = [first, qt[i], 0.0, 0.0, 0.0, 0.0]
                        info[2] += pl[i] - qt[i]
                        info[3] += t - pl[i]
                        decision = decide_retry(
                            strategies[kind[i]],
                            phase=AttemptPhase.FAILED,
                            transient=False,
                            attempts_done=cur[i] - ptr[i] + 1,
                            first_started_at=info[0],
                            finished_at=t,
                        )
                        at = decision.at
                        if at is None or stopping:
                            finally_failed(i, t)
                        else:
                            cur[i] += 1
                            info[4] += at - t
                            if at <= t:
                                late.append(i)
                            else:
                                extra_events += 1
                                heappush(heap, (at, eid, i << 2 | 2))
                                eid += 1
                    else:  # it succeeded: what it completes is ready
                        end[i] = t
                        if on.levels:
                            left[level[i]] -= 1
                            while cur_lvl + 1 < nlev and not left[cur_lvl]:
                                cur_lvl += 1
                                newly.extend(
                                    x for x in order[lptr[cur_lvl] : lptr[cur_lvl + 1]] if not dead[x]
                                )
                        else:
                            for s in indices[indptr[i] : indptr[i + 1]]:
                                c = indeg[s] - 1
                                indeg[s] = c
                                if not c:
                                    if on.direct:  # what steps 1 to 3 would do, sooner
                                        qt[s] = t
                                        pend.append(s)
                                    else:
                                        newly.append(s)
                elif code & 3 == 1:  # a delayed submission reaches the scheduler
                    arrived.append(i)
                else:  # a retry's back-off is over
                    late.append(i)
                if heap and heap[0][0] == t:
                    code = heappop(heap)[2]
                else:
                    break
        if pend or any(pends) or rq:
            raise SimError("internal error: the simulation ended with tasks still queued")
        placed = np.frombuffer(pl, dtype=np.float64)
        attempt = np.asarray(cur, dtype=np.int64) if on.fails else np.arange(n, dtype=np.int64)
        ends = np.frombuffer(end, dtype=np.float64)
        status = np.where(np.isnan(ends), NOT_RUN, 0).astype(np.int8)
        status[failed] = 1
        return _Raw(
            ready=np.frombuffer(qt, dtype=np.float64),
            placed=placed,
            start=np.frombuffer(start, dtype=np.float64)
            if on.transfer
            else placed + (d.startup[attempt] if d.startup is not None else stu0),
            end=ends,
            node=np.frombuffer(node, dtype=np.int32),
            status=status,
            cur=attempt,
            retried=retried,
            events=extra_events,
            rated=np.frombuffer(rated, dtype=np.float64) if on.rate else np.zeros(n),
        )

    # ------------------------------------------------------------------------------------ results
    def _result(self, raw: _Raw, d: _Draws, seed: int) -> Result:
        w = self.workload
        n = w.n
        ran = raw.status != NOT_RUN
        attempts = np.where(ran, raw.cur - d.ptr[:-1] + 1, 0)
        ready = raw.ready.copy()
        start = raw.start.copy()
        wait = raw.placed - raw.ready  # the last attempt's (NaN if it never got a node)
        busy = raw.end - raw.placed
        delay = np.zeros(n)
        for i, (first_start, first_ready, w_extra, b_extra, back, dropped) in raw.retried.items():
            start[i] = first_start
            ready[i] = first_ready
            wait[i] = (0.0 if np.isnan(wait[i]) else wait[i]) + w_extra
            busy[i] = (0.0 if np.isnan(busy[i]) else busy[i]) + b_extra
            delay[i] = back
            attempts[i] -= int(dropped)
        work = self._work(attempts, d)
        bounds = self._bounds(work, delay, int(attempts.sum()))
        makespan = float(np.nanmax(raw.end)) if ran.any() else 0.0
        arrival = np.zeros(n)
        if self._pptr is not None:  # the last attempt's start past its start-up: inputs arriving
            last_startup = d.startup[raw.cur] if d.startup is not None else d.startup0
            arrival = np.where(ran, np.maximum(0.0, raw.start - raw.placed - last_startup), 0.0)
        events = raw.events + 3 * int(attempts.sum())  # per attempt: queued, placed, ended
        return Result(
            makespan=makespan,
            bounds=bounds,
            ready=ready,
            start=start,
            end=raw.end.copy(),
            node=raw.node.astype(np.int64),
            attempts=attempts.astype(np.int64),
            wait=np.where(ran, wait, np.nan),
            busy=np.where(ran, busy, np.nan),
            status=raw.status.copy(),
            level=w.plan.level.astype(np.int64),
            utilisation=self._utilisation(busy, makespan),
            events=events,
            policy=self.policy,
            seed=seed,
            info={"cluster": self.cluster.describe()},
            rate_wait=np.where(ran, raw.rated, 0.0),
            transfer_wait=arrival,
        )

    def _work(self, attempts: IntArray, d: _Draws) -> FloatArray:
        """Per task: start-up plus run time of every attempt made, at the fastest speed it could get."""
        n = self.workload.n
        total = d.ptr[-1]
        if total == 0:
            return np.zeros(n)
        task = np.repeat(np.arange(n), np.diff(d.ptr))
        made = (np.arange(total) - d.ptr[:-1][task]) < attempts[task]
        per = d.dur.copy()
        if self._ratio is not None:
            per *= np.asarray(self._ratio).min(axis=1)[task]
        elif self._factor is not None:
            per *= min(self._factor)
        per += d.startup if d.startup is not None else d.startup0
        return np.asarray(np.bincount(task[made], weights=per[made], minlength=n), dtype=np.float64)

    def _bounds(self, work: FloatArray, delay: FloatArray, attempts: int) -> Bounds:
        w = self.workload
        demand = np.zeros((w.n, 4))
        demand[:, :3] = w.request
        demand[:, 3] = 1.0
        capacity = self.nodes.capacity.sum(axis=0) if self.nodes is not None else np.full(4, math.inf)
        return compute_bounds(
            w.plan,
            work=work,
            delay=delay,
            demand=demand,
            capacity=capacity,
            slots=self.slots if self.policy != "heft" else None,
            parallelism=self.parallelism,
            attempts=attempts,
            qps=self.cluster.qps,
            burst=self.cluster.burst,
            levels=self.policy == "levels",
            no_graham=self._why_not
            if self.policy != "heft"
            else "HEFT is a static plan, not list scheduling",
        )

    def _utilisation(self, busy: FloatArray, makespan: float) -> dict[str, float]:
        out: dict[str, float] = {}
        if makespan <= 0:
            return out
        held = np.nan_to_num(busy)
        w = self.workload
        if self.nodes is not None:
            cap = self.nodes.capacity.sum(axis=0)
            for r, name in enumerate(("cpu", "memory", "gpu")):
                if math.isfinite(cap[r]) and cap[r] > 0 and w.request[:, r].any():
                    out[name] = float(held @ w.request[:, r] / (cap[r] * makespan))
        m = self.slots
        if self.parallelism is not None:
            m = min(m, self.parallelism) if m is not None else None
        if m is not None and math.isfinite(m):
            out["slots"] = float(held.sum() / (m * makespan))
        return out

    # --------------------------------------------------------------------------------------- HEFT
    def _run_heft(self, d: _Draws, seed: int) -> Result:
        w = self.workload
        n = w.n
        if d.fails.any():
            raise SimError("the heft policy does not model failures and retries", hint="drop --fail-prob")
        if self.nodes is None:
            raise SimError("the heft policy needs a cluster", hint="give --cluster, --nodes or --slots")
        if w.cost is not None:
            cost, proc_node = w.cost, np.arange(self.nodes.count)
        else:
            if len(self._classes) != 1:
                raise SimError("the heft policy needs every task to request the same resources")
            slots = np.minimum(self.nodes.slots_for(self._classes[0]), n)
            proc_node = np.repeat(np.arange(self.nodes.count), slots)
            if proc_node.size * n > 50_000_000:
                raise SimError(
                    f"heft on {n} tasks x {proc_node.size} slots is too large (it is O(tasks x slots))",
                    hint="use --policy critical-path for large DAGs",
                )
            cost = self._expected[:, None] / self.nodes.speed[proc_node][None, :]
        schedule = heft(w.plan, cost, proc_node, self.transfer)
        proc = schedule.processor
        mean = cost.mean(axis=1)
        scale = np.divide(cost[np.arange(n), proc], mean, out=np.ones(n), where=mean > 0)
        actual = d.dur[d.ptr[:-1]] * scale
        startup = d.startup[d.ptr[:-1]] if d.startup is not None else np.full(n, d.startup0)
        start, end = execute_static(schedule, w.plan, actual, proc_node, self.transfer, startup)
        node = proc_node[proc].astype(np.int64)
        work = self._work(np.ones(n, dtype=np.int64), d)
        bounds = self._bounds(work, np.zeros(n), n)
        busy = end - start + startup
        makespan = float(end.max()) if n else 0.0
        return Result(
            makespan=makespan,
            bounds=bounds,
            ready=start - startup,
            start=start,
            end=end,
            node=node,
            attempts=np.ones(n, dtype=np.int64),
            wait=np.zeros(n),
            busy=busy,
            status=np.zeros(n, dtype=np.int8),
            level=w.plan.level.astype(np.int64),
            utilisation=self._utilisation(busy, makespan),
            events=2 * n,
            policy=self.policy,
            seed=seed,
            info={"cluster": self.cluster.describe(), "heft_planned_makespan": schedule.makespan},
        )


def simulate(
    workload: Workload,
    cluster: Cluster,
    *,
    policy: str = "eager",
    parallelism: int | None = None,
    seed: int = 0,
    fail_fast: bool = True,
) -> Result:
    """Simulate ``workload`` on ``cluster`` once (see :class:`Simulator` to run many seeds)."""
    return Simulator(workload, cluster, policy=policy, parallelism=parallelism, fail_fast=fail_fast).run(seed)
