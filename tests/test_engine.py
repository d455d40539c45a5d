"""The engine in virtual time: dispatch order, when, failures, retries with their exact backoff
schedule, fan-out, parallelism, deadlines, exit handlers and output passing."""

from __future__ import annotations

import textwrap

import pytest

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine, EngineOptions, RunResult
from kjob.engine.state import Phase
from kjob.errors import KjobError
from kjob.spec import load_text
from kjob.spec.model import Workflow


def workflow(body: str, extra: str = "") -> Workflow:
    text = textwrap.dedent(
        """\
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata:
          name: wf
        spec:
        """
    ) + textwrap.indent(textwrap.dedent(body) + extra, "  ")
    return load_text(text, path="wf.yaml").workflows[0]


def run(
    wf: Workflow, outcomes: dict[str, object] | None = None, **options: object
) -> tuple[RunResult, VirtualBackend]:
    backend = VirtualBackend(scripted(outcomes or {}))  # type: ignore[arg-type]
    engine = Engine(wf, backend, run_id="wf", options=EngineOptions(**options))  # type: ignore[arg-type]
    return engine.run(), backend


def phases(result: RunResult) -> dict[str, str]:
    return {n.id: n.phase.value for n in result.nodes}


def starts(backend: VirtualBackend) -> list[tuple[float, str]]:
    return [(t, spec.node_id) for t, spec in backend.submitted]


ECHO = """\
- name: echo
  container: {image: alpine, command: [echo, hi]}
"""

DIAMOND = (
    """\
entrypoint: main
templates:
- name: main
  dag:
    tasks:
    - {name: a, template: echo}
    - {name: b, template: echo, dependencies: [a]}
    - {name: c, template: echo, dependencies: [a]}
    - {name: d, template: echo, dependencies: [c]}
"""
    + ECHO
)


def test_a_task_starts_as_soon_as_its_own_dependencies_finish() -> None:
    result, backend = run(workflow(DIAMOND), {"b": Outcome(duration=5), "c": Outcome(duration=1)})
    assert result.phase is Phase.SUCCEEDED
    # d needs only c: it starts at t=2 while b (same level as c) runs until t=6 -- no level barrier.
    assert starts(backend) == [(0.0, "a"), (1.0, "b"), (1.0, "c"), (2.0, "d")]
    assert result.finished_at == 6.0


def test_failure_omits_dependents_and_fails_the_workflow() -> None:
    result, _ = run(workflow(DIAMOND), {"c": Outcome(exit_code=3)})
    assert phases(result) == {
        "main": "Failed",
        "a": "Succeeded",
        "b": "Succeeded",
        "c": "Failed",
        "d": "Omitted",
    }
    assert result.phase is Phase.FAILED
    node = {n.id: n for n in result.nodes}["c"]
    assert node.exit_code == 3 and node.message == "exit code 3"


def test_fail_fast_starts_nothing_new_after_a_failure() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: quick-fail, template: echo}
            - {name: slow, template: echo}
            - {name: after-slow, template: echo, dependencies: [slow]}
        """,
        ECHO,
    )
    result, backend = run(wf, {"quick-fail": Outcome(exit_code=1), "slow": Outcome(duration=5)})
    assert phases(result)["after-slow"] == "Omitted"
    assert phases(result)["slow"] == "Succeeded"  # running tasks are left to finish, as in Argo
    assert [n for _, n in starts(backend)] == ["quick-fail", "slow"]


def test_continue_on_failed_lets_dependents_run_and_the_workflow_succeed() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: a, template: echo, continueOn: {failed: true}}
            - {name: b, template: echo, dependencies: [a]}
        """,
        ECHO,
    )
    result, _ = run(wf, {"a": Outcome(exit_code=1)})
    assert phases(result) == {"main": "Succeeded", "a": "Failed", "b": "Succeeded"}
    assert result.phase is Phase.SUCCEEDED


