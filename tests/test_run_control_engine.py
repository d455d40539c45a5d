"""The engine's side of `kjob stop`, `kjob terminate` and `kjob retry`, in virtual time: a stop ends
the run Failed "stopped" after its exit handler ran, a terminate without it; a retried run runs again
only the failed tasks (under new attempt numbers) and what ran because of them."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine, EngineOptions, RunResult
from kjob.engine.rerun import Rerun
from kjob.engine.state import Phase
from kjob.spec import load_text
from kjob.spec.model import Workflow

CHAIN = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  onExit: cleanup
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: work}
      - {name: b, template: work, dependencies: [a]}
      - {name: c, template: work, dependencies: [b]}
  - name: work
    container: {image: alpine, command: [sleep, "5"]}
  - name: cleanup
    container: {image: alpine, command: [echo, bye]}
"""


def workflow(text: str = CHAIN) -> Workflow:
    return load_text(textwrap.dedent(text), path="wf.yaml").workflows[0]


def run_with(
    wf: Workflow,
    outcomes: Mapping[str, Outcome | Sequence[Outcome]],
    *,
    request_at: float | None = None,
    action: str = "stop",
    rerun: Rerun | None = None,
) -> tuple[RunResult, VirtualBackend]:
    backend = VirtualBackend(scripted(outcomes))

    def control() -> str | None:
        return action if request_at is not None and backend.now() >= request_at else None

    options = EngineOptions(control=control, rerun=rerun)
    return Engine(wf, backend, run_id="wf", options=options).run(), backend


def phases(result: RunResult) -> dict[str, str]:
    return {n.id: n.phase.value for n in result.nodes}


def started(backend: VirtualBackend) -> list[str]:
    return [spec.attempt_id.rsplit("-", 2)[0] + "-" + str(spec.attempt) for _, spec in backend.submitted]


def test_stop_stops_the_running_task_omits_the_rest_and_runs_the_exit_handler() -> None:
    result, backend = run_with(workflow(), {"work": Outcome(duration=5)}, request_at=6)
    assert result.phase is Phase.FAILED
    assert result.message == "stopped"
    assert phases(result)["b"] == "Failed"  # running when the stop came: stopped
    assert phases(result)["c"] == "Omitted"
    assert phases(result)["onExit"] == "Succeeded"
    assert [spec.node_id for _, spec in backend.submitted] == ["a", "b", "onExit"]


def test_terminate_does_not_run_the_exit_handler() -> None:
    result, backend = run_with(workflow(), {"work": Outcome(duration=5)}, request_at=6, action="terminate")
    assert (result.phase, result.message) == (Phase.FAILED, "terminated")
    assert "onExit" not in phases(result)
    assert [spec.node_id for _, spec in backend.submitted] == ["a", "b"]


def test_a_stop_while_the_exit_handler_runs_lets_it_finish() -> None:
    outcomes = {"work": Outcome(duration=1), "cleanup": Outcome(duration=10)}
    result, _ = run_with(workflow(), outcomes, request_at=5)
    assert phases(result)["onExit"] == "Succeeded"
    assert (result.phase, result.message) == (Phase.FAILED, "stopped")


def test_retry_runs_only_the_failed_task_again_under_a_new_attempt_number() -> None:
    rerun = Rerun(failed={"b"}, next_attempt={"a": 1, "b": 1, "onExit": 1})
    result, backend = run_with(workflow(), {}, rerun=rerun)
    assert result.phase is Phase.SUCCEEDED
    by_node = {spec.node_id: spec.attempt for _, spec in backend.submitted}
    # a is replayed (attempt 0 again: the backend gives back its recorded end); b and the exit
    # handler run again as attempt 1; c never ran, so its attempt 0 is new
    assert by_node == {"a": 0, "b": 1, "c": 0, "onExit": 1}
    assert rerun.taken == ["b", "c", "onExit"]  # c depends on b: it runs (again) too


def test_retry_recognises_a_replayed_failure_it_was_not_told_of() -> None:
    # b's attempt 0 (used before: next_attempt says 1) fails again on replay: it runs again as 1
    rerun = Rerun(next_attempt={"b": 1})
    outcomes = {"b": [Outcome(exit_code=3), Outcome()]}
    result, backend = run_with(workflow(), outcomes, rerun=rerun)
    assert result.phase is Phase.SUCCEEDED
    assert [(spec.node_id, spec.attempt) for _, spec in backend.submitted][:3] == [
        ("a", 0),
        ("b", 0),
        ("b", 1),
    ]


def test_a_new_failure_during_a_retry_is_not_run_twice() -> None:
    rerun = Rerun(failed={"b"}, next_attempt={"b": 1})
    result, backend = run_with(workflow(), {"b": Outcome(exit_code=3)}, rerun=rerun)
    assert result.phase is Phase.FAILED
    assert [(spec.node_id, spec.attempt) for _, spec in backend.submitted if spec.node_id == "b"] == [
        ("b", 1)
    ]


def test_a_dependent_that_ran_on_continue_on_runs_again_with_the_retried_task() -> None:
    text = CHAIN.replace("dependencies: [a]}", "dependencies: [a], continueOn: {failed: true}}").replace(
        "- {name: a, template: work}", "- {name: a, template: work, continueOn: {failed: true}}"
    )
    rerun = Rerun(failed={"a"}, next_attempt={"a": 1, "b": 1, "c": 1})
    result, backend = run_with(workflow(text), {}, rerun=rerun)
    assert result.phase is Phase.SUCCEEDED
    by_node = {spec.node_id: spec.attempt for _, spec in backend.submitted}
    assert (by_node["a"], by_node["b"], by_node["c"]) == (1, 1, 1)


def test_a_stop_found_on_resuming_still_submits_what_ran_before_and_omits_the_rest() -> None:
    # resumed with a stop pending: a ran before, so it is submitted (a backend replays it, or stops
    # it if it still runs: here it is running, and is stopped); b and c never started: omitted
    backend = VirtualBackend(scripted({"work": Outcome(duration=5)}))
    options = EngineOptions(control=lambda: "stop", started_before=frozenset({"main", "a"}))
    result = Engine(workflow(), backend, run_id="wf", options=options).run()
    assert [spec.node_id for _, spec in backend.submitted] == ["a", "onExit"]
    assert phases(result) == {
        "main": "Failed",
        "a": "Failed",
        "b": "Omitted",
        "c": "Omitted",
        "onExit": "Succeeded",
    }
    assert (result.phase, result.message) == (Phase.FAILED, "stopped")
