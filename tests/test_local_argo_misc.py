"""Argo's smaller spec features on the local backend (issue 12): inline templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_local_backend import write

INLINE = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        arguments: {parameters: [{name: word, value: hello}]}
        inline:
          inputs: {parameters: [{name: word}]}
          outputs: {parameters: [{name: said, valueFrom: {path: /tmp/said}}]}
          container:
            image: alpine
            command: [sh, -c, 'echo "$WORD" > /tmp/said']
            env: [{name: WORD, value: "{{inputs.parameters.word}}"}]
      - name: b
        depends: a
        arguments: {parameters: [{name: got, value: "{{tasks.a.outputs.parameters.said}}"}]}
        inline:
          inputs: {parameters: [{name: got}]}
          steps:
          - - name: inner
              arguments: {parameters: [{name: got, value: "{{inputs.parameters.got}}"}]}
              inline:
                inputs: {parameters: [{name: got}]}
                script:
                  image: python:alpine
                  command: [python]
                  source: print("inner got {{inputs.parameters.got}}")
"""


def test_inline_templates_run_nested_and_pass_parameters(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, INLINE))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["a"]["outputs"]["parameters"] == {"said": "hello"}
    assert nodes["b.inner"]["outputs"]["result"] == "inner got hello"


def test_an_inline_template_sees_only_its_own_inputs(kjob: Any, tmp_path: Path) -> None:
    body = INLINE.replace('arguments: {parameters: [{name: got, value: "{{inputs.parameters.got}}"}]}', "")
    body = body.replace("                inputs: {parameters: [{name: got}]}\n", "")
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "template 'main/b/inner' has no input parameter 'got'" in done.stdout + done.stderr


def test_a_task_with_both_template_and_inline_is_refused(kjob: Any, tmp_path: Path) -> None:
    body = INLINE.replace("      - name: a\n", "      - name: a\n        template: main\n")
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2
    assert "wf.yaml:14:9: error: task 'a' has both template and inline" in done.stdout + done.stderr
