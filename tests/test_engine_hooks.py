"""Lifecycle hooks and suspend nodes in the engine, in virtual time (no processes): when a hook
starts, what its task's dependents wait for, and a suspend's duration on the backend's clock."""

from __future__ import annotations

from kjob.backends.virtual import Outcome
from kjob.engine.state import Phase
from tests.test_engine import phases, run, starts, workflow

WATCHED = """\
entrypoint: main
templates:
- name: main
  dag:
    tasks:
    - name: slow
      template: echo
      hooks:
        other-done:
          expression: tasks.fast.status == "Succeeded"
          template: echo
        failed:
          expression: tasks.slow.status == "Failed"
          template: echo
    - {name: fast, template: echo}
    - {name: after, template: echo, depends: slow}
- name: echo
  container: {image: alpine, command: [echo, hi]}
"""


def test_a_hook_starts_while_its_task_runs_once_another_tasks_state_makes_it_true() -> None:
    result, backend = run(workflow(WATCHED), {"slow": Outcome(duration=10), "fast": Outcome(duration=1)})
    assert phases(result)["slow.hooks.other-done"] == "Succeeded"
    assert "slow.hooks.failed" not in phases(result)
    begun = dict((node, at) for at, node in starts(backend))
    assert begun["slow.hooks.other-done"] < 10  # while slow still ran, as soon as fast had succeeded
    assert begun["after"] >= 10


EXIT_WAIT = """\
entrypoint: main
templates:
- name: main
  steps:
  - - {name: a, template: echo, onExit: cleanup}
  - - {name: b, template: echo}
- name: echo
  container: {image: alpine, command: [echo, hi]}
- name: cleanup
  container: {image: alpine, command: [echo, bye]}
"""


def test_the_next_step_group_waits_for_a_steps_exit_hook_whose_failure_changes_nothing() -> None:
    result, backend = run(workflow(EXIT_WAIT), {"a.onExit": Outcome(duration=5, exit_code=1)})
    begun = dict((node, at) for at, node in starts(backend))
    assert begun["b"] >= begun["a.onExit"] + 5
    assert phases(result)["a.onExit"] == "Failed"
    assert result.phase is Phase.SUCCEEDED


SUSPENDED = """\
entrypoint: main
templates:
- name: main
  steps:
  - - {name: pause, template: pause}
  - - {name: b, template: echo}
- name: pause
  suspend: {duration: 2m}
- name: echo
  container: {image: alpine, command: [echo, hi]}
"""


def test_a_suspend_with_a_duration_resumes_by_itself_on_the_backends_clock() -> None:
    result, backend = run(workflow(SUSPENDED))
    assert phases(result)["pause"] == "Succeeded"
    assert dict((node, at) for at, node in starts(backend))["b"] >= 120
