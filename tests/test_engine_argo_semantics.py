"""Argo's semantics for a DAG's ``failFast`` and for nested ``parallelism``, in virtual time: the exact
schedule a user's workflow gets."""

from __future__ import annotations

from kjob.backends.virtual import Outcome
from tests.test_engine import ECHO, phases, run, starts, workflow

FAIL_FAST_DAG = """\
entrypoint: main
templates:
- name: main
  dag:
    {fail_fast}
    tasks:
    - {{name: b, template: echo}}
    - {{name: c, template: echo}}
    - {{name: boom, template: echo}}
    - {{name: on-b-failed, template: echo, depends: "b.Failed && c"}}
    - {{name: after-c, template: echo, depends: c}}
"""

FAILURES = {"b": Outcome(exit_code=1), "boom": Outcome(exit_code=1), "c": Outcome(duration=3)}


def test_fail_fast_still_runs_a_task_whose_depends_the_failure_meets() -> None:
    """``boom`` fails unhandled at t=1, so nothing new starts -- except ``b.Failed && c``, which b's
    failure and c's end (t=3) satisfy."""
    result, backend = run(workflow(FAIL_FAST_DAG.format(fail_fast=""), ECHO), FAILURES)
    assert starts(backend) == [(0.0, "b"), (0.0, "c"), (0.0, "boom"), (3.0, "on-b-failed")]
    got = phases(result)
    assert got["on-b-failed"] == "Succeeded"
    assert got["after-c"] == "Omitted"
    assert result.phase.value == "Failed"
    main = {n.id: n for n in result.nodes}["main"]
    assert main.message == "boom failed"


def test_a_failure_some_depends_expects_does_not_fail_fast() -> None:
    """Without ``boom``, b's failure is a branch of the DAG: every task runs and the DAG succeeds."""
    wf = workflow(
        FAIL_FAST_DAG.format(fail_fast="").replace("- {name: boom, template: echo}\n    ", ""), ECHO
    )
    result, backend = run(wf, FAILURES)
    assert [n for _, n in starts(backend)] == ["b", "c", "on-b-failed", "after-c"]
    assert result.phase.value == "Succeeded"


def test_fail_fast_false_runs_every_branch_and_the_dag_fails() -> None:
    result, backend = run(workflow(FAIL_FAST_DAG.format(fail_fast="failFast: false"), ECHO), FAILURES)
    assert sorted(n for _, n in starts(backend)) == ["after-c", "b", "boom", "c", "on-b-failed"]
    assert phases(result)["after-c"] == "Succeeded"
    assert result.phase.value == "Failed"


NESTED = """\
entrypoint: outer
templates:
- name: outer
  parallelism: 1
  dag:
    tasks:
    - {name: first, template: inner}
    - {name: second, template: inner}
- name: inner
  dag:
    tasks:
    - {name: x, template: echo}
    - {name: y, template: echo}
    - {name: z, template: echo}
"""


def test_a_child_dag_counts_as_one_against_its_parents_parallelism() -> None:
    """``outer`` runs one child DAG at a time; each child DAG runs its own three tasks together."""
    result, backend = run(workflow(NESTED, ECHO))
    assert starts(backend) == [
        (0.0, "first.x"),
        (0.0, "first.y"),
        (0.0, "first.z"),
        (1.0, "second.x"),
        (1.0, "second.y"),
        (1.0, "second.z"),
    ]
    assert result.phase.value == "Succeeded"


def test_parent_limit_of_two_child_dags_each_running_in_parallel() -> None:
    """As Argo's nested-DAG example: after b1, only two of b2..b4 run at once, the third when one ends."""
    wf = workflow(
        """\
        entrypoint: a
        templates:
        - name: a
          parallelism: 2
          dag:
            tasks:
            - {name: b1, template: b}
            - {name: b2, template: b, depends: b1}
            - {name: b3, template: b, depends: b1}
            - {name: b4, template: b, depends: b1}
        - name: b
          dag:
            tasks:
            - {name: c1, template: echo}
            - {name: c2, template: echo, depends: c1}
            - {name: c3, template: echo, depends: c1}
        """,
        ECHO,
    )
    result, backend = run(wf)
    begun = {node: t for t, node in starts(backend)}
    assert [begun[f"b{i}.c1"] for i in range(1, 5)] == [0.0, 2.0, 2.0, 4.0]
    assert begun["b2.c2"] == begun["b2.c3"] == 3.0  # inside a child, its tasks run side by side
    assert result.finished_at == 6.0


def test_a_parallelism_one_steps_template_runs_its_items_one_by_one_in_each_call() -> None:
    """As Argo's nested-parallelism example: two workers run side by side, each its items in turn."""
    wf = workflow(
        """\
        entrypoint: workers
        templates:
        - name: workers
          steps:
          - - {name: worker, template: sequential, withItems: [1, 2]}
        - name: sequential
          parallelism: 1
          steps:
          - - {name: item, template: echo, withItems: [a, b, c]}
        """,
        ECHO,
    )
    result, backend = run(wf)
    assert [t for t, _ in starts(backend)] == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
    assert result.finished_at == 3.0


def test_a_child_dag_waiting_on_a_retry_backoff_holds_its_parents_slot_until_it_ends() -> None:
    """``second`` waits while ``first``'s only task waits 10 s to retry (nothing runs meanwhile)."""
    wf = workflow(
        NESTED.replace("    - {name: y, template: echo}\n    - {name: z, template: echo}\n", "")
        + """\
- name: echo
  retryStrategy: {limit: 1, backoff: {duration: "10s"}}
  container: {image: alpine, command: [echo, hi]}
"""
    )
    result, backend = run(wf, {"first.x": [Outcome(exit_code=1), Outcome()]})
    assert starts(backend) == [(0.0, "first.x"), (11.0, "first.x"), (12.0, "second.x")]
    assert result.phase.value == "Succeeded"
