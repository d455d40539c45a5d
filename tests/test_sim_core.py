"""The simulator's core: the engine's dispatch rules exactly, bounds that always hold, placement,
delays, retries, failures, HEFT, determinism."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.retry import backoff_delay
from kjob.plan import plan_edges
from kjob.spec import load_text
from kjob.spec.model import Backoff, RetryPolicy, RetryStrategy
from sim import Cluster, Fixed, LogNormal, Pool, Recorded, SimError, Simulator, Workload, simulate
from sim.policies import upward_rank
from sim.sources import load_source
from tests.conftest import NO_SHARED, SHARED

HEFT = SHARED / "data" / "heft-example.json"


class Flags(NamedTuple):
    a: bool
    b: bool


PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def workload(
    n: int,
    edges: list[tuple[int, int]],
    durations: list[float],
    *,
    request: tuple[float, float, float] = (1.0, 0.0, 0.0),
    fails: list[int] | None = None,
    fail_prob: float = 0.0,
    retry: RetryStrategy | None = None,
    transfer: list[float] | None = None,
) -> Workload:
    src = np.array([a for a, _ in edges], dtype=np.int64)
    dst = np.array([b for _, b in edges], dtype=np.int64)
    plan = plan_edges(n, src, dst)
    cost = None
    if transfer is not None:
        order = np.lexsort((dst, src))
        cost = np.asarray(transfer, dtype=np.float64)[order]
    return Workload(
        plan,
        np.zeros(n, dtype=np.int32),
        ("t",),
        (Recorded(),),
        np.tile(np.asarray(request, dtype=np.float64), (n, 1)),
        recorded=np.asarray(durations, dtype=np.float64),
        fails=np.asarray(fails, dtype=np.int64) if fails is not None else None,
        fail_prob=np.array([fail_prob]),
        retry=(retry,),
        transfer=cost,
        names=[f"t{i}" for i in range(n)],
    )


@st.composite
def dags(draw: st.DrawFn, max_n: int = 14) -> tuple[int, list[tuple[int, int]], list[float]]:
    n = draw(st.integers(1, max_n))
    edges = [(i, j) for j in range(n) for i in range(j) if draw(st.integers(0, 3)) == 0]
    durations = [draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25, 7.0])) for _ in range(n)]
    return n, edges, durations


# ------------------------------------------------------------------------------- engine equivalence
def engine_run(
    n: int,
    edges: list[tuple[int, int]],
    durations: list[float],
    fails: list[int],
    *,
    parallelism: int,
    latency: float,
    retry: str,
) -> dict[str, tuple[str, float | None, float | None, int]]:
    deps = {j: [i for i, k in edges if k == j] for j in range(n)}
    tasks = "\n".join(
        f"      - {{name: t{j}, template: w, dependencies: [{', '.join(f't{i}' for i in deps[j])}]}}"
        for j in range(n)
    )
    text = textwrap.dedent(
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: wf}
        spec:
          entrypoint: main
          templates:
          - name: main
            dag:
              tasks:
        """
    )
    text += (
        tasks + "\n" + f"  - name: w\n    retryStrategy: {retry}\n    container: {{image: a, command: [x]}}\n"
    )
    wf = load_text(text, path="wf.yaml").workflows[0]
    outcomes = {
        f"t{j}": [Outcome(duration=durations[j], exit_code=1)] * fails[j] + [Outcome(duration=durations[j])]
        for j in range(n)
    }
    backend = VirtualBackend(scripted(outcomes), start_latency=latency)  # type: ignore[arg-type]
    result = Engine(wf, backend, run_id="wf", options=EngineOptions(parallelism=parallelism)).run()
    return {
        node.id: (
            node.phase.value,
            node.started_at,
            node.finished_at,
            sum(1 for a in node.attempts if a.started_at is not None),
        )
        for node in result.nodes
        if node.id.startswith("t")
    }


RETRIES = [
    "{limit: 2, retryPolicy: Always, backoff: {duration: '1s', factor: 2}}",
    "{limit: 3, retryPolicy: OnFailure}",
    "{limit: 4, retryPolicy: Always, backoff: {duration: '2s', factor: 3, maxDuration: '9s'}}",
    "{limit: 1, retryPolicy: OnError}",
]


