"""``synchronization`` and ``memoize`` in the engine, in virtual time: the exact schedule locks give,
what a waiting node shows, and what a cache hit leaves out."""

from __future__ import annotations

from kjob.backends.coordination import Denied, Lock, MemoryLocks, MemoryMemo
from kjob.backends.virtual import Outcome
from tests.test_engine import phases, run, starts, workflow

LOCKED = """\
- name: locked
  synchronization:
    {locks}
  container: {{image: alpine, command: [echo, hi]}}
"""

FOUR = """\
entrypoint: main
templates:
- name: main
  dag:
    tasks:
    - {name: a, template: locked}
    - {name: b, template: locked}
    - {name: c, template: locked}
    - {name: d, template: locked}
"""

DURATIONS = {name: Outcome(duration=2) for name in "abcd"}


def test_a_mutex_runs_its_holders_one_after_another() -> None:
    wf = workflow(FOUR, LOCKED.format(locks="mutexes: [{name: m}]"))
    result, backend = run(wf, DURATIONS)
    assert starts(backend) == [(0.0, "a"), (2.0, "b"), (4.0, "c"), (6.0, "d")]
    assert result.phase.value == "Succeeded"


def test_a_semaphore_runs_as_many_holders_as_its_limit() -> None:
    locks = "semaphores: [{configMapKeyRef: {name: cfg, key: k}}]"
    _, backend = run(workflow(FOUR, LOCKED.format(locks=locks)), DURATIONS, locks=MemoryLocks({"cfg/k": 2}))
    assert starts(backend) == [(0.0, "a"), (0.0, "b"), (2.0, "c"), (2.0, "d")]


def test_mutex_names_render_from_inputs_so_different_names_do_not_wait() -> None:
    wf = workflow(
        """\
entrypoint: main
templates:
- name: main
  steps:
  - - {name: s, template: keyed, arguments: {parameters: [{name: k, value: "{{item}}"}]}, withItems: [x, y, x]}
- name: keyed
  inputs: {parameters: [{name: k}]}
  synchronization:
    mutexes: [{name: "lock-{{inputs.parameters.k}}"}]
  container: {image: alpine, command: [echo, hi]}
""",
    )
    _, backend = run(wf, {"s(0:x)": Outcome(duration=2), "s(1:y)": Outcome(duration=2)})
    assert starts(backend) == [(0.0, "s(0:x)"), (0.0, "s(1:y)"), (2.0, "s(2:x)")]


def test_a_waiting_node_says_which_lock_it_waits_for() -> None:
    wf = workflow(FOUR, LOCKED.format(locks="mutexes: [{name: m}]"))
    seen: list[tuple[str, str]] = []

    class Watch:
        def node_changed(self, node: object) -> None:
            seen.append((node.id, node.message))  # type: ignore[attr-defined]

    from kjob.backends.virtual import VirtualBackend, scripted
    from kjob.engine.engine import Engine

    Engine(wf, VirtualBackend(scripted(DURATIONS)), run_id="wf", observers=[Watch()]).run()  # type: ignore[arg-type]
    assert ("b", "Waiting for default/Mutex/m lock. Lock status: 0/1") in seen


class HeldElsewhere(MemoryLocks):
    """Locks another run holds for the first ``tries`` tries; tried again every second."""

    def __init__(self, tries: int) -> None:
        super().__init__()
        self.tries = tries

    @property
    def retry_every(self) -> float | None:
        return 1.0

    def acquire(self, lock: Lock, holder: str) -> Denied | None:
        if self.tries > 0:
            self.tries -= 1
            return Denied(lock, 1, 1)
        return super().acquire(lock, holder)


def test_a_workflow_level_mutex_held_by_another_run_holds_the_whole_run_until_it_is_free() -> None:
    wf = workflow(
        FOUR.replace("\ntemplates:", "\nsynchronization: {mutexes: [{name: w}]}\ntemplates:"),
        LOCKED.format(locks="{}"),
    )
    locks = HeldElsewhere(tries=3)
    result, backend = run(wf, DURATIONS, locks=locks)
    assert starts(backend) == [(3.0, "a"), (3.0, "b"), (3.0, "c"), (3.0, "d")]
    assert result.phase.value == "Succeeded"
    assert locks.acquire(Lock("mutex", "default", "w"), "default/next-run") is None  # given back