def test_enhanced_depends_runs_the_failure_branch() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: a, template: echo}
            - {name: on-success, template: echo, depends: "a.Succeeded"}
            - {name: on-failure, template: echo, depends: "a.Failed"}
        """,
        ECHO,
    )
    ok, _ = run(wf)
    assert phases(ok) == {
        "main": "Succeeded",
        "a": "Succeeded",
        "on-success": "Succeeded",
        "on-failure": "Omitted",
    }
    failed, _ = run(wf, {"a": Outcome(exit_code=1)})
    assert phases(failed)["on-failure"] == "Succeeded"
    assert phases(failed)["on-success"] == "Omitted"


def test_when_false_skips_and_dependents_of_a_skipped_task_still_run() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: size, template: size}
            - {name: small, template: echo, dependencies: [size], when: "{{tasks.size.outputs.result}} < 1000"}
            - {name: large, template: echo, dependencies: [size], when: "{{tasks.size.outputs.result}} >= 1000"}
            - {name: report, template: echo, dependencies: [small, large]}
        - name: size
          container: {image: alpine, command: [echo, "1500"]}
        """,
        ECHO,
    )
    result, _ = run(wf, {"size": Outcome(stdout="1500")})
    assert phases(result) == {
        "main": "Succeeded",
        "size": "Succeeded",
        "small": "Skipped",
        "large": "Succeeded",
        "report": "Succeeded",
    }


RETRY = """\
entrypoint: flaky
templates:
- name: flaky
  retryStrategy:
    limit: {limit}
    retryPolicy: Always
    backoff: {backoff}
  container: {{image: alpine, command: ["false"]}}
"""


@pytest.mark.parametrize(
    ("limit", "backoff", "expected_starts"),
    [
        # 1 s attempts; waits of 10, 20, 40 s: each retry starts at the previous end plus its backoff.
        (3, '{duration: "10s", factor: 2}', [0, 11, 32, 73]),
        # cap bounds every single wait at 15 s.
        (4, '{duration: "10s", factor: 2, cap: "15s"}', [0, 11, 27, 43, 59]),
        # maxDuration bounds the window: a retry that would start after 0 + 300 s does not happen.
        (10, '{duration: "100s", factor: 2, maxDuration: "5m"}', [0, 101]),
        # factor 1: a constant wait.
        (2, '{duration: "5s"}', [0, 6, 12]),
    ],
)
def test_retries_follow_the_exact_backoff_schedule(
    limit: int, backoff: str, expected_starts: list[float]
) -> None:
    wf = workflow(RETRY.format(limit=limit, backoff=backoff))
    result, backend = run(wf, {"flaky": Outcome(duration=1, exit_code=1)})
    assert [t for t, _ in backend.submitted] == expected_starts
    assert [spec.attempt for _, spec in backend.submitted] == list(range(len(expected_starts)))
    assert result.phase is Phase.FAILED


@pytest.mark.parametrize(
    ("backoff", "starts", "message"),
    [
        (
            "{duration: '1s', factor: 1e300}",
            [0, 2],
            "the next backoff (1e+300s) is longer than any wait (292 years)",
        ),
        (
            "{duration: '10s', factor: 1e308}",
            [0, 11],
            "the next backoff (more seconds than a float holds) is longer than any wait (292 years)",
        ),
    ],
)
def test_a_backoff_beyond_any_wait_ends_the_retries_with_a_reason(
    backoff: str, starts: list[float], message: str
) -> None:
    """1e300**2 overflows a float: once an OverflowError mid-run, now the task fails saying why."""
    wf = workflow(RETRY.format(limit=5, backoff=backoff))
    result, backend = run(wf, {"flaky": Outcome(duration=1, exit_code=1)})
    assert [t for t, _ in backend.submitted] == starts
    flaky = next(n for n in result.nodes if n.id == "flaky")
    assert flaky.message == f"exit code 1 ({message})"
    assert result.phase is Phase.FAILED


def test_a_retry_that_succeeds_makes_the_task_succeed() -> None:
    wf = workflow(RETRY.format(limit=3, backoff='{duration: "10s", factor: 2}'))
    attempts = [Outcome(exit_code=1), Outcome(exit_code=1), Outcome(exit_code=0)]
    result, backend = run(wf, {"flaky": attempts})
    assert result.phase is Phase.SUCCEEDED
    assert [t for t, _ in backend.submitted] == [0, 11, 32]
    assert len(result.nodes[0].attempts) == 3


def test_retry_policy_on_error_does_not_retry_a_failure() -> None:
    wf = workflow(RETRY.format(limit=3, backoff="{duration: '1s'}").replace("Always", "OnError"))
    result, backend = run(wf, {"flaky": Outcome(exit_code=1)})
    assert len(backend.submitted) == 1
    assert result.phase is Phase.FAILED