@PROPS
@given(
    dags(),
    st.data(),
    st.integers(1, 4),
    st.sampled_from([0.0, 0.5, 1.25]),
    st.sampled_from(RETRIES),
)
def test_the_simulator_dispatches_exactly_as_the_engine_does(
    dag: tuple[int, list[tuple[int, int]], list[float]],
    data: st.DataObject,
    parallelism: int,
    latency: float,
    retry: str,
) -> None:
    """The same DAG through kjob's engine on its virtual backend and through the simulator: every task
    starts and ends at the same virtual time, with the same attempts, phases and fail-fast stop."""
    n, edges, durations = dag
    fails = [data.draw(st.sampled_from([0, 0, 0, 1, 2, 5])) for _ in range(n)]
    engine = engine_run(n, edges, durations, fails, parallelism=parallelism, latency=latency, retry=retry)
    wf_text_retry = load_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\nspec:\n  entrypoint: w\n"
        f"  templates:\n  - name: w\n    retryStrategy: {retry}\n    container: {{image: a}}\n"
    ).workflows[0]
    strategy = wf_text_retry.templates["w"].retry_strategy
    w = workload(n, edges, durations, fails=fails, retry=strategy)
    result = Simulator(w, Cluster(startup=Fixed(latency)), parallelism=parallelism).run()
    for i in range(n):
        phase, started, finished, attempts = engine[f"t{i}"]
        if not attempts:
            assert result.status[i] == 2 or result.attempts[i] == 0, (i, engine[f"t{i}"])
            continue
        assert result.status[i] == (0 if phase == "Succeeded" else 1), (i, phase)
        assert result.start[i] == pytest.approx(started, abs=1e-9), i
        assert result.end[i] == pytest.approx(finished, abs=1e-9), i
        assert result.attempts[i] == attempts, i


# ------------------------------------------------------------------------------------------ bounds
@PROPS
@given(
    dags(max_n=30),
    st.integers(1, 6),
    st.sampled_from(["eager", "levels", "critical-path", "largest-first"]),
    st.one_of(st.none(), st.integers(1, 6)),
    st.sampled_from([0.0, 0.75]),
    st.one_of(st.none(), st.tuples(st.sampled_from([0.5, 2.0, 10.0]), st.integers(1, 3))),
    st.sampled_from([0.0, 0.3]),
    st.booleans(),
    st.integers(0, 2**16),
)
def test_every_makespan_lies_between_the_lower_bound_and_grahams_bound(
    dag: tuple[int, list[tuple[int, int]], list[float]],
    m: int,
    policy: str,
    parallelism: int | None,
    startup: float,
    api: tuple[float, int] | None,
    fail_prob: float,
    nodes_not_slots: bool,
    seed: int,
) -> None:
    n, edges, durations = dag
    retry = RetryStrategy(limit=2, policy=RetryPolicy.ALWAYS, backoff=Backoff(duration=1.0, factor=2.0))
    w = workload(n, edges, durations, fail_prob=fail_prob, retry=retry)
    kw = {"startup": Fixed(startup)}
    if api is not None:
        kw.update(qps=api[0], burst=api[1])  # type: ignore[dict-item]
    # identical slots either as one node of m pods or as m nodes of 2 cpu for 2-cpu tasks
    if nodes_not_slots:
        w = replace(w, request=np.tile([2.0, 0.0, 0.0], (n, 1)))
        cluster = Cluster.uniform(m, cpu=2.0, **kw)  # type: ignore[arg-type]
    else:
        cluster = Cluster.slots(m, **kw)  # type: ignore[arg-type]
    r = Simulator(w, cluster, policy=policy, parallelism=parallelism, fail_fast=False).run(seed)
    assert r.upper_bound is not None
    assert r.lower_bound <= r.makespan * (1 + 1e-9) + 1e-9
    assert r.makespan <= r.upper_bound * (1 + 1e-9) + 1e-9, (r.makespan, r.upper_bound, r.bounds.note)


