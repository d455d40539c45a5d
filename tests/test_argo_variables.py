"""Argo files kjob used to reject for the wrong reason: whole-map workflow variables, a template's
caller name, a WorkflowTemplate's parameters given at submit, artifacts kept in a repository or
archived there, and parameters read from a ConfigMap."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from kjob.errors import KjobError, SpecErrors
from kjob.spec.loader import LoadResult, load_text
from kjob.testing.emulator import Emulator
from tests.test_engine import run
from tests.test_k8s_artifacts import CLAIM, cluster, k8s_args, pod_log  # noqa: F401 (a fixture)

HEADER = """\
apiVersion: argoproj.io/v1alpha1
kind: {kind}
metadata:
  name: wf
  labels: {{app: demo, tier: "a&b"}}
  annotations: {{example.com/owner: team-x}}
spec:
"""


def load(spec: str, kind: str = "Workflow") -> LoadResult:
    return load_text(HEADER.format(kind=kind) + textwrap.indent(textwrap.dedent(spec), "  "), path="wf.yaml")


def errors(spec: str, kind: str = "Workflow") -> list[str]:
    with pytest.raises(SpecErrors) as raised:
        load(spec, kind)
    return [e.message for e in raised.value.errors]


def test_workflow_labels_and_annotations_as_a_whole_are_json_objects_as_go_writes_them() -> None:
    loaded = load_text(
        HEADER.format(kind="Workflow")
        + textwrap.indent(
            textwrap.dedent(
                """\
                entrypoint: main
                templates:
                - name: main
                  container:
                    image: alpine
                    args: ["{{workflow.labels}}", "{{workflow.labels.json}}", "{{workflow.annotations}}",
                           "{{workflow.annotations.json}}", "{{workflow.labels.app}}"]
                """
            ),
            "  ",
        ),
        path="wf.yaml",
    )
    result, backend = run(loaded.workflows[0])
    assert result.phase.value == "Succeeded"
    [(_, spec)] = backend.submitted
    labels = '{"app":"demo","tier":"a\\u0026b"}'
    owner = '{"example.com/owner":"team-x"}'
    assert list(spec.container.args) == [labels, labels, owner, owner, "demo"]


def test_the_callers_name_in_a_template_is_not_supported_yet_rather_than_misplaced() -> None:
    found = errors(
        """\
        entrypoint: main
        templates:
        - name: main
          steps:
          - - {name: s, template: leaf}
        - name: leaf
          container: {image: alpine, args: ["{{steps.name}}", "{{tasks.name}}"]}
        """
    )
    assert found == [
        "'{{steps.name}}' is not supported by kjob yet",
        "'{{tasks.name}}' is not supported by kjob yet",
    ]


def test_all_workflow_parameters_as_json_and_the_creation_time_resolve() -> None:
    spec = """\
        entrypoint: main
        arguments: {parameters: [{name: a, value: "1"}]}
        templates:
        - name: main
          container: {image: alpine, args: ["{{workflow.parameters.json}}", "{{workflow.creationTimestamp}}"]}
        """
    load(spec, "Workflow")  # no SpecErrors


TEMPLATE_SPEC = """\
entrypoint: main
arguments: {parameters: [{name: greeting, value: hello}]}
templates:
- name: main
  container: {image: alpine, args: ["{{workflow.parameters.greeting}} {{workflow.parameters.who}}"]}
"""


def test_a_workflow_template_may_use_parameters_the_workflow_running_it_gives() -> None:
    loaded = load(TEMPLATE_SPEC, kind="WorkflowTemplate")
    result, backend = run(loaded.workflows[0], parameters={"who": "world"})
    assert result.phase.value == "Succeeded"
    [(_, spec)] = backend.submitted
    assert list(spec.container.args) == ["hello world"]
    # a Workflow must declare them: the name is likely mistyped
    assert errors(TEMPLATE_SPEC) == ["workflow parameter 'who' is not declared"]
    with pytest.raises(KjobError, match="the workflow has no parameter 'who'"):
        run(
            load(TEMPLATE_SPEC.replace(" {{workflow.parameters.who}}", "")).workflows[0],
            parameters={"who": "x"},
        )


def test_an_input_artifact_kept_in_a_repository_is_reported_for_its_repository_only() -> None:
    found = errors(
        """\
        entrypoint: main
        templates:
        - name: main
          dag:
            tasks:
            - {name: use, template: use}
        - name: use
          inputs:
            artifacts:
            - {name: code, path: /src, s3: {key: code.tar.gz}}
          container: {image: alpine, command: [ls, /src]}
        """
    )
    assert found == ["'s3' is not supported by kjob yet"]


def test_a_parameter_read_from_a_source_kjob_lacks_is_reported_for_that_source_only() -> None:
    found = errors(
        """\
        entrypoint: main
        templates:
        - name: main
          inputs:
            parameters:
            - name: message
              valueFrom: {event: payload.message}
          container: {image: alpine, args: ["{{inputs.parameters.message}}"]}
        """
    )
    assert found == ["'event' is not supported by kjob yet"]


ARCHIVED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: archive-
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: make
        template: make
    - - name: use
        template: use
        arguments:
          artifacts:
          - {name: dir, from: "{{steps.make.outputs.artifacts.dir}}"}
          - {name: file, from: "{{steps.make.outputs.artifacts.file}}"}
  - name: make
    container:
      image: alpine
      command: [sh, -c, "mkdir -p /tmp/d && echo in-dir > /tmp/d/a.txt && echo packed > /tmp/f.txt"]
    outputs:
      artifacts:
      - {name: dir, path: /tmp/d, archive: {none: {}}}
      - {name: file, path: /tmp/f.txt, archive: {tar: {compressionLevel: 0}}}
  - name: use
    inputs:
      artifacts:
      - {name: dir, path: /tmp/in/d}
      - {name: file, path: /tmp/in/f.txt}
    container:
      image: alpine
      command: [sh, -c, "cat /tmp/in/d/a.txt /tmp/in/f.txt"]
"""