WITH_PARAM = (
    """\
entrypoint: main
templates:
- name: main
  dag:
    tasks:
    - {name: gen, template: gen}
    - name: work
      dependencies: [gen]
      template: work
      arguments: {parameters: [{name: p, value: "{{item}}"}]}
      withParam: "{{tasks.gen.outputs.parameters.list}}"
    - {name: merge, template: echo, dependencies: [work]}
- name: gen
  container: {image: alpine, command: [echo]}
  outputs:
    parameters:
    - name: list
      valueFrom: {path: /tmp/list}
- name: work
  inputs: {parameters: [{name: p}]}
  container: {image: alpine, command: [echo, "{{inputs.parameters.p}}"]}
  outputs:
    parameters:
    - name: out
      valueFrom: {path: /tmp/out}
"""
    + ECHO
)


def test_with_param_fans_out_at_run_time_and_the_dependent_waits_for_every_item() -> None:
    wf = workflow(WITH_PARAM)

    def script(spec: object) -> Outcome:
        from kjob.backends.base import AttemptSpec

        assert isinstance(spec, AttemptSpec)
        if spec.template_name == "gen":
            return Outcome(parameters={"list": '["x", "y", "z"]'})
        if spec.template_name == "work":
            return Outcome(
                duration=len(spec.container.args[0]) if spec.container.args else 1,
                parameters={"out": spec.container.command[1].upper()},
            )
        return Outcome()

    backend = VirtualBackend(script)
    result = Engine(wf, backend, run_id="wf").run()
    assert result.phase is Phase.SUCCEEDED
    ids = [n.id for n in result.nodes]
    assert ids == ["main", "gen", "work", "merge", "work(0:x)", "work(1:y)", "work(2:z)"]
    submitted = {spec.node_id: (t, spec) for t, spec in backend.submitted}
    assert submitted["work(1:y)"][1].container.command == ("echo", "y")
    assert submitted["merge"][0] == 2.0  # after every item ended at t=2
    group = {n.id: n for n in result.nodes}["work"]
    assert group.parameters == {"out": '["X","Y","Z"]'}  # compact, as Argo writes it


def test_with_param_that_is_not_a_json_list_errors_the_task() -> None:
    wf = workflow(WITH_PARAM)
    result, _ = run(wf, {"gen": Outcome(parameters={"list": "not json"})})
    work = {n.id: n for n in result.nodes}["work"]
    assert work.phase is Phase.ERROR
    assert "withParam is not a JSON list" in work.message
    assert result.phase is Phase.ERROR


def test_with_items_and_item_fields() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - name: greet
              template: greet
              arguments: {parameters: [{name: who, value: "{{item.name}}-{{item.n}}"}]}
              withItems: [{name: ann, n: 1}, {name: bob, n: 2}]
        - name: greet
          inputs: {parameters: [{name: who}]}
          container: {image: alpine, command: [echo, "{{inputs.parameters.who}}"]}
        """
    )
    result, backend = run(wf)
    assert [spec.container.command for _, spec in backend.submitted] == [("echo", "ann-1"), ("echo", "bob-2")]
    assert [n.id for n in result.nodes][2:] == ["greet(0:n:1,name:ann)", "greet(1:n:2,name:bob)"]


def test_with_sequence_formats_numbers() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - name: shard
              template: shard
              arguments: {parameters: [{name: i, value: "{{item}}"}]}
              withSequence: {start: "3", end: "5", format: "part-%02d"}
        - name: shard
          inputs: {parameters: [{name: i}]}
          container: {image: alpine, command: [echo, "{{inputs.parameters.i}}"]}
        """
    )
    _, backend = run(wf)
    assert [spec.container.command[1] for _, spec in backend.submitted] == ["part-03", "part-04", "part-05"]


def test_parallelism_caps_running_tasks() -> None:
    wf = workflow(
        """\
        entrypoint: main
        parallelism: 2
        templates:
        - name: main
          dag:
            tasks:
            - {name: t1, template: echo}
            - {name: t2, template: echo}
            - {name: t3, template: echo}
            - {name: t4, template: echo}
            - {name: t5, template: echo}
        """,
        ECHO,
    )
    result, backend = run(wf)
    assert [t for t, _ in backend.submitted] == [0, 0, 1, 1, 2]
    assert result.finished_at == 3
    override, _backend2 = run(wf, parallelism=5)
    assert override.finished_at == 1


