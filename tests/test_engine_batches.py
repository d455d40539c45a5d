"""Fan-outs handed to a backend whole (the Kubernetes backend's Indexed Jobs), in virtual time: the
batch holds only the slots it can use, so every node starts and ends exactly when it would if the
engine had submitted the items one by one under the same parallelism limits."""

from __future__ import annotations

import pytest

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine, EngineOptions, RunResult
from tests.test_engine import workflow

FAN = """\
entrypoint: main
templates:
- name: main
  {limit}dag:
    tasks:
    - {{name: fan, template: work, withSequence: {{count: "10"}}, arguments: {{parameters: [{{name: n, value: "{{{{item}}}}"}}]}}}}
    - {{name: other, template: work, arguments: {{parameters: [{{name: n, value: x}}]}}}}
    - {{name: after, template: work, dependencies: [fan], arguments: {{parameters: [{{name: n, value: y}}]}}}}
- name: work
  inputs: {{parameters: [{{name: n}}]}}
  {retry}container: {{image: alpine, command: [echo, "{{{{inputs.parameters.n}}}}"]}}
"""


def fan_workflow(*, dag_limit: int | None = None, retry: bool = False) -> object:
    text = FAN.format(
        limit=f"parallelism: {dag_limit}\n  " if dag_limit else "",
        retry="retryStrategy: {limit: 1, backoff: {duration: '10'}}\n  " if retry else "",
    )
    return workflow(text)


def run(
    wf: object, outcomes: dict[str, object], *, batches: bool, **options: object
) -> tuple[RunResult, VirtualBackend]:
    backend = VirtualBackend(scripted(outcomes), batches=batches)  # type: ignore[arg-type]
    engine = Engine(wf, backend, run_id="wf", options=EngineOptions(**options))  # type: ignore[arg-type]
    return engine.run(), backend


def timeline(result: RunResult) -> dict[str, tuple[str, float | None, float | None]]:
    return {n.id: (n.phase.value, n.started_at, n.finished_at) for n in result.nodes}


DURATIONS = {f"fan({i}:{i})": Outcome(duration=1 + (i % 3)) for i in range(10)}


@pytest.mark.parametrize(("workflow_limit", "dag_limit"), [(3, None), (None, 4), (5, 2), (None, None)])
def test_a_batched_fan_out_runs_exactly_as_one_by_one(
    workflow_limit: int | None, dag_limit: int | None
) -> None:
    wf = fan_workflow(dag_limit=dag_limit)
    batched, backend = run(wf, DURATIONS, batches=True, parallelism=workflow_limit)
    single, _ = run(wf, DURATIONS, batches=False, parallelism=workflow_limit)
    assert timeline(batched) == timeline(single)
    assert batched.succeeded
    # the ten items went over in one batch, with as many slots as the limits left at that moment
    assert len(backend.batches_taken) == 1
    _, ids, parallelism = backend.batches_taken[0]
    assert len(ids) == 10
    limits = [x for x in (workflow_limit, dag_limit) if x is not None]
    assert parallelism == min([*limits, 10])


def test_items_that_fail_together_are_retried_together_in_one_follow_up_batch() -> None:
    failing = {f"fan({i}:{i})": [Outcome(duration=2, exit_code=1), Outcome(duration=1)] for i in (1, 4, 7)}
    outcomes = {**{f"fan({i}:{i})": Outcome(duration=2) for i in range(10)}, **failing}
    wf = fan_workflow(retry=True)
    batched, backend = run(wf, outcomes, batches=True)
    single, _ = run(wf, outcomes, batches=False)
    assert timeline(batched) == timeline(single)
    assert batched.succeeded
    assert [(at, len(ids), p) for at, ids, p in backend.batches_taken] == [(0.0, 10, 10), (12.0, 3, 3)]
    assert all(i.endswith("-1") for i in backend.batches_taken[1][1])  # the second attempts


def test_a_backend_that_refuses_batches_gets_items_one_by_one() -> None:
    wf = fan_workflow()
    result, backend = run(wf, DURATIONS, batches=False, parallelism=3)
    assert result.succeeded
    assert backend.batches_taken == []
    assert len(backend.submitted) == 12
