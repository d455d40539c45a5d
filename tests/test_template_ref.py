"""WorkflowTemplates from ``--templates DIR``: ``templateRef``, ``workflowTemplateRef`` and parameters
given at submit time, through the CLI on the local backend (real processes)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Completed

GREET = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: greet
spec:
  entrypoint: hello
  arguments:
    parameters:
    - name: who
  templates:
  - name: hello
    inputs:
      parameters:
      - name: msg
    outputs:
      parameters:
      - name: said
        valueFrom: {path: /tmp/said}
    script:
      image: python:3.12
      command: [python]
      source: |
        text = "{{inputs.parameters.msg}} {{workflow.parameters.who}}"
        print(text)
        open("/tmp/said", "w").write(text)
"""

LIB = """\
apiVersion: argoproj.io/v1alpha1
kind: ClusterWorkflowTemplate
metadata:
  name: lib
spec:
  templates:
  - name: pair
    inputs:
      parameters:
      - name: x
    dag:
      tasks:
      - name: one
        template: say
        arguments: {parameters: [{name: m, value: "one-{{inputs.parameters.x}}"}]}
      - name: two
        dependencies: [one]
        template: say
        arguments: {parameters: [{name: m, value: "two-after-{{tasks.one.outputs.parameters.out}}"}]}
  - name: say
    inputs:
      parameters:
      - name: m
    outputs:
      parameters:
      - name: out
        valueFrom: {path: /tmp/out}
    script:
      image: python:3.12
      command: [python]
      source: |
        print("{{inputs.parameters.m}}")
        open("/tmp/out", "w").write("{{inputs.parameters.m}}")
"""

USES_REFS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: uses-refs
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        templateRef: {name: lib, template: pair, clusterScope: true}
        arguments: {parameters: [{name: x, value: "hi"}]}
      - name: b
        dependencies: [a]
        templateRef: {name: greet, template: hello}
        arguments: {parameters: [{name: msg, value: "b-says"}]}
  arguments:
    parameters:
    - name: who
      value: everyone
"""

FROM_TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: from-greet
spec:
  arguments:
    parameters:
    - name: who
      value: world
    - name: msg
      value: hello
  workflowTemplateRef: {name: greet}
"""


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    directory = tmp_path / "templates"
    (directory / "shared").mkdir(parents=True)
    (directory / "greet.yaml").write_text(GREET)
    (directory / "shared" / "lib.yml").write_text(LIB)
    (directory / "notes.txt").write_text("not YAML, not read")
    return directory


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def outputs(done: Completed) -> dict[str, dict[str, str]]:
    return {n["id"]: n["outputs"]["parameters"] for n in done.record()["nodes"] if n["outputs"]["parameters"]}


def test_template_refs_lint_and_run_from_a_templates_dir(kjob: Any, tmp_path: Path, templates: Path) -> None:
    workflow = write(tmp_path, "wf.yaml", USES_REFS)
    lint = kjob("lint", "--templates", str(templates), workflow)
    assert lint.code == 0, lint.stderr
    done = kjob("run", "--backend", "local", "--templates", str(templates), workflow)
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    # The referenced dag ran its own tasks, in order, passing outputs between them.
    assert {k: v["phase"] for k, v in nodes.items()} == dict.fromkeys(
        ["main", "a", "a.one", "a.two", "b"], "Succeeded"
    )
    assert nodes["a"]["template"] == "lib:pair"
    said = outputs(done)
    assert said["a.one"] == {"out": "one-hi"}
    assert said["a.two"] == {"out": "two-after-one-hi"}
    # A referenced template reads the calling workflow's parameters, as in Argo.
    assert said["b"] == {"said": "b-says everyone"}


def test_workflow_template_ref_runs_the_templates_spec_with_the_workflows_arguments(
    kjob: Any, tmp_path: Path, templates: Path
) -> None:
    workflow = write(tmp_path, "wf.yaml", FROM_TEMPLATE)
    done = kjob("run", "--backend", "local", "--templates", str(templates), workflow, "-p", "who=there")
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done)["hello"] == {"said": "hello there"}