def test_activedeadlineseconds_fails_a_task_that_runs_too_long() -> None:
    wf = workflow(
        """\
        entrypoint: slow
        templates:
        - name: slow
          activeDeadlineSeconds: 5
          container: {image: alpine, command: [sleep, "60"]}
        """
    )
    result, _ = run(wf, {"slow": Outcome(duration=60)})
    assert result.phase is Phase.FAILED
    assert result.finished_at == 5
    assert "deadline" in result.nodes[0].message


def test_workflow_deadline_stops_everything() -> None:
    wf = workflow(
        """\
        entrypoint: main
        activeDeadlineSeconds: 10
        templates:
        - name: main
          dag:
            tasks:
            - {name: long, template: echo}
            - {name: next, template: echo, dependencies: [long]}
        """,
        ECHO,
    )
    result, _ = run(wf, {"long": Outcome(duration=100)})
    assert result.phase is Phase.FAILED
    assert result.finished_at == 10
    assert phases(result)["next"] == "Omitted"
    assert "activeDeadlineSeconds" in result.message


def test_exit_handler_runs_last_and_sees_the_workflow_status() -> None:
    wf = workflow(
        """\
        entrypoint: main
        onExit: notify
        templates:
        - name: main
          dag:
            tasks:
            - {name: a, template: echo}
        - name: notify
          container: {image: alpine, command: [echo, "status={{workflow.status}}"]}
        """,
        ECHO,
    )
    result, backend = run(wf, {"a": Outcome(exit_code=1)})
    assert starts(backend)[-1] == (1.0, "onExit")
    assert backend.submitted[-1][1].container.command == ("echo", "status=Failed")
    assert result.phase is Phase.FAILED


def test_missing_output_file_errors_with_a_hint_about_result() -> None:
    wf = workflow(
        """\
        entrypoint: check
        templates:
        - name: check
          script:
            image: python:3.9
            command: [python]
            source: print(1234)
          outputs:
            parameters:
            - name: size
              valueFrom: {path: /tmp/size}
        """
    )
    result, _ = run(wf, {"check": Outcome(stdout="1234")})
    node = result.nodes[0]
    assert node.phase is Phase.ERROR
    assert "'size' (/tmp/size) was not written" in node.message
    assert "outputs.result" in node.message


def test_output_parameters_flow_into_dependent_arguments() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: produce, template: produce}
            - name: consume
              dependencies: [produce]
              template: consume
              arguments:
                parameters:
                - {name: v, value: "<< tasks.produce.outputs.parameters.v >>/{{tasks.produce.outputs.result}}"}
        - name: produce
          container: {image: alpine, command: [echo]}
          outputs: {parameters: [{name: v, valueFrom: {path: /tmp/v}}]}
        - name: consume
          inputs: {parameters: [{name: v}]}
          container: {image: alpine, command: [echo, "got {{inputs.parameters.v}}"]}
        """
    )
    _, backend = run(wf, {"produce": Outcome(stdout="out", parameters={"v": "42"})})
    assert backend.submitted[-1][1].container.command == ("echo", "got 42/out")


def test_steps_run_group_after_group() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          steps:
          - - {name: first, template: echo}
          - - {name: second-a, template: echo}
            - {name: second-b, template: echo}
          - - {name: third, template: echo}
        """,
        ECHO,
    )
    result, backend = run(wf, {"second-b": Outcome(duration=3)})
    assert starts(backend) == [(0, "first"), (1, "second-a"), (1, "second-b"), (4, "third")]
    assert result.phase is Phase.SUCCEEDED