@PROPS
@given(
    dags(max_n=30),
    st.integers(1, 5),
    st.sampled_from(["eager", "levels", "critical-path"]),
    st.sampled_from([None, 2]),
    st.sampled_from([None, 0.5]),
    st.sampled_from([0.0, 0.3]),
    st.sampled_from(["slots", "one shape", "shapes", "best-fit"]),
    st.booleans(),
    st.integers(0, 999),
)
def test_the_specialised_loop_and_the_loop_as_written_agree(
    dag: tuple[int, list[tuple[int, int]], list[float]],
    m: int,
    policy: str,
    parallelism: int | None,
    qps: float | None,
    fail: float,
    placement: str,
    spread: bool,
    seed: int,
) -> None:
    n, edges, durations = dag
    retry = RetryStrategy(limit=2, policy=RetryPolicy.ALWAYS, backoff=Backoff(duration=1.0, factor=2.0))
    w = workload(n, edges, durations, fail_prob=fail, retry=retry)
    w = replace(w, durations=(LogNormal(3.0, 0.5),))  # ties from recorded values, spread from draws
    if placement in ("shapes", "best-fit"):
        request = w.request.copy()
        request[::3] = [2.0, 2.0**30, 0.0]
        w = replace(w, request=request)
    startup = LogNormal(1.0, 0.5) if spread else Fixed(1.5)
    kw = {"startup": startup, "qps": qps, "burst": 2}
    if placement == "slots":
        cluster = Cluster.slots(m, **kw)
    else:
        rule = "best-fit" if placement == "best-fit" else "first-fit"
        cluster = Cluster.uniform(m, cpu=2.0, memory=4 * 2.0**30, placement=rule, **kw)
    runs = []
    for as_written in (False, True):
        sim = Simulator(w, cluster, policy=policy, parallelism=parallelism, fail_fast=seed % 2 == 0)
        sim.force_general = as_written
        runs.append(sim.run(seed))
    a, b = runs
    for field in ("ready", "start", "end", "node", "wait", "busy", "status", "attempts"):
        assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field
    assert json.dumps(a.summary()) == json.dumps(b.summary())


def test_specialising_removes_the_branches_of_unused_features() -> None:
    from sim.specialise import specialise

    def f(on: Any, x: int) -> int:
        if on.a and x > 1:
            x += 10
        elif not on.b:
            x += 100
        if x > 0 and on.b:
            x -= 1
        if x > 2 and not on.a and on.b:
            x += 1000
        return x * (2 if on.a else 3) if on.b or x else -1

    for a, b in [(False, False), (False, True), (True, False), (True, True)]:
        on = SimpleNamespace(a=a, b=b)
        g = specialise(f, Flags(a, b))
        assert not {"a", "b"} & set(g.__code__.co_names)  # no flag is looked up any more
        for x in range(-1, 4):
            assert g(None, x) == f(on, x), (a, b, x)
    # the simulator's loop is specialised too (its source is there and is the code that runs)
    d = Simulator(workload(2, [(0, 1)], [1.0, 2.0]), Cluster.slots(1))._draw(np.random.default_rng(0))
    assert Simulator(workload(2, [(0, 1)], [1.0, 2.0]), Cluster.slots(1))._flags(d).direct
    loop = specialise(
        Simulator._loop, Simulator(workload(2, [(0, 1)], [1.0, 2.0]), Cluster.slots(1))._flags(d)
    )
    assert (
        loop is not Simulator._loop and len(loop.__code__.co_code) < len(Simulator._loop.__code__.co_code) / 2
    )


