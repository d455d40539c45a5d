"""The pod around a task's main container (issue 12): ``containerSet``, ``initContainers``,
``sidecars`` and ``podSpecPatch`` — run on the local backend, rendered as Kubernetes Jobs (both with
native sidecars and with kjob's fallback), and refused with a located error when written wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kjob.backends.base import AttemptSpec
from kjob.errors import KjobError
from kjob.render import manifests, podpatch, podshape
from kjob.render.manifests import RunObject
from kjob.spec.model import Container, EnvVar
from tests.test_local_backend import write

# a -> (b, c) -> main, sharing an emptyDir; main prints the sorted log (its result), the log file is an
# output parameter; b fails once and runs again (the set's retries)
CONTAINER_SET = """\
  entrypoint: main
  templates:
  - name: main
    volumes: [{name: ws, emptyDir: {}}]
    containerSet:
      volumeMounts: [{name: ws, mountPath: /tmp/ws}]
      retryStrategy: {retries: "1"}
      containers:
      - {name: a, image: alpine, command: [sh, -c, "echo a >> /tmp/ws/log"]}
      - name: b
        image: alpine
        command: [sh, -c, "if [ -f /tmp/ws/b-ran ]; then echo b >> /tmp/ws/log; else touch /tmp/ws/b-ran; exit 3; fi"]
        dependencies: [a]
      - {name: c, image: alpine, command: [sh, -c, "echo c >> /tmp/ws/log"], dependencies: [a]}
      - name: main
        image: alpine
        command: [sh, -c, "head -1 /tmp/ws/log; sort /tmp/ws/log | tr -d '\\\\n'"]
        dependencies: [b, c]
    outputs:
      parameters: [{name: log, valueFrom: {path: /tmp/ws/log}}]
"""

# an init container prepares a file, a sidecar serves "up" until it is stopped, the main container
# waits for it; the podSpecPatch sets an env variable of the main container
POD = """\
  entrypoint: main
  arguments: {parameters: [{name: greeting, value: hello}]}
  podSpecPatch: '{"containers": [{"name": "main", "resources": {"limits": {"cpu": "100m"}}}]}'
  templates:
  - name: main
    volumes: [{name: ws, emptyDir: {}}]
    initContainers:
    - {name: prepare, image: alpine, command: [sh, -c, "echo prepared > /tmp/ws/init"], mirrorVolumeMounts: true}
    sidecars:
    - name: server
      image: alpine
      command: [sh, -c, "echo up > /tmp/ws/up; echo serving; sleep 300"]
      mirrorVolumeMounts: true
    podSpecPatch: |
      containers:
      - name: main
        env: [{name: GREETING, value: "{{workflow.parameters.greeting}}"}]
    container:
      image: alpine
      command: [sh, -c, 'while [ ! -f /tmp/ws/up ]; do sleep 0.05; done; cat /tmp/ws/init; echo "$GREETING"']
      volumeMounts: [{name: ws, mountPath: /tmp/ws}]
"""

# three independent tasks that each fail (or not) in their own way: a set whose container's
# dependency failed, an init container that fails (main never runs), and a sidecar that crashes
# (the task still succeeds)
FAILURES = """\
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: set, template: set}
      - {name: init, template: init}
      - {name: sidecar, template: sidecar}
  - name: set
    containerSet:
      containers:
      - {name: a, image: alpine, command: [sh, -c, "exit 4"]}
      - {name: main, image: alpine, command: [sh, -c, "echo never"], dependencies: [a]}
  - name: init
    initContainers:
    - {name: prepare, image: alpine, command: [sh, -c, "exit 5"]}
    container: {image: alpine, command: [echo, main ran]}
  - name: sidecar
    sidecars:
    - {name: crashes, image: alpine, command: [sh, -c, "echo crashing; exit 9"]}
    container: {image: alpine, command: [echo, main ran]}