def test_nested_dag_template_runs_as_one_task() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: inner, template: sub, arguments: {parameters: [{name: x, value: "7"}]}}
            - {name: after, template: echo, dependencies: [inner]}
        - name: sub
          inputs: {parameters: [{name: x}]}
          dag:
            tasks:
            - {name: s1, template: show, arguments: {parameters: [{name: x, value: "{{inputs.parameters.x}}"}]}}
        - name: show
          inputs: {parameters: [{name: x}]}
          container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
        """,
        ECHO,
    )
    result, backend = run(wf)
    assert starts(backend) == [(0, "inner.s1"), (1, "after")]
    assert backend.submitted[0][1].container.command == ("echo", "7")
    assert phases(result)["inner"] == "Succeeded"


def test_workflow_parameters_and_overrides() -> None:
    wf = workflow(
        """\
        entrypoint: hello
        arguments:
          parameters:
          - {name: who, value: world}
        templates:
        - name: hello
          container: {image: alpine, command: [echo, "hello {{workflow.parameters.who}}"]}
        """
    )
    _, backend = run(wf)
    assert backend.submitted[0][1].container.command == ("echo", "hello world")
    _, backend = run(wf, parameters={"who": "kjob"})
    assert backend.submitted[0][1].container.command == ("echo", "hello kjob")
    with pytest.raises(KjobError, match="no parameter 'whom'"):
        run(wf, parameters={"whom": "x"})


def test_dag_target_runs_only_the_targets_and_what_they_need() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            target: c
            tasks:
            - {name: a, template: echo}
            - {name: b, template: echo, dependencies: [a]}
            - {name: c, template: echo, dependencies: [a]}
            - {name: unrelated, template: echo}
        """,
        ECHO,
    )
    result, backend = run(wf)
    assert [n for _, n in starts(backend)] == ["a", "c"]
    assert result.phase is Phase.SUCCEEDED


def test_template_parallelism_caps_a_fan_out() -> None:
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          parallelism: 2
          dag:
            tasks:
            - {name: each, template: echo, withItems: [1, 2, 3, 4, 5]}
        """,
        ECHO,
    )
    result, backend = run(wf)
    assert [t for t, _ in backend.submitted] == [0, 0, 1, 1, 2]
    assert result.phase is Phase.SUCCEEDED


def test_a_result_is_fetched_only_for_tasks_whose_result_a_sibling_reads() -> None:
    """``wants_result`` spares the Kubernetes backend a pod-log read per task nobody reads; the name
    must match whole (``a`` is not read because ``ba``'s result is)."""
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: a, template: echo}
            - {name: ba, template: echo}
            - name: reader
              template: take
              dependencies: [a, ba]
              when: "'{{tasks.ba.outputs.result}}' != 'never'"
              arguments: {parameters: [{name: x, value: "{{tasks.ba.outputs.result}}"}]}
        - name: take
          inputs: {parameters: [{name: x}]}
          container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
        """,
        ECHO,
    )
    _, backend = run(wf)
    wants = {spec.node_id: spec.wants_result for _, spec in backend.submitted}
    assert wants == {"a": False, "ba": True, "reader": False}


RUN_TIME_SEQUENCE = """\
entrypoint: main
arguments: {parameters: [{name: end, value: '3'}]}
templates:
- name: main
  dag:
    tasks:
    - {name: gen, template: gen}
    - name: t
      template: echo
      dependencies: [gen]
      withSequence: {count: '{{tasks.gen.outputs.parameters.n}}'}
    - name: u
      template: echo
      withSequence: {start: '1', end: '{{workflow.parameters.end}}'}
- name: gen
  container: {image: alpine, command: [echo]}
  outputs: {parameters: [{name: n, valueFrom: {path: /tmp/n}}]}