def test_an_archive_strategy_of_none_or_tar_is_taken_as_kjob_keeps_artifacts(
    kjob: Any, tmp_path: Path
) -> None:
    wf = tmp_path / "archive.yaml"
    wf.write_text(ARCHIVED)
    done = kjob("run", "--backend", "local", str(wf))
    assert done.code == 0, done.stdout + done.stderr
    run_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("Workflow "))
    logs = kjob("logs", run_id, "use")
    assert logs.stdout.split() == ["in-dir", "packed"]
    zipped = ARCHIVED.replace("{tar: {compressionLevel: 0}}", "{zip: {}}").replace(
        "{none: {}}", "{none: {x: 1}}"
    )
    with pytest.raises(SpecErrors) as raised:
        load_text(zipped, path="wf.yaml")
    assert [e.message for e in raised.value.errors] == [
        "unknown field 'x' in archive.none of artifact 'dir'",
        "'zip' is not supported by kjob yet",
    ]


SUB_PATH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: sub-path-
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: make
        template: make
    - - name: use
        template: use
        arguments:
          artifacts:
          - name: file
            from: "{{steps.make.outputs.artifacts.dir}}"
            subPath: "{{steps.make.outputs.parameters.inner}}/b.txt"
  - name: make
    container:
      image: alpine
      command: [sh, -c, "mkdir -p /tmp/d/in && echo A > /tmp/d/a.txt && echo B > /tmp/d/in/b.txt && printf in > /tmp/inner"]
    outputs:
      parameters:
      - {name: inner, valueFrom: {path: /tmp/inner}}
      artifacts:
      - {name: dir, path: /tmp/d, archive: {none: {}}}
  - name: use
    inputs:
      artifacts:
      - {name: file, path: /tmp/b.txt}
    container:
      image: alpine
      command: [cat, /tmp/b.txt]
"""


def test_an_argument_artifacts_sub_path_passes_a_file_inside_it(kjob: Any, tmp_path: Path) -> None:
    wf = tmp_path / "sub-path.yaml"
    wf.write_text(SUB_PATH)
    done = kjob("run", "--backend", "local", str(wf))
    assert done.code == 0, done.stdout + done.stderr
    run_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("Workflow "))
    assert kjob("logs", run_id, "use").stdout.split() == ["B"]
    with pytest.raises(SpecErrors) as raised:
        load_text(SUB_PATH.replace('"{{steps.make.outputs.parameters.inner}}/b.txt"', "../x"), path="wf.yaml")
    assert [e.message for e in raised.value.errors] == [
        "subPath of artifact 'file' must be a relative path inside the artifact"
    ]


def test_a_formatted_creation_timestamp_is_not_supported_yet() -> None:
    spec = """\
        entrypoint: main
        templates:
        - name: main
          container: {image: alpine, args: ["{{workflow.creationTimestamp.RFC3339}}", "{{workflow.creationTimestamp.Y}}"]}
        """
    assert errors(spec) == [
        "'{{workflow.creationTimestamp.RFC3339}}' is not supported by kjob yet",
        "'{{workflow.creationTimestamp.Y}}' is not supported by kjob yet",
    ]


def test_a_sub_path_and_an_archive_strategy_on_kubernetes(
    kjob: Any,
    tmp_path: Path,
    cluster: tuple[Emulator, str],  # noqa: F811 (the fixture of tests/test_k8s_artifacts.py)
) -> None:
    """On the API emulator, through the run workspace: the file inside the directory artifact."""
    emu, kubeconfig = cluster
    wf = tmp_path / "sub-path.yaml"
    wf.write_text(SUB_PATH)
    done = kjob("run", str(wf), *k8s_args(kubeconfig, "--workspace-pvc", CLAIM))
    assert done.code == 0, done.stdout + done.stderr
    assert pod_log(emu, "use") == "B\n"