def test_a_source_edited_since_import_is_not_specialised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.specialise import specialise

    module = tmp_path / "edited_module.py"
    module.write_text("def f(on, x):\n    if on.a:\n        x += 1\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import edited_module  # type: ignore[import-not-found]

    assert specialise(edited_module.f, Flags(True, False)) is not edited_module.f
    module.write_text("def f(on, x):\n    if on.a:\n        x += 2\n    return x\n")
    assert specialise(edited_module.f, Flags(False, False)) is edited_module.f  # the code as imported
    assert edited_module.f(Flags(True, False), 1) == 2


def test_a_run_is_determined_by_its_seed() -> None:
    w = load_source("layered:2000").workload
    cluster = Cluster.uniform(8, cpu=4, startup=LogNormal(2.0, 0.5))
    sim = Simulator(w, cluster, policy="critical-path", parallelism=20)
    a, b, c = sim.run(7), sim.run(7), sim.run(8)
    assert json.dumps(a.summary()) == json.dumps(b.summary())
    assert np.array_equal(a.start, b.start)
    assert a.makespan != c.makespan


# --------------------------------------------------------------------------------- hand examples
def test_a_chain_on_one_slot_adds_up_start_up_and_durations() -> None:
    w = workload(3, [(0, 1), (1, 2)], [10.0, 20.0, 30.0])
    r = simulate(w, Cluster.slots(1, startup=Fixed(2.0)))
    assert r.start.tolist() == [2.0, 14.0, 36.0]
    assert r.makespan == 66.0 == r.lower_bound


def test_level_barriers_wait_for_the_whole_level() -> None:
    # a(1) -> c(1); b(10) independent: eagerly c starts at 1, with barriers only at 10
    w = workload(3, [(0, 2)], [1.0, 10.0, 1.0])
    assert simulate(w, Cluster.slots(3)).start[2] == 1.0
    assert simulate(w, Cluster.slots(3), policy="levels").start[2] == 10.0


def test_critical_path_priority_starts_the_longest_remaining_path_first() -> None:
    # one slot; roots 0 (short, leaf) and 1 (short, heads a long chain)
    w = workload(4, [(1, 2), (2, 3)], [1.0, 1.0, 5.0, 5.0])
    eager = simulate(w, Cluster.slots(1))
    cp = simulate(w, Cluster.slots(1), policy="critical-path")
    assert eager.start[0] == 0.0 and eager.start[1] == 1.0
    assert cp.start[1] == 0.0 and cp.start[0] == 11.0
    largest = simulate(
        replace(w, recorded=np.array([1.0, 2.0, 5.0, 5.0])), Cluster.slots(1), policy="largest-first"
    )
    assert largest.start[1] == 0.0


def test_pods_wait_when_nothing_fits_and_big_ones_do_not_block_small_ones() -> None:
    # node: 4 cpu.  task 0 takes 3 cpu for 10s; task 1 needs 4 cpu (waits); task 2 needs 1 cpu (fits)
    w = workload(3, [], [10.0, 1.0, 1.0])
    w = replace(w, request=np.array([[3.0, 0, 0], [4.0, 0, 0], [1.0, 0, 0]]))
    r = simulate(w, Cluster.uniform(1, cpu=4))
    assert r.start.tolist() == [0.0, 10.0, 0.0]
    assert r.wait.tolist() == [0.0, 10.0, 0.0]


@pytest.mark.parametrize(("placement", "node"), [("first-fit", 0), ("best-fit", 1)])
def test_first_fit_takes_the_first_node_best_fit_the_fullest(placement: str, node: int) -> None:
    cluster = Cluster(pools=(Pool("big", 1, cpu=8.0), Pool("small", 1, cpu=2.0)), placement=placement)
    w = workload(1, [], [1.0], request=(2.0, 0.0, 0.0))
    assert simulate(w, cluster).node[0] == node


def test_requests_count_memory_and_gpus_too() -> None:
    w = workload(2, [], [5.0, 5.0], request=(1.0, 3 * 2.0**30, 1.0))
    both = simulate(w, Cluster.uniform(1, cpu=8, memory=8 * 2.0**30, gpu=2))
    assert both.start.tolist() == [0.0, 0.0]
    one_gpu = simulate(w, Cluster.uniform(1, cpu=8, memory=8 * 2.0**30, gpu=1))
    assert one_gpu.start.tolist() == [0.0, 5.0]
    with pytest.raises(SimError, match="more than any node has"):
        simulate(w, Cluster.uniform(4, cpu=8, memory=2 * 2.0**30, gpu=1))


def test_the_api_rate_spaces_out_submissions() -> None:
    w = workload(5, [], [0.0] * 5)
    r = simulate(w, Cluster(qps=2.0, burst=2))
    assert r.start.tolist() == [0.0, 0.0, 0.5, 1.0, 1.5]
    assert r.lower_bound == pytest.approx(1.5)


def test_node_speed_divides_durations() -> None:
    cluster = Cluster(pools=(Pool("fast", 1, cpu=1.0, speed=2.0), Pool("slow", 1, cpu=1.0)))
    r = simulate(workload(2, [], [10.0, 10.0]), cluster)
    assert r.end.tolist() == [5.0, 10.0]
    assert r.upper_bound is None and "speed" in r.bounds.note


def test_transfers_are_paid_between_nodes_only() -> None:
    # 0 -> 2 and 1 -> 2 with 5s transfers; on two nodes 2 waits for the input from the other node
    w = workload(3, [(0, 2), (1, 2)], [1.0, 1.0, 1.0], transfer=[5.0, 5.0])
    r = simulate(w, Cluster.uniform(2, cpu=1))
    assert r.start[2] == 6.0
    assert simulate(w, Cluster.uniform(1, cpu=2)).start[2] == 1.0


def test_retries_follow_the_engines_backoff_schedule() -> None:
    strategy = RetryStrategy(limit=3, policy=RetryPolicy.ALWAYS, backoff=Backoff(duration=10.0, factor=2.0))
    w = workload(1, [], [4.0], fails=[2], retry=strategy)
    r = simulate(w, Cluster.slots(1))
    delays = backoff_delay(strategy.backoff, 0) + backoff_delay(strategy.backoff, 1)
    assert (r.attempts[0], r.status[0]) == (3, 0)
    assert r.end[0] == 3 * 4.0 + delays == 42.0
    assert r.busy[0] == 12.0


def test_max_duration_ends_the_retries() -> None:
    backoff = Backoff(duration=10.0, factor=2.0, max_duration=25.0)
    w = workload(
        1, [], [4.0], fails=[5], retry=RetryStrategy(limit=5, policy=RetryPolicy.ALWAYS, backoff=backoff)
    )
    r = simulate(w, Cluster.slots(1))
    assert (r.attempts[0], r.status[0], r.end[0]) == (2, 1, 18.0)  # a third start at 38 > 0 + 25


def test_a_failure_stops_new_work_unless_fail_fast_is_off() -> None:
    # 0 fails for good at 1; 1 (independent, 5s) waits behind it in the engine's queue
    # (parallelism 1); 2 depends on 0
    w = workload(3, [(0, 2)], [1.0, 5.0, 1.0], fails=[1, 0, 0])
    stopped = simulate(w, Cluster(), parallelism=1)
    assert stopped.status.tolist() == [1, 2, 2]
    going = simulate(w, Cluster(), parallelism=1, fail_fast=False)
    assert going.status.tolist() == [1, 0, 2]
    assert going.makespan == 6.0
    levels = simulate(w, Cluster(), parallelism=1, fail_fast=False, policy="levels")
    assert levels.status.tolist() == [1, 0, 2]
    # a pod already handed to the cluster (waiting for a node, not for the engine) still runs
    assert simulate(w, Cluster.slots(1)).status.tolist() == [1, 0, 2]


def test_failure_probabilities_make_retries() -> None:
    strategy = RetryStrategy(limit=30, policy=RetryPolicy.ALWAYS)
    w = workload(200, [], [1.0] * 200, fail_prob=0.5, retry=strategy)
    r = simulate(w, Cluster.slots(10), seed=3)
    assert 300 < r.attempts.sum() < 500 and (r.status == 0).all()
    with pytest.raises(SimError, match="without limit"):
        simulate(replace(w, retry=(RetryStrategy(limit=None),), fail_prob=np.array([1.0])), Cluster.slots(1))


# -------------------------------------------------------------------------------------------- HEFT
def test_upward_ranks_are_the_longest_remaining_paths() -> None:
    w = workload(4, [(0, 1), (0, 2), (1, 3), (2, 3)], [1.0, 5.0, 2.0, 1.0])
    assert upward_rank(w.plan, w.recorded).tolist() == [7.0, 6.0, 3.0, 1.0]  # type: ignore[arg-type]


def test_heft_reproduces_the_published_schedule() -> None:
    if not HEFT.is_file():
        pytest.skip(NO_SHARED)
    table = json.loads(HEFT.read_text())
    source = load_source(str(HEFT))
    assert source.cluster is not None
    r = simulate(source.workload, source.cluster, policy="heft")
    assert r.makespan == table["heft_makespan"] == 80
    names = source.workload.names
    assert names is not None
    for proc, entries in table["heft_schedule"].items():
        for e in entries:
            i = names.index(str(e["task"]))
            assert source.cluster.nodes().names[r.node[i]] == proc
            assert (r.start[i], r.end[i]) == (e["start"], e["end"])
    ranks = upward_rank(source.workload.plan, source.workload.recorded, source.workload.transfer)  # type: ignore[arg-type]
    for task, rank in table["upward_rank_derived"].items():
        assert ranks[names.index(task)] == pytest.approx(rank, abs=1e-3)
    # the eager list scheduler on the same table (a baseline HEFT should beat)
    assert simulate(source.workload, source.cluster).makespan > 80


def test_heft_on_a_cluster_plans_then_runs_with_drawn_durations() -> None:
    w = load_source("montage-like:200").workload
    cluster = Cluster.uniform(3, cpu=2)
    fixed = Simulator(
        replace(w, durations=tuple(Fixed(d.mean()) for d in w.durations)), cluster, policy="heft"
    )
    r = fixed.run()
    assert r.makespan == pytest.approx(r.info["heft_planned_makespan"])
    assert r.lower_bound <= r.makespan
    drawn = Simulator(w, cluster, policy="heft").run(1)
    assert drawn.makespan != r.makespan
    with pytest.raises(SimError, match="needs a cluster"):
        Simulator(w, Cluster(), policy="heft").run()


def test_the_simulator_never_imports_kubernetes() -> None:
    code = "import sys, sim, sim.plots, sim.scenario; sim.load_source('chain:3'); print('kubernetes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bounds_are_finite_numbers_or_none() -> None:
    r = simulate(load_source("fanout:50").workload, Cluster.uniform(4, cpu=1))
    assert math.isfinite(r.lower_bound) and r.upper_bound is not None and math.isfinite(r.upper_bound)
    assert r.lower_bound <= r.makespan <= r.upper_bound