"""


def logs_of(done: Any, container: str) -> str:
    (log,) = (done.home / "runs" / done.run_id() / "logs").glob(f"*.{container}.log")
    text: str = log.read_text()
    return text


def all_logs(done: Any) -> str:
    return "".join(p.read_text() for p in sorted((done.home / "runs" / done.run_id() / "logs").glob("*.log")))


# --------------------------------------------------------------------------------- local backend
def test_a_container_set_runs_its_graph_in_one_attempt(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, CONTAINER_SET))
    assert done.code == 0, done.stdout + done.stderr
    node = done.nodes()["main"]
    assert node["outputs"]["result"] == "a\nabc"  # a first; b and c in either order; main last
    assert sorted(node["outputs"]["parameters"]["log"].split("\n")) == ["a", "b", "c"]
    assert len(node["attempts"]) == 1  # b's retry ran inside the attempt


def test_failures_in_a_pod_fail_its_task_as_in_argo(kjob: Any, tmp_path: Path) -> None:
    done = kjob("run", write(tmp_path, FAILURES))
    assert done.code == 1, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["set"]["phase"] == "Failed"  # its main container did not run: its dependency failed
    assert "never" not in (nodes["set"]["outputs"]["result"] or "")
    assert 'dependency "a" exited with non-zero code: 4' in all_logs(done)
    assert nodes["init"]["phase"] == "Failed"  # the init container failed: main never ran
    assert nodes["init"]["message"] == "init container 'prepare': exit code 5"  # as on Kubernetes
    assert "main ran" not in (nodes["init"]["outputs"]["result"] or "")
    assert "init container 'prepare' failed: exit code 5" in all_logs(done)
    assert nodes["sidecar"]["phase"] == "Succeeded"  # a sidecar's failure is not the task's
    assert nodes["sidecar"]["outputs"]["result"] == "main ran"
    assert "crashing" in logs_of(done, "crashes")


# ------------------------------------------------------------------------------------ lint
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """\
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - {name: a, image: x, command: [true], dependencies: [b]}
      - {name: b, image: x, command: [true], dependencies: [a]}
""",
            "depend on each other in a cycle: a -> b -> a",
        ),
        (
            """\
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - {name: a, image: x, command: [true], dependencies: [zz]}
""",
            "depends on 'zz', which is no container of the set",
        ),
        (
            """\
  entrypoint: main
  templates:
  - name: main
    sidecars: [{name: a, image: x}]
    containerSet:
      containers: [{name: a, image: x, command: [true]}]
""",
            "has two containers named 'a'",
        ),
        (
            """\
  entrypoint: main
  templates:
  - name: main
    dag: {tasks: [{name: x, template: leaf}]}
    initContainers: [{name: a, image: x}]
  - {name: leaf, container: {image: x, command: [true]}}
""",
            "runs no pod of its own: 'initContainers' has no pod",
        ),
        (
            """\
  entrypoint: main
  templates:
  - name: main
    sidecars: [{name: a, image: x, restartPolicy: Always}]
    container: {image: x, command: [true]}
