"""Lint advice: a parameter pasted into shell code, and a ``when`` that quotes a task's output, are
warned about (with the safe form) at the reference; the safe forms, and every example and seed file,
are not.  Warnings never change lint's exit status."""

from __future__ import annotations

from typing import Any

import pytest

from kjob.expr import evaluate_when
from kjob.spec import load_text
from tests.conftest import EXAMPLES, SEED

HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: advice-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: work, arguments: {parameters: [{name: msg, value: hi}]}}
"""
# Line 11 onwards: the template under test, always called `work` with an input `msg`.
WORK = """\
  - name: work
    inputs: {parameters: [{name: msg}]}
"""


def advice(text: str, *, path: str = "wf.yaml") -> list[str]:
    return [w.render() for w in load_text(text, path=path).warnings]


def work(body: str) -> str:
    return HEAD + WORK + body


PASTED = [
    pytest.param(
        '    container: {image: alpine, command: [sh, -c], args: ["echo {{inputs.parameters.msg}}"]}\n',
        "wf.yaml:13:66",
        "args[0]",
        id="sh -c with the script in args",
    ),
    pytest.param(
        "    container: {image: alpine, command: [/bin/bash, -euo, pipefail, -c, \"echo '{{inputs.parameters.msg}}'\"]}\n",
        "wf.yaml:13:82",
        "command[4]",
        id="bash -euo pipefail -c, quoted in the script: still code",
    ),
    pytest.param(
        "    script:\n      image: alpine\n      command: [bash]\n      source: |\n        set -e\n"
        '        echo "{{inputs.parameters.msg}}"\n',
        "wf.yaml:18:17",
        "source",
        id="a bash script",
    ),
    pytest.param(
        '    container: {image: alpine, command: [env, LC_ALL=C, sh, -c, "printf %s {{inputs.parameters.msg}}"]}\n',
        "wf.yaml:13:78",
        "command[4]",
        id="behind env",
    ),
]


@pytest.mark.parametrize(("body", "where", "field"), PASTED)
def test_a_parameter_pasted_into_shell_code_is_warned_at_the_reference(
    body: str, where: str, field: str
) -> None:
    (warning,) = advice(work(body))
    assert warning == (
        f"{where}: warning: inputs.parameters.msg is pasted into shell code ({field}): a quote, $(...), ';' "
        "or a newline in its value changes the command, quoted or not\n"
        '  hint: pass it in the environment instead, env: [{name: MSG, value: "{{inputs.parameters.msg}}"}], '
        'and write "$MSG" in the script'
    )


SAFE = [
    pytest.param(
        "    container:\n      image: alpine\n      command: [sh, -c, 'echo \"$MSG\"']\n"
        '      env: [{name: MSG, value: "{{inputs.parameters.msg}}"}]\n',
        id="the advised form: an env var",
    ),
    pytest.param(
        "    container: {image: alpine, command: [sh, -c, 'echo \"$0\"', '{{inputs.parameters.msg}}']}\n",
        id="a positional parameter of sh -c",
    ),
    pytest.param(
        '    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}\n',
        id="no shell: one argument",
    ),
    pytest.param(
        '    container: {image: alpine, command: [sh, -c, "echo {{workflow.name}} {{workflow.uid}}"]}\n',
        id="names kjob makes",
    ),
    pytest.param(
        '    container: {image: alpine, command: [sh, run.sh, "{{inputs.parameters.msg}}"]}\n',
        id="a script file's argument",
    ),
]


@pytest.mark.parametrize("body", SAFE)
def test_safe_forms_are_not_warned(body: str) -> None:
    assert advice(work(body)) == []


def test_one_warning_per_parameter_and_template_and_kjob_syntax_in_the_hint() -> None:
    text = (
        HEAD.replace("argoproj.io/v1alpha1", "kjob.dev/v1alpha1")
        + WORK
        + '    container: {image: alpine, command: [sh, -c, "echo << inputs.parameters.msg >>; echo << inputs.parameters.msg >>"]}\n'
    )
    (warning,) = advice(text)
    assert warning.startswith("wf.yaml:13:59: warning: inputs.parameters.msg is pasted into shell code")
    assert 'value: "<< inputs.parameters.msg >>"' in warning


def when_task(when: str) -> str:
    return (
        HEAD
        + f"      - {{name: b, template: work, dependencies: [a], when: {when}, arguments: {{parameters: [{{name: msg, value: x}}]}}}}\n"
        + WORK
        + "    container: {image: alpine, command: [echo, hi]}\n"
    )


def test_a_when_quoting_a_task_output_is_warned_with_the_unquoted_form() -> None:
    (warning,) = advice(when_task("\"'{{tasks.a.outputs.result}}' > '10'\""))
    assert warning == (
        "wf.yaml:11:64: warning: when quotes tasks.a.outputs.result: a single quote in the output ends the "
        "string early (and can rewrite the condition), and numbers compare as text ('9' > '10' is true)\n"
        '  hint: compare it unquoted, when: "{{tasks.a.outputs.result}} > 10": a number then compares as a '
        "number and a word as a word; have the task print one word or number"
    )


def test_what_the_when_warning_says_is_true() -> None:
    """Quoted, '9' > '10' holds and an output can rewrite the condition; the advised form does not."""
    quoted, advised = "'{{x}}' > '10'", "{{x}} > 10"
    assert evaluate_when(quoted, lambda _: "9") is True
    assert evaluate_when(advised, lambda _: "9") is False
    assert evaluate_when("'{{x}}' == 'yes'", lambda _: "no' != 'x' || 'a") is True


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ('\'"{{tasks.a.outputs.parameters.n}}" == "yes"\'', '"{{tasks.a.outputs.parameters.n}} == yes"'),
        ("\"'{{tasks.a.outputs.result}}' =~ '^ab'\"", "\"{{tasks.a.outputs.result}} =~ '^ab'\""),
        (
            "\"'{{tasks.a.outputs.result}}' != 'two words'\"",
            "\"{{tasks.a.outputs.result}} != 'two words'\"",
        ),
    ],
)
def test_the_unquoted_form_keeps_what_must_stay_quoted(when: str, expected: str) -> None:
    text = (
        when_task(when)
        .replace(
            "  - name: work\n",
            "  - name: work\n    outputs: {parameters: [{name: n, valueFrom: {path: /tmp/n}}]}\n",
        )
        .replace("command: [echo, hi]", "command: [sh, -c, 'echo hi > /tmp/n']")
    )
    (warning,) = advice(text)
    assert f"compare it unquoted, when: {expected}:" in warning
    assert "numbers compare as text" not in warning


@pytest.mark.parametrize(
    "when",
    [
        '"{{tasks.a.outputs.result}} == yes"',
        "\"'{{tasks.a.status}}' == 'Succeeded'\"",
        "\"'{{workflow.name}}' == 'x'\"",
    ],
)
def test_unquoted_outputs_and_quoted_names_kjob_makes_are_not_warned(when: str) -> None:
    assert advice(when_task(when)) == []


def test_examples_and_the_seed_get_no_advice(kjob: Any) -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    if SEED.is_dir():
        files.append(str(SEED / "01-basic-dag.yaml"))
    done = kjob("lint", *files)
    assert done.code == 0, done.stderr
    assert "warning" not in done.stderr


def test_advice_is_shown_by_lint_and_leaves_its_exit_status_alone(kjob: Any, tmp_path: Any) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text(
        work('    container: {image: alpine, command: [sh, -c], args: ["echo {{inputs.parameters.msg}}"]}\n')
    )
    done = kjob("lint", str(path))
    assert done.code == 0
    assert f"{path}:13:66: warning: inputs.parameters.msg is pasted into shell code" in done.stderr
    assert "Traceback" not in done.stderr
