"""Argo's semantics on the local backend where kjob used to differ (issue 12): a script runs by an
absolute path, volumes are mapped or refused, undeclared arguments are ignored, workflow labels and
annotations resolve, and ``dag.target`` may be templated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.test_local_backend import private_tmp, write

SCRIPT_BY_PATH = """\
  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      command: [sh, -c]
      source: |
        echo from a script run by path
"""


def test_a_script_with_sh_c_runs_by_its_absolute_path(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, SCRIPT_BY_PATH))
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["main"]["outputs"]["result"] == "from a script run by path"


def test_the_rendered_job_runs_the_script_by_its_absolute_path(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", "--dry-run", "-o", "yaml", write(tmp_path, SCRIPT_BY_PATH))
    assert done.code == 0, done.stdout + done.stderr
    jobs = [d for d in yaml.safe_load_all(done.stdout) if d and d.get("kind") == "Job"]
    (container,) = jobs[0]["spec"]["template"]["spec"]["containers"]
    assert container["command"] + container["args"] == ["sh", "-c", "/kjob/script/script"]


def volumes_workflow(volumes: str, mount: str, command: str) -> str:
    return f"""\
  entrypoint: main
  templates:
  - name: main
    volumes: {volumes}
    container:
      image: alpine
      command: [sh, -c, '{command}']
      volumeMounts: {mount}
"""


@private_tmp
def test_an_empty_dir_is_a_fresh_directory_at_its_mount_path(kjob: Any, tmp_path: Path) -> None:
    body = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: use}
      - {name: b, template: use}
  - name: use
    volumes: [{name: scratch, emptyDir: {}}]
    container:
      image: alpine
      command: [sh, -c, 'ls /tmp/scratch | wc -l; echo $KJOB_TASK > /tmp/scratch/who; sleep 0.3']
      volumeMounts: [{name: scratch, mountPath: /tmp/scratch}]
    outputs: {parameters: [{name: who, valueFrom: {path: /tmp/scratch/who}}]}
"""
    done = kjob("run", write(tmp_path, body))
    assert done.code == 0, done.stdout + done.stderr
    for task in ("a", "b"):
        node = done.nodes()[task]
        assert node["outputs"]["result"].strip() == "0"  # empty, and not the other task's
        assert node["outputs"]["parameters"] == {"who": task}