""",
            "'restartPolicy' is not supported by kjob yet",
        ),
    ],
)
def test_a_pod_written_wrong_is_a_located_error(kjob: Any, tmp_path: Path, body: str, message: str) -> None:
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "wf.yaml:" in done.stderr and "Traceback" not in done.stderr


# -------------------------------------------------------------------------------- rendering
RUN = RunObject("r", "ns", "uid")


def spec_of(**parts: Any) -> AttemptSpec:
    main = parts.pop("container", Container(image="alpine", command=("sh", "-c", "echo main")))
    return AttemptSpec(attempt_id="a", node_id="t", attempt=0, template_name="t", container=main, **parts)


def pod_of(spec: AttemptSpec, **options: Any) -> dict[str, Any]:
    job = manifests.job_manifest(spec, RUN, **options)
    pod: dict[str, Any] = job["spec"]["template"]["spec"]
    return pod


SIDECAR = Container(image="nginx", command=("nginx", "-g", "daemon off;"), name="web")
INIT = Container(image="alpine", command=("sh", "-c", "echo init"), name="init", mirror_volume_mounts=True)


def test_native_sidecars_are_restartable_init_containers_after_the_users() -> None:
    main = Container(
        image="alpine", command=("true",), extra={"volumeMounts": [{"name": "v", "mountPath": "/v"}]}
    )
    pod = pod_of(spec_of(container=main, init_containers=(INIT,), sidecars=(SIDECAR,)), native_sidecars=True)
    assert [c["name"] for c in pod["initContainers"]] == ["init", "web"]
    assert pod["initContainers"][0]["volumeMounts"] == [{"name": "v", "mountPath": "/v"}]  # mirrored
    assert pod["initContainers"][1]["restartPolicy"] == "Always"
    assert pod["initContainers"][1]["command"] == ["nginx", "-g", "daemon off;"]  # not wrapped
    assert [c["name"] for c in pod["containers"]] == ["main"]
    assert pod["containers"][0]["command"] == ["true"]
    assert "volumes" not in pod


def test_without_native_sidecars_kjob_stops_them_when_main_ends() -> None:
    pod = pod_of(spec_of(sidecars=(SIDECAR,)))
    main, web = pod["containers"]
    assert main["args"][:5] == ["-c", podshape.SET_WRAPPER, "kjob-set", "main", "0"]
    assert web["args"][:6] == ["-c", podshape.SIDECAR_WRAPPER, "kjob-sidecar", "10", "1", "main"]
    assert web["args"][6:] == ["nginx", "-g", "daemon off;"]
    for container in (main, web):
        assert {"name": podshape.POD_VOLUME, "mountPath": podshape.POD_DIR} in container["volumeMounts"]
    assert {"name": podshape.POD_VOLUME, "emptyDir": {}} in pod["volumes"]


def test_a_container_set_is_one_container_per_member_waiting_for_its_dependencies() -> None:
    a = Container(image="x", command=("echo", "a"), name="a")
    main = Container(image="x", command=("echo", "main"), name="main", dependencies=("a",))
    pod = pod_of(spec_of(container=main, container_set=(a, main), set_retries=2))
    first, last = pod["containers"]
    assert first["args"][2:7] == ["kjob-set", "a", "2", "", "0"]
    assert last["args"][2:8] == ["kjob-set", "main", "2", "", "1", "a"]
    assert last["args"][8:] == ["echo", "main"]


def test_a_container_set_without_a_command_is_refused_with_a_hint() -> None:
    a = Container(image="argoproj/argosay:v2", name="a")
    main = Container(image="x", command=("true",), name="main", dependencies=("a",))
    with pytest.raises(KjobError, match="container 'a' of template 't' has no command"):
        pod_of(spec_of(container=main, container_set=(a, main)))


def test_pod_spec_patches_merge_strategically_workflows_first() -> None:
    main = Container(image="x", command=("true",), env=(EnvVar("A", "1"),))
    patches = (
        '{"containers": [{"name": "main", "env": [{"name": "A", "value": "2"}], "resources": {"limits": {"cpu": "1"}}}]}',
        "nodeSelector: {disk: ssd}\ncontainers:\n- name: main\n  env: [{name: B, value: '3'}]\n",
    )
    pod = pod_of(spec_of(container=main, pod_spec_patches=patches))
    (container,) = pod["containers"]
    assert container["env"] == [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}]
    assert container["resources"] == {"limits": {"cpu": "1"}}
    assert container["image"] == "x"
    assert pod["nodeSelector"] == {"disk": "ssd"}


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}, {"a": {"c": 2}}),
        ({"tolerations": [{"key": "x"}]}, {"tolerations": [{"key": "y"}]}, {"tolerations": [{"key": "y"}]}),
        (
            {"volumes": [{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}]},
            {"volumes": [{"name": "a", "$patch": "delete"}, {"name": "c", "hostPath": {"path": "/c"}}]},
            {"volumes": [{"name": "b", "emptyDir": {}}, {"name": "c", "hostPath": {"path": "/c"}}]},
        ),
        ({"a": {"b": 1}}, {"a": {"$patch": "replace", "c": 2}}, {"a": {"c": 2}}),
    ],
)
def test_strategic_merge(target: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    assert podpatch.merge(target, patch) == expected


def test_a_broken_pod_spec_patch_is_an_error_naming_the_template() -> None:
    spec = spec_of(pod_spec_patches=('{"containers": [',))
    with pytest.raises(KjobError, match="podSpecPatch of template 't' is neither JSON nor YAML"):
        pod_of(spec)
    with pytest.raises(KjobError, match="must be a mapping"):
        pod_of(spec_of(pod_spec_patches=("[1, 2]",)))


# ------------------------------------------------------------------------- the wrappers in sh
def run_set(pod_dir: Path, name: str, retries: int, deps: list[str], *command: str, within: str = "") -> int:
    script = podshape.SET_WRAPPER.replace("d=/kjob/pod", f"d={pod_dir}")
    argv = ["sh", "-c", script, "kjob-set", name, str(retries), within, str(len(deps)), *deps, *command]
    return subprocess.run(argv, check=False, capture_output=True).returncode


def test_the_set_wrapper_retries_and_records_exit_codes(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    fail_twice = f'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ "$n" -ge 2 ]'
    assert run_set(tmp_path, "a", 2, [], "sh", "-c", fail_twice) == 0
    assert (tmp_path / "a.rc").read_text() == "0\n"
    assert run_set(tmp_path, "b", 0, [], "sh", "-c", "exit 7") == 7
    assert run_set(tmp_path, "c", 0, ["a", "b"], "touch", str(tmp_path / "ran")) == 1
    assert (tmp_path / "c.rc").read_text() == "1\n" and not (tmp_path / "ran").exists()
    counter.unlink()
    assert run_set(tmp_path, "d", 2, [], "sh", "-c", fail_twice, within="0") == 1  # no time left to retry
    assert counter.read_text() == "1\n"


def test_the_sidecar_wrapper_stops_its_command_once_the_mains_ended(tmp_path: Path) -> None:
    script = podshape.SIDECAR_WRAPPER.replace("d=/kjob/pod", f"d={tmp_path}")
    (tmp_path / "main.rc").write_text("0\n")  # main already ended: the sidecar is stopped at once
    argv = ["sh", "-c", script, "kjob-sidecar", "5", "1", "main", "sh", "-c", "sleep 300"]
    done = subprocess.run(
        argv, check=False, capture_output=True, text=True, timeout=30, start_new_session=True
    )
    assert done.returncode == 0
    assert "stopped as the main container ended" in done.stderr


def test_the_pod_spec_of_a_real_example_is_valid_yaml() -> None:
    pod = pod_of(spec_of(sidecars=(SIDECAR,), init_containers=(INIT,)))
    assert yaml.safe_load(yaml.safe_dump(pod)) == pod


def test_lint_warns_of_a_set_container_kjob_cannot_wrap(kjob: Any, tmp_path: Path) -> None:
    body = """\
  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers: [{name: a, image: argoproj/argosay:v2}, {name: main, image: x, command: [true]}]