def test_templates_dirs_may_be_several_and_come_from_the_environment(
    kjob: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "cluster").mkdir()
    (tmp_path / "mine" / "greet.yaml").write_text(GREET)
    (tmp_path / "cluster" / "lib.yaml").write_text(LIB)
    workflow = write(tmp_path, "wf.yaml", USES_REFS)
    both = kjob(
        "lint", "--templates", str(tmp_path / "mine"), "--templates", str(tmp_path / "cluster"), workflow
    )
    assert both.code == 0, both.stderr
    monkeypatch.setenv("KJOB_TEMPLATES", f"{tmp_path / 'mine'}:{tmp_path / 'cluster'}")
    done = kjob("lint", workflow)
    assert done.code == 0, done.stderr


def test_a_workflow_template_takes_its_entrypoint_inputs_at_submit_time(kjob: Any, templates: Path) -> None:
    greet = str(templates / "greet.yaml")
    assert kjob("lint", greet).code == 0
    missing = kjob("run", "--backend", "local", greet, "-p", "who=x")
    assert missing.code == 2
    assert "workflow parameter 'msg' has no value" in missing.stderr
    assert "-p msg=VALUE" in missing.stderr
    assert "Traceback" not in missing.stderr
    done = kjob("run", "--backend", "local", greet, "-p", "who=x", "-p", "msg=yo")
    assert done.code == 0, done.stdout + done.stderr
    assert outputs(done)["hello"] == {"said": "yo x"}


def test_a_missing_template_is_a_located_error_naming_what_exists(
    kjob: Any, tmp_path: Path, templates: Path
) -> None:
    text = USES_REFS.replace("template: pair", "template: pear").replace("name: greet", "name: gret")
    workflow = write(tmp_path, "wf.yaml", text)
    done = kjob("lint", "--templates", str(templates), workflow)
    assert done.code == 2
    assert (
        f"{workflow}:12:9: error: ClusterWorkflowTemplate 'lib' has no template 'pear' (defined: pair, say)"
        in (done.stderr)
    )
    assert (
        f"{workflow}:16:9: error: no WorkflowTemplate named 'gret' in --templates {templates} (found: greet)"
        in (done.stderr)
    )
    assert "unknown template" not in done.stderr and "Traceback" not in done.stderr
    without = kjob("lint", write(tmp_path, "plain.yaml", USES_REFS))
    assert without.code == 2
    assert "no ClusterWorkflowTemplate named 'lib' (found: none)" in without.stderr
    assert "--templates DIR" in without.stderr


def test_bad_templates_give_located_errors(kjob: Any, tmp_path: Path, templates: Path) -> None:
    workflow = write(tmp_path, "wf.yaml", FROM_TEMPLATE)
    (templates / "shared" / "again.yaml").write_text(GREET)
    twice = kjob("lint", "--templates", str(templates), workflow)
    assert twice.code == 2
    assert (
        f"{templates / 'shared' / 'again.yaml'}:1:1: error: WorkflowTemplate 'greet' is defined twice: "
        f"here and at {templates / 'greet.yaml'}:1:1"
    ) in twice.stderr
    (templates / "shared" / "again.yaml").write_text(
        GREET.replace("name: greet", "name: broken").replace("image:", "imag:")
    )
    # A broken template holds up only the workflows that use it, which show its mistakes.
    assert kjob("lint", "--templates", str(templates), workflow).code == 0
    uses_broken = write(tmp_path, "broken.yaml", FROM_TEMPLATE.replace("name: greet", "name: broken"))
    broken = kjob("lint", "--templates", str(templates), uses_broken)
    assert broken.code == 2
    assert f"{uses_broken}:12:3: error: WorkflowTemplate 'broken' has mistakes (below)" in broken.stderr
    assert f"{templates / 'shared' / 'again.yaml'}:" in broken.stderr and "'imag'" in broken.stderr
    assert "Traceback" not in broken.stderr
    nowhere = kjob("lint", "--templates", str(tmp_path / "nope"), workflow)
    assert nowhere.code == 2 and "--templates" in nowhere.stderr and "no such directory" in nowhere.stderr