@private_tmp
def test_a_host_path_is_the_host_directory(kjob: Any, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("from the host\n")
    volumes = f"[{{name: data, hostPath: {{path: {shared}}}}}]"
    mounts = f"[{{name: data, mountPath: {shared}}}, {{name: data, mountPath: /tmp/linked}}]"
    wf = write(
        tmp_path, volumes_workflow(volumes, mounts, f"cat /tmp/linked/in.txt; echo out > {shared}/out.txt")
    )
    done = kjob("run", wf)
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["main"]["outputs"]["result"] == "from the host"
    assert (shared / "out.txt").read_text() == "out\n"


def test_a_volume_the_host_cannot_provide_is_refused_before_the_run(kjob: Any, tmp_path: Path) -> None:
    volumes = "[{name: conf, configMap: {name: settings}}]"
    wf = write(tmp_path, volumes_workflow(volumes, "[{name: conf, mountPath: /tmp/conf}]", "ls /tmp/conf"))
    done = kjob("run", wf)
    assert done.code == 2, done.stdout + done.stderr
    assert f"{wf}:10:5: error: template 'main': volume 'conf' is a configMap volume" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (done.home / "runs").exists() or not list((done.home / "runs").iterdir())
    linted = kjob("lint", wf)
    assert linted.code == 0, linted.stdout + linted.stderr
    assert f"{wf}:10:5: warning: on the local backend: template 'main': volume 'conf'" in linted.stderr


def test_a_mount_path_the_task_cannot_see_is_refused(kjob: Any, tmp_path: Path) -> None:
    volumes = "[{name: vol, emptyDir: {}}]"
    wf = write(tmp_path, volumes_workflow(volumes, "[{name: vol, mountPath: /mnt/vol}]", "ls /mnt/vol"))
    done = kjob("run", wf)
    assert done.code == 2, done.stdout + done.stderr
    assert "volume 'vol' is mounted at /mnt/vol, outside /tmp" in done.stderr
    assert "hint: mount it under /tmp/..." in done.stderr


UNDECLARED = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: a
        template: echo
        arguments: {parameters: [{name: msg, value: hello}, {name: colour, value: red}]}
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
"""


def test_an_argument_the_template_does_not_declare_is_ignored(kjob: Any, tmp_path: Path) -> None:
    wf = write(tmp_path, UNDECLARED)
    linted = kjob("lint", wf)
    assert linted.code == 0, linted.stdout + linted.stderr
    assert (
        f"{wf}:13:61: warning: task 'a' passes parameter 'colour', which template 'echo' does not declare: "
        "it is ignored"
    ) in linted.stderr
    done = kjob("run", wf)
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["a"]["outputs"]["result"] == "hello"


METADATA_AND_TARGET = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: t-
  labels: {team: data}
  annotations: {example.com/owner: alice}
spec:
  entrypoint: main
  arguments: {parameters: [{name: only, value: b}]}
  templates:
  - name: main
    dag:
      target: "{{workflow.parameters.only}}"
      tasks:
      - {name: a, template: echo, arguments: {parameters: [{name: msg, value: a}]}}
      - name: b
        template: echo
        arguments:
          parameters:
          - {name: msg, value: "{{workflow.annotations.example.com/owner}} of {{workflow.labels.team}}"}
  - name: echo
    inputs: {parameters: [{name: msg}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.msg}}"]}
"""


def test_workflow_labels_and_annotations_resolve_and_a_target_may_be_templated(
    kjob: Any, tmp_path: Path
) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(METADATA_AND_TARGET)
    done = kjob("run", str(wf))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["b"]["outputs"]["result"] == "alice of data"
    assert "a" not in nodes  # not a target, and b does not need it
    again = kjob("run", str(wf), "-p", "only=a")
    assert again.code == 0, again.stdout + again.stderr
    assert set(again.nodes()) >= {"a"} and "b" not in again.nodes()


def test_a_label_the_workflow_does_not_have_is_a_located_error(kjob: Any, tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(METADATA_AND_TARGET.replace("workflow.labels.team", "workflow.labels.tema"))
    done = kjob("lint", str(wf))
    assert done.code == 2
    assert f"{wf}:20:81: error: the workflow has no label 'tema'" in done.stderr
    assert "hint: did you mean 'team'?" in done.stderr


BOTH_LEVELS = """\
  entrypoint: main
  volumes: [{name: shared, emptyDir: {}}]
  templates:
  - name: main
    volumes: [{name: own, emptyDir: {}}]
    container:
      image: alpine
      command: [sh, -c, 'touch /tmp/a/x /tmp/b/y && ls /tmp/a /tmp/b']
      volumeMounts: [{name: shared, mountPath: /tmp/a}, {name: own, mountPath: /tmp/b}]
"""


@private_tmp
def test_workflow_and_template_volumes_add_up(kjob: Any, tmp_path: Path) -> None:
    wf = write(tmp_path, BOTH_LEVELS)
    done = kjob("run", wf)
    assert done.code == 0, done.stdout + done.stderr
    assert done.nodes()["main"]["outputs"]["result"].split() == ["/tmp/a:", "x", "/tmp/b:", "y"]
    rendered = kjob("run", "--dry-run", "-o", "yaml", wf)
    jobs = [d for d in yaml.safe_load_all(rendered.stdout) if d and d.get("kind") == "Job"]
    names = [v["name"] for v in jobs[0]["spec"]["template"]["spec"]["volumes"]]
    assert names == ["shared", "own"]