"""
    done = kjob("lint", write(tmp_path, body))
    assert done.code == 0, done.stdout + done.stderr
    assert "wf.yaml:10:20: warning: container 'a' of template 'main' has no command" in done.stderr


# ------------------------------------------------------------------------------- golden plan
def _only_template(body: str, name: str) -> str:
    """The single template of one of the workflows above, renamed ``name``."""
    return body.split("  templates:\n", 1)[1].replace("  - name: main", f"  - name: {name}", 1)


GOLDEN_WORKFLOW = (
    "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: pods}\nspec:\n"
    "  entrypoint: main\n"
    "  arguments: {parameters: [{name: greeting, value: hello}]}\n"
    "  templates:\n"
    "  - name: main\n"
    "    dag: {tasks: [{name: set, template: set}, {name: pod, template: pod, dependencies: [set]}]}\n"
    + _only_template(CONTAINER_SET, "set")
    + _only_template(POD, "pod")
)


def test_the_jobs_of_a_pod_shape_plan_match_the_golden_files(tmp_path: Path, kjob_home: Path) -> None:
    from tests.test_render_waves import check_golden, files_of, plan

    wf = tmp_path / "pods.yaml"
    wf.write_text(GOLDEN_WORKFLOW)
    done = plan(tmp_path / "plan", kjob_home, str(wf))
    assert done.returncode == 0, done.stderr
    check_golden("pod-shape", files_of(tmp_path / "plan"))


# ----------------------------------------------------------------------------------- emulator
@pytest.mark.slow
def test_native_sidecars_and_init_containers_on_the_emulator(tmp_path: Path, kjob_home: Path) -> None:
    """The emulator (Kubernetes 1.31) keeps restartPolicy on init containers, so the sidecar is a
    native one there; the emulator runs init containers in order and stops native sidecars once the
    containers ended, as a kubelet does."""
    import subprocess
    import sys

    from kjob.testing.emulator import Emulator, HostProcess
    from kjob.testing.emulator import kubeconfig as emulator_kubeconfig
    from tests.conftest import REPO, kjob_env

    wf = tmp_path / "pods.yaml"
    wf.write_text(GOLDEN_WORKFLOW)
    with Emulator(lambda _view: HostProcess()) as emu:
        config = emulator_kubeconfig.write(tmp_path / "kubeconfig", emu.url, namespace="default")
        done = subprocess.run(
            [sys.executable, "-m", "kjob", "run", str(wf), "--backend", "kubernetes", "--run-id", "pods"],
            env=kjob_env(kjob_home, config),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (pod,) = [p for p in emu.store.items("pods") if p["metadata"]["labels"]["kjob.dev/task"] == "pod"]
    inits = pod["spec"]["initContainers"]
    assert [(c["name"], c.get("restartPolicy")) for c in inits] == [("prepare", None), ("server", "Always")]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["main"]
    states = [s["state"] for s in pod["status"]["initContainerStatuses"]]
    assert states[0]["terminated"]["exitCode"] == 0 and "terminated" in states[1]  # the sidecar was stopped