"""


@pytest.mark.parametrize(
    ("count", "end", "node", "message"),
    [
        (
            "100000000",
            "3",
            "t",
            "withSequence has 100,000,000 items per fan-out, more than kjob's limit of 1,000,000 "
            "(set KJOB_MAX_FAN_OUT to raise it)",
        ),
        (
            "2",
            "9" * 400,
            "u",
            "withSequence has a 400-digit number of items per fan-out, more than kjob's limit of "
            "1,000,000 (set KJOB_MAX_FAN_OUT to raise it)",
        ),
    ],
)
def test_a_fan_out_beyond_the_limit_known_only_at_run_time_is_an_error_before_any_item_is_made(
    count: str, end: str, node: str, message: str
) -> None:
    """A count from a task's output or a parameter given at run time: lint cannot see it, so the
    engine refuses it (once 10.8 GB of memory for 10**8 items, an OverflowError for 400 digits)."""
    result, backend = run(
        workflow(RUN_TIME_SEQUENCE, ECHO),
        {"gen": Outcome(parameters={"n": count})},
        parameters={"end": end},
    )
    nodes = {n.id: n for n in result.nodes}
    assert (nodes[node].phase, nodes[node].message) == (Phase.ERROR, message)
    assert not any(spec.node_id.startswith(f"{node}(") for _, spec in backend.submitted)
    assert result.phase is Phase.ERROR


def test_the_same_fan_outs_within_the_limit_run_every_item() -> None:
    result, backend = run(workflow(RUN_TIME_SEQUENCE, ECHO), {"gen": Outcome(parameters={"n": "2"})})
    assert result.phase is Phase.SUCCEEDED
    assert sorted(spec.node_id for _, spec in backend.submitted) == [
        "gen",
        "t(0:0)",
        "t(1:1)",
        "u(0:1)",
        "u(1:2)",
        "u(2:3)",
    ]


def test_a_literal_fan_out_beyond_the_limit_is_a_located_lint_error_not_a_run() -> None:
    with pytest.raises(KjobError, match=r"^wf\.yaml:\d+:\d+: withSequence has 100,000,000 items per fan-out"):
        workflow(
            """\
            entrypoint: main
            templates:
            - name: main
              dag:
                tasks:
                - {name: t, template: echo, withSequence: {count: '100000000'}}
            """,
            ECHO,
        )


def test_the_fan_out_limit_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJOB_MAX_FAN_OUT", "5")
    wf = workflow(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: t, template: echo, withParam: '[1, 2, 3, 4, 5, 6]'}
        """,
        ECHO,
    )
    result, _ = run(wf)
    (t,) = [n for n in result.nodes if n.id == "t"]
    assert t.message.startswith("withParam has 6 items per fan-out, more than kjob's limit of 5")


def test_with_param_json_nested_too_deep_is_a_task_error_not_a_traceback() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    result, _ = run(workflow(WITH_PARAM), {"gen": Outcome(parameters={"list": deep})})
    work = next(n for n in result.nodes if n.id == "work")
    assert work.phase is Phase.ERROR
    assert work.message.startswith("withParam is JSON nested too deep to read: [[[[")
    assert result.phase is Phase.ERROR


def test_with_items_entries_are_rendered() -> None:
    """Argo renders the whole template before expanding it: a reference inside an item is its value."""
    wf = workflow(
        """\
        entrypoint: main
        arguments: {parameters: [{name: env, value: prod}]}
        templates:
        - name: main
          dag:
            tasks:
            - name: t
              template: take
              arguments: {parameters: [{name: x, value: "{{item}}"}]}
              withItems: ["{{workflow.parameters.env}}-a", {k: "{{workflow.parameters.env}}"}, 3]
        - name: take
          inputs: {parameters: [{name: x}]}
          container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
        """
    )
    _, backend = run(wf)
    assert [spec.container.command[-1] for _, spec in backend.submitted] == ["prod-a", '{"k":"prod"}', "3"]


SELF_CALLING = """\
entrypoint: main
templates:
- name: main
  dag:
    tasks:
    - {name: work, template: echo}
    - {name: again, template: main, depends: work}
"""


@pytest.mark.parametrize("limit", [None, "5"])
def test_a_template_calling_itself_without_end_is_an_error_at_the_nesting_limit(
    limit: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if limit is not None:
        monkeypatch.setenv("KJOB_MAX_NESTING", limit)
    depth = int(limit or 100)
    result, backend = run(workflow(SELF_CALLING + ECHO))
    assert result.phase is Phase.ERROR
    deepest = ".".join(["again"] * depth)
    assert len(backend.submitted) == depth  # one `work` per level that opened
    message = next(n.message for n in result.nodes if n.id == deepest)
    assert message == (
        f"task 'again' has {depth + 1} dag or steps templates around it, more than kjob's limit of "
        f"{depth} (set KJOB_MAX_NESTING to raise it); does template 'main' call itself with no `when` to end it?"
    )


def test_a_template_calling_itself_at_once_is_the_same_error_not_a_recursion_error() -> None:
    wf = workflow(
        "entrypoint: main\ntemplates:\n- name: main\n  dag:\n    tasks:\n    - {name: again, template: main}\n"
    )
    result, backend = run(wf)
    assert result.phase is Phase.ERROR and not backend.submitted
    assert "more than kjob's limit of 100" in next(
        n.message for n in result.nodes if n.message.startswith("task")
    )
