"""Argo expressions on the local backend: {{= }} tags, valueFrom.expression / valueFrom.parameter,
fromExpression and retryStrategy.expression (tests/data/expressions.yaml and small inline workflows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_local_backend import write

DATA = Path(__file__).parent / "data"

EXPECTED_SHOW = '40 HEADS ["ann"] / it was heads'


def check_expressions_run(nodes: dict[str, Any]) -> None:
    """What tests/data/expressions.yaml gives, on any backend (checked by hand against Argo's docs)."""
    assert nodes["heads"]["phase"] == "Succeeded"  # when: "{{= tasks.flip.outputs.result == 'heads' }}"
    assert nodes["tails"]["phase"] == "Skipped"
    assert nodes["show"]["inputs"] == {"line": '40 HEADS ["ann"]'}
    assert nodes["show"]["outputs"]["result"] == EXPECTED_SHOW  # its artifact came by fromExpression
    assert nodes["loop"]["outputs"]["result"] == "[20,30]"  # withParam and item through {{= }}
    assert nodes["meta"]["inputs"] == {"text": "config 20"}  # workflow.parameters.json, creationTimestamp
    retry = nodes["retry"]
    assert [a["exit_code"] for a in retry["attempts"]] == [2, 1]  # exit 2 retried, exit 1 not
    assert retry["message"] == "exit code 1 (retryStrategy.expression evaluated to false)"
    outputs = nodes["main"]["outputs"]
    assert outputs["parameters"] == {
        "chosen": "it was heads",
        "relayed": EXPECTED_SHOW,
        "looped": "[20,30]",
        "fallback": "absent",
    }
    assert outputs["artifacts"]["file"] == nodes["heads"]["outputs"]["artifacts"]["file"]


def test_expressions_workflow(kjob: Any) -> None:
    done = kjob("run", str(DATA / "expressions.yaml"))
    assert done.code == 0, done.stdout + done.stderr
    check_expressions_run(done.nodes())


RETRY = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: try
        template: try
        arguments: {parameters: [{name: safe, value: "true"}]}
  - name: try
    inputs: {parameters: [{name: safe}]}
    retryStrategy:
      limit: 5
      expression: "asInt(lastRetry.exitCode) > 1 && lastRetry.status == 'Failed' && {{inputs.parameters.safe}}"
    container:
      image: alpine
      command: [sh, -c, 'if [ {{retries}} = 0 ]; then exit 2; fi; exit 1']
"""


def test_retry_expression_that_fails_is_the_nodes_error(kjob: Any, tmp_path: Path) -> None:
    done = kjob(
        "run", write(tmp_path, RETRY.replace("asInt(lastRetry.exitCode) > 1", "asInt(lastRetry.message)"))
    )
    assert done.code == 1, done.stdout + done.stderr
    node = done.nodes()["try"]
    assert node["phase"] == "Error"
    assert node["message"].startswith(
        "retryStrategy.expression: cannot convert the string 'exit code 2' to int"
    )


STEPS_OUTPUTS = """\
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: inner
        template: inner
    - - name: use
        template: say
        arguments: {parameters: [{name: text, value: "{{steps.inner.outputs.parameters.out}}"}]}
  - name: inner
    steps:
    - - name: make
        template: say
        arguments: {parameters: [{name: text, value: "7"}]}
    outputs:
      parameters:
      - name: out
        valueFrom:
          expression: "asInt(steps.make.outputs.result) * 6"
      - name: broken
        valueFrom:
          expression: "asInt('x')"
          default: stood-in
  - name: say
    inputs: {parameters: [{name: text}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
"""


def test_steps_template_outputs_resolve_as_it_ends(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, STEPS_OUTPUTS))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["inner"]["outputs"]["parameters"] == {"out": "42", "broken": "stood-in"}
    assert nodes["use"]["outputs"]["result"] == "42"


def test_an_output_that_cannot_be_resolved_is_the_templates_error(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, STEPS_OUTPUTS.replace("          default: stood-in\n", "")))
    assert done.code == 1, done.stdout + done.stderr
    inner = done.nodes()["inner"]
    assert inner["phase"] == "Error"
    assert inner["message"] == (
        "output parameter 'broken': cannot convert the string 'x' to int (in 'asInt('x')')"
    )


BAD = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: say
        arguments: {parameters: [{name: text, value: "{{= 1 + }}"}]}
    outputs:
      parameters:
      - name: p
        valueFrom: {expression: "tasks.b.outputs.result"}
      artifacts:
      - name: f
        fromExpression: "tasks.a.outputs.artifacts.f ?"
  - name: say
    inputs: {parameters: [{name: text}]}
    retryStrategy: {expression: "lastRetry.status =="}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
    outputs:
      parameters:
      - name: q
        valueFrom: {expression: "1"}
"""


def test_lint_locates_expression_mistakes(kjob: Any, tmp_path: Path) -> None:
    done = kjob("lint", write(tmp_path, BAD))
    assert done.code == 2
    lines = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if ": error: " in line]
    assert [line.split("wf.yaml:", 1)[1] for line in lines] == [
        "13:63: error: invalid argument 'text': expected an operand after '+'",
        "17:34: error: unknown task 'b' in {{tasks.b.outputs.result}}",
        "20:55: error: invalid fromExpression of 'f': expected an operand after '?'",
        "23:53: error: invalid retryStrategy.expression: expected an operand after '=='",
        "28:21: error: valueFrom.expression of outputs parameter 'q' has no meaning here",
    ]


DRY = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: say
        arguments: {parameters: [{name: text, value: "3"}]}
      - name: b
        depends: a
        template: say
        arguments: {parameters: [{name: text, value: "{{= asInt(tasks.a.outputs.result) * 2 }}"}]}
  - name: say
    inputs: {parameters: [{name: text}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.text}}"]}
"""


def test_a_dry_run_shows_an_expression_over_run_time_values_as_one(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", "--dry-run", write(tmp_path, DRY))
    assert done.code == 0, done.stdout + done.stderr
    assert "- '<run-time: {{= asInt(tasks.a.outputs.result) * 2 }}>'" in done.stdout