MEMO = """\
entrypoint: main
templates:
- name: main
  steps:
  - - {name: first, template: memo, arguments: {parameters: [{name: n, value: "7"}]}}
  - - {name: again, template: memo, arguments: {parameters: [{name: n, value: "7"}]}}
    - {name: other, template: memo, arguments: {parameters: [{name: n, value: "8"}]}}
  - - {name: use, template: show, arguments: {parameters: [{name: v, value: "{{steps.again.outputs.parameters.out}}"}]}}
- name: memo
  inputs: {parameters: [{name: n}]}
  memoize:
    key: "n-{{inputs.parameters.n}}"
    maxAge: 1h
    cache: {configMap: {name: cache}}
  container: {image: alpine, command: [echo, hi]}
  outputs:
    parameters:
    - {name: out, valueFrom: {path: /tmp/out}}
- name: show
  inputs: {parameters: [{name: v}]}
  container: {image: alpine, command: [echo, "{{inputs.parameters.v}}"]}
"""


def test_a_memoized_node_with_a_cached_key_does_not_run_and_passes_the_cached_outputs_on() -> None:
    memo = MemoryMemo(clock=lambda: 1000.0)
    outcomes = {"first": Outcome(parameters={"out": "forty-two"}), "other": Outcome(parameters={"out": "x"})}
    result, backend = run(workflow(MEMO), outcomes, memo=memo)
    assert [n for _, n in starts(backend)] == ["first", "other", "use"]
    nodes = {n.id: n for n in result.nodes}
    assert nodes["again"].phase.value == "Succeeded"
    assert nodes["again"].message.startswith("cached: memoize key n-7 in cache")
    assert nodes["use"].inputs["v"] == "forty-two"
    entry = memo.entries[("cache", "n-7")]
    outputs = entry.to_argo()["outputs"]
    assert outputs["parameters"] == [{"name": "out", "value": "forty-two"}]
    assert entry.node_id == "first"


def test_an_entry_older_than_max_age_is_not_used() -> None:
    clock = [0.0]
    memo = MemoryMemo(clock=lambda: clock[0])
    run(
        workflow(MEMO),
        {"first": Outcome(parameters={"out": "a"}), "other": Outcome(parameters={"out": "b"})},
        memo=memo,
    )
    clock[0] = 3601.0
    result, backend = run(
        workflow(MEMO), {n: Outcome(parameters={"out": "c"}) for n in ("first", "other", "again")}, memo=memo
    )
    assert [n for _, n in starts(backend)] == ["first", "other", "use"]
    assert phases(result)["again"] == "Succeeded"


def test_a_failed_node_is_not_cached() -> None:
    memo = MemoryMemo()
    result, _ = run(workflow(MEMO), {"first": Outcome(exit_code=1)}, memo=memo)
    assert result.phase.value == "Failed"
    assert memo.entries == {}


class CountingLocks(MemoryLocks):
    def __init__(self) -> None:
        super().__init__()
        self.tries = 0

    def acquire(self, lock: Lock, holder: str) -> Denied | None:
        self.tries += 1
        return super().acquire(lock, holder)


def test_items_waiting_behind_one_mutex_are_tried_once_each_release_not_all_of_them() -> None:
    wf = workflow(
        """\
entrypoint: main
templates:
- name: main
  steps:
  - - {name: s, template: locked, withSequence: {count: "40"}}
""",
        LOCKED.format(locks="mutexes: [{name: m}]"),
    )
    locks = CountingLocks()
    result, backend = run(wf, locks=locks)
    assert [t for t, _ in starts(backend)] == [float(i) for i in range(40)]  # one after another, in order
    assert [n for _, n in starts(backend)] == [f"s({i}:{i})" for i in range(40)]
    assert result.phase.value == "Succeeded"
    assert locks.tries < 3 * 40  # 40 items: about two tries each, not 40 * 40 / 2


def test_a_node_needing_a_mutex_its_own_dag_holds_is_an_error_not_a_hang() -> None:
    wf = workflow(
        """\
entrypoint: main
templates:
- name: main
  synchronization: {mutexes: [{name: m}]}
  dag:
    tasks:
    - {name: inner, template: locked}
""",
        LOCKED.format(locks="mutexes: [{name: m}]"),
    )
    result, _ = run(wf)
    inner = {n.id: n for n in result.nodes}["inner"]
    assert inner.phase.value == "Error"
    assert inner.message == (
        "Waiting for default/Mutex/m lock. Lock status: 0/1: default/wf/main holds it around this node: "
        "it would wait for ever"
    )