def test_plan_and_dry_run_render_jobs_from_referenced_templates(
    kjob: Any, tmp_path: Path, templates: Path
) -> None:
    workflow = write(tmp_path, "wf.yaml", USES_REFS)
    plan = kjob("plan", "--templates", str(templates), workflow)
    assert plan.code == 0, plan.stderr
    assert "level 0: a" in plan.stdout and "level 1: b" in plan.stdout
    dry = kjob("run", "--dry-run", "--templates", str(templates), workflow)
    assert dry.code == 0, dry.stderr
    assert 'print("one-hi")' in dry.stdout  # the referenced template's script, rendered
    assert dry.stdout.count("kind: Job") == 3


def test_a_cluster_template_and_a_namespaced_one_of_the_same_name_stay_apart(
    kjob: Any, tmp_path: Path, templates: Path
) -> None:
    namespaced = LIB.replace("kind: ClusterWorkflowTemplate", "kind: WorkflowTemplate")
    (templates / "ns-lib.yaml").write_text(namespaced.replace('print("{{', 'print("ns-{{'))
    text = USES_REFS.replace(
        "templateRef: {name: greet, template: hello}", "templateRef: {name: lib, template: say}"
    )
    workflow = write(tmp_path, "wf.yaml", text.replace("name: msg, value:", "name: m, value:"))
    done = kjob("run", "--backend", "local", "--templates", str(templates), workflow)
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert (nodes["a.one"]["template"], nodes["b"]["template"]) == ("lib:say", "lib.say")
    logs = kjob("logs", done.run_id())
    assert "a.one: one-hi" in logs.stdout and "b: ns-b-says" in logs.stdout, logs.stdout


WAITER = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: waiter
spec:
  templates:
  - name: wait
    inputs:
      parameters:
      - name: tag
    container:
      image: alpine
      command: [sh, -c, "touch {{inputs.parameters.tag}}.started; while [ ! -f GO ]; do sleep 0.05; done; echo {{inputs.parameters.tag}}"]
"""

WAITS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: waits
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        templateRef: {name: waiter, template: wait}
        arguments: {parameters: [{name: tag, value: "DIR/a"}]}
      - name: b
        depends: a
        templateRef: {name: waiter, template: wait}
        arguments: {parameters: [{name: tag, value: "DIR/b"}]}
"""


def test_a_killed_run_resumes_with_the_templates_it_carries_after_the_directory_is_gone(
    kjob_home: Path, tmp_path: Path
) -> None:
    from tests.test_local_resume import record, start, wait_for_file

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "waiter.yaml").write_text(WAITER.replace("GO", str(tmp_path / "GO")))
    workflow = write(tmp_path, "wf.yaml", WAITS.replace("DIR", str(tmp_path)))
    proc = start(kjob_home, "run", "--backend", "local", "--templates", str(templates), workflow)
    wait_for_file(tmp_path / "a.started")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    shutil.rmtree(templates)  # the run must not need the directory any more
    (tmp_path / "GO").touch()
    resumed = start(kjob_home, "resume", "waits")
    out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, out + err
    nodes = {n["id"]: n for n in record(kjob_home, "waits")["nodes"]}
    assert nodes["b"]["phase"] == "Succeeded"
    assert nodes["b"]["outputs"]["result"] == f"{tmp_path}/b"


def test_a_file_is_split_into_its_documents_for_storing_one_by_one() -> None:
    from kjob.spec.templates_dir import split_documents

    text = "# header only\n---\na: 1\nb: |\n  ---\n  not a marker\n--- {c: 2}\n...\n---\n# just a comment\n"
    assert split_documents(text) == ["a: 1\nb: |\n  ---\n  not a marker\n", "{c: 2}\n"]


def test_template_documents_keep_each_templates_own_text_and_refuse_a_file_with_a_mistake(
    tmp_path: Path,
) -> None:
    from kjob.errors import SpecErrors
    from kjob.spec.templates_dir import template_documents

    text = GREET + "---\n" + LIB
    docs = template_documents("two.yaml", text)
    assert [(d.kind, d.name, d.text) for d in docs] == [
        ("WorkflowTemplate", "greet", GREET),
        ("ClusterWorkflowTemplate", "lib", LIB),
    ]
    with pytest.raises(SpecErrors) as raised:
        template_documents("two.yaml", text.replace("template: say", "template: nowhere"))
    assert "two.yaml:" in str(raised.value) and "nowhere" in str(raised.value)
