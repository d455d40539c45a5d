"""Artifacts on the Kubernetes backend: a run workspace volume (``--workspace-pvc``) and the ``sh``
wrapper that copies them in and out.

The wrapper is run here with the real ``sh`` on awkward names and paths; the examples run through the
CLI against the API emulator, whose pods run as host processes with their own ``/tmp`` and share the
claim's directory, as pods mounting one claim do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kjob.backends import virtual
from kjob.backends.base import AttemptSpec, InputArtifact, OutputArtifactSpec, OutputParameterSpec
from kjob.engine.engine import Engine
from kjob.errors import KjobError
from kjob.render import manifests, workspace
from kjob.render.manifests import RunObject
from kjob.sandbox import detect_isolation
from kjob.spec import load_file
from kjob.spec.model import Container
from kjob.testing.emulator import Emulator, HostProcess, scripted
from tests.conftest import EXAMPLES, REPO, kjob_env

CLAIM = "kjob-work"
NS = "default"


# ----------------------------------------------------------------------------- the wrapper, real sh
def attempt(
    command: list[str],
    *,
    inputs: tuple[InputArtifact, ...] = (),
    outputs: tuple[OutputArtifactSpec, ...] = (),
    parameters: tuple[OutputParameterSpec, ...] = (),
) -> AttemptSpec:
    return AttemptSpec(
        attempt_id="t-0",
        node_id="t",
        attempt=0,
        template_name="t",
        container=Container(image="alpine", command=tuple(command)),
        input_artifacts=inputs,
        output_artifacts=outputs,
        output_parameters=parameters,
    )


def run_pod(spec: AttemptSpec, root: Path, cwd: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the container of ``spec``'s Job on this host as a kubelet would, with the workspace mount
    at ``root``: (the process, its termination message)."""
    job = manifests.job_manifest(spec, RunObject("r", NS, "uid", CLAIM))
    pod = job["spec"]["template"]["spec"]
    assert {"name": workspace.VOLUME, "persistentVolumeClaim": {"claimName": CLAIM}} in pod["volumes"]
    (container,) = pod["containers"]
    assert {"name": workspace.VOLUME, "mountPath": workspace.MOUNT} in container["volumeMounts"]
    argv = [*container["command"], *container["args"]]
    mounted = [str(root) + w[len(workspace.MOUNT) :] if w.startswith(workspace.MOUNT) else w for w in argv]
    termination = cwd / "termination-log"
    termination.write_text("")
    done = subprocess.run(
        mounted,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "KJOB_TERMINATION_LOG": str(termination)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done, termination.read_text()


AWKWARD = ["with space", "it's", 'say "hi"', "$(touch pwned)", "back\\slash", "-dash", "new\nline"]


@pytest.mark.parametrize("name", AWKWARD)
def test_wrapper_moves_files_and_directories_with_awkward_paths(tmp_path: Path, name: str) -> None:
    root, producer, consumer = tmp_path / "ws", tmp_path / "producer", tmp_path / "consumer"
    for d in (root, producer, consumer):
        d.mkdir()
    file_path, dir_path = f"{producer}/{name}.txt", f"{name} dir"  # an absolute and a relative path
    write = 'printf "%s" "$1" > "$2" && mkdir -p -- "$3/sub" && echo deep > "$3/sub/$4" && echo dot > "$3/.hidden"'
    spec = attempt(
        ["sh", "-c", write, "sh", f"payload {name}", file_path, dir_path, name],
        outputs=(OutputArtifactSpec("file", file_path), OutputArtifactSpec("tree", dir_path)),
        parameters=(OutputParameterSpec("p", file_path),),
    )
    done, message = run_pod(spec, root, producer)
    assert done.returncode == 0, done.stderr
    values, missing, problem = manifests.parse_outputs(spec, message)
    assert (values, missing, problem) == ({"p": f"payload {name}"}, [], None)
    stored = workspace.stored_artifacts(spec, "r", message)
    assert stored == {
        "file": workspace.location("r", "t", 0, "file"),
        "tree": workspace.location("r", "t", 0, "tree"),
    }
    assert (root / stored["file"]).read_text() == f"payload {name}"
    assert (root / stored["tree"] / "sub" / name).read_text() == "deep\n"
    assert not (producer / "pwned").exists() and not (root / "pwned").exists()

    in_file, in_dir = f"{consumer}/in {name}/data", f"{consumer}/{name}/tree"
    read = 'cat "$1" && cat "$2/sub/$3" "$2/.hidden"'
    reader = attempt(
        ["sh", "-c", read, "sh", in_file, in_dir, name],
        inputs=(
            InputArtifact("file", in_file, stored["file"]),
            InputArtifact("tree", in_dir, stored["tree"]),
        ),
    )
    done, _ = run_pod(reader, root, consumer)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"payload {name}deep\ndot\n"
    assert not (consumer / "pwned").exists()


def test_wrapper_reports_missing_outputs_and_keeps_the_exit_code(tmp_path: Path) -> None:
    root, cwd = tmp_path / "ws", tmp_path / "pod"
    root.mkdir()
    cwd.mkdir()
    outputs = (OutputArtifactSpec("needed", "/nowhere/needed"), OutputArtifactSpec("maybe", "maybe", True))
    spec = attempt(["true"], outputs=outputs)
    done, message = run_pod(spec, root, cwd)
    assert done.returncode == 0, done.stderr
    assert manifests.parse_outputs(spec, message) == ({}, ["needed"], None)
    assert workspace.stored_artifacts(spec, "r", message) == {}

    failing = attempt(["sh", "-c", "echo x > out; exit 7"], outputs=(OutputArtifactSpec("out", "out"),))
    done, _ = run_pod(failing, root, cwd)
    assert done.returncode == 7
    assert not (root / workspace.location("r", "t", 0, "out")).exists()  # a failed attempt stores nothing


def test_wrapper_stops_when_an_input_is_not_in_the_workspace(tmp_path: Path) -> None:
    root, cwd = tmp_path / "ws", tmp_path / "pod"
    root.mkdir()
    cwd.mkdir()
    spec = attempt(["touch", "ran"], inputs=(InputArtifact("in", "in", "runs/r/gone/0/in"),))
    done, _ = run_pod(spec, root, cwd)
    assert done.returncode == 1
    assert "kjob: input artifact 'in' is not in the workspace" in done.stderr
    assert not (cwd / "ran").exists()


def test_a_rerun_of_an_attempt_replaces_what_it_stored(tmp_path: Path) -> None:
    root, cwd = tmp_path / "ws", tmp_path / "pod"
    root.mkdir()
    cwd.mkdir()
    spec = attempt(
        ["sh", "-c", 'mkdir -p d && echo "$0" > "d/$0"', "a"], outputs=(OutputArtifactSpec("d", "d"),)
    )
    run_pod(spec, root, cwd)
    (cwd / "d" / "a").unlink()
    spec = attempt(
        ["sh", "-c", 'mkdir -p d && echo "$0" > "d/$0"', "b"], outputs=(OutputArtifactSpec("d", "d"),)
    )
    done, _ = run_pod(spec, root, cwd)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (root / workspace.location("r", "t", 0, "d")).iterdir()) == ["b"]


def test_no_workspace_for_an_attempt_with_artifacts_is_a_clear_error() -> None:
    spec = attempt(["true"], outputs=(OutputArtifactSpec("a", "/tmp/a"),))
    with pytest.raises(KjobError, match="needs a run workspace") as caught:
        manifests.job_manifest(spec, RunObject("r", NS, "uid"))
    assert caught.value.hint is not None and "--workspace-pvc" in caught.value.hint


def test_the_jobs_of_the_artifacts_example_are_valid_for_kubernetes() -> None:
    workflow = load_file(EXAMPLES / "02-artifacts.yaml").workflows[0]
    backend = virtual.VirtualBackend(virtual.scripted({}))
    assert Engine(workflow, backend, run_id="r").run().succeeded
    run = RunObject("r", NS, "uid", CLAIM)
    for _, spec in backend.submitted:
        job = manifests.job_manifest(spec, run)
        kubernetes_validate.validate(job, "1.31.0", strict=True)
        (container,) = job["spec"]["template"]["spec"]["containers"]
        wrappers = [a for a in container["args"] if a in ("kjob-outputs", "kjob-artifacts")]
        assert wrappers == (
            ["kjob-outputs", "kjob-artifacts"] if spec.output_artifacts else ["kjob-artifacts"]
        )


# ----------------------------------------------------------------------------------- on the emulator
@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Emulator, str]]:
    with Emulator(scripted(HostProcess(private_tmp=True))) as emu:
        core = emu.clients().core
        core.create_namespaced_persistent_volume_claim(
            NS,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": CLAIM},
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
            },
        )
        yield emu, str(emu.write_kubeconfig(tmp_path / "kubeconfig", namespace=NS))


def k8s_args(kubeconfig: str, *extra: str) -> list[str]:
    return ["--backend", "kubernetes", "--kubeconfig", kubeconfig, "-n", NS, *extra]


def pod_log(emu: Emulator, task: str) -> str:
    pods = [p for p in emu.objects("pods", NS) if p["metadata"]["labels"].get("kjob.dev/task") == task]
    assert len(pods) == 1
    return emu.pod_log(NS, pods[0]["metadata"]["name"])


def claim_dir(emu: Emulator) -> Path:
    return emu.workdir / "pvc" / NS / CLAIM


def test_artifacts_example_on_kubernetes_matches_the_local_backend(
    kjob: Any, cluster: tuple[Emulator, str]
) -> None:
    emu, kubeconfig = cluster
    local = kjob("run", str(EXAMPLES / "02-artifacts.yaml"), "--backend", "local")
    assert local.code == 0, local.stdout + local.stderr
    done = kjob("run", str(EXAMPLES / "02-artifacts.yaml"), *k8s_args(kubeconfig, "--workspace-pvc", CLAIM))
    assert done.code == 0, done.stdout + done.stderr

    def shape(nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            n: (v["phase"], v["outputs"]["parameters"], sorted(v["outputs"]["artifacts"]))
            for n, v in nodes.items()
        }

    nodes = done.nodes()
    assert shape(nodes) == shape(local.nodes())
    assert pod_log(emu, "process-data") == "Processing 1000 records\n"
    run = done.run_id()
    locator = nodes["extract-data"]["outputs"]["artifacts"]["data"]
    assert locator == workspace.location(run, "extract-data", 0, "data")
    stored = json.loads((claim_dir(emu) / locator).read_text())
    assert stored == {"records": 1000, "status": "extracted"}
    if detect_isolation().private_tmp:  # each pod had its own /tmp: the data went through the claim
        (placed,) = (emu.workdir / "pods" / NS).glob("*process-data*/tmp/input.json")
        assert json.loads(placed.read_text()) == stored
    configmap = emu.get("configmaps", NS, run)
    assert configmap is not None and configmap["data"][workspace.CONFIGMAP_KEY] == CLAIM


def test_a_workflow_with_artifacts_and_no_workspace_is_refused_before_anything_is_created(
    kjob: Any, cluster: tuple[Emulator, str]
) -> None:
    emu, kubeconfig = cluster
    emu.clear_audit()
    done = kjob("run", str(EXAMPLES / "02-artifacts.yaml"), *k8s_args(kubeconfig))
    assert done.code == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == (
        f"{EXAMPLES / '02-artifacts.yaml'}:38:9: error: template 'extract' passes artifact 'data': the "
        "kubernetes backend keeps artifacts in a run workspace volume, and none was given"
    )
    assert lines[1].strip().startswith("hint: name a PersistentVolumeClaim with --workspace-pvc NAME")
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert emu.audit() == []


def test_a_workspace_claim_that_does_not_exist_is_refused(kjob: Any, cluster: tuple[Emulator, str]) -> None:
    emu, kubeconfig = cluster
    emu.clear_audit()
    done = kjob("run", str(EXAMPLES / "02-artifacts.yaml"), *k8s_args(kubeconfig, "--workspace-pvc", "nope"))
    assert done.code == 2, done.stdout + done.stderr
    assert done.stderr.startswith(
        "error: --workspace-pvc nope: no PersistentVolumeClaim 'nope' in namespace default"
    )
    created = {e.resource for e in emu.audit(verb="create")}
    assert created <= {"selfsubjectaccessreviews"}  # only questions were asked; nothing was made


def test_resume_uses_the_workspace_of_the_run(
    kjob: Any, kjob_home: Path, cluster: tuple[Emulator, str]
) -> None:
    """The client dies once extract-data's Job exists; `kjob resume` (no flag) adopts it, finds the
    artifact where the wrapper stored it and passes it on, from the claim named in the run object."""
    emu, kubeconfig = cluster
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kjob",
            "run",
            str(EXAMPLES / "02-artifacts.yaml"),
            *k8s_args(kubeconfig, "--workspace-pvc", CLAIM),
        ],
        env=kjob_env(kjob_home),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    emu.wait_for(
        lambda: emu.audit_counts(verb="create", resource="jobs", code=201, dry_run=False), timeout=60
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    (run,) = [
        c["metadata"]["name"] for c in emu.objects("configmaps", NS) if workspace.CONFIGMAP_KEY in c["data"]
    ]

    done = kjob("resume", run, "--kubeconfig", kubeconfig, "-n", NS)
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    assert nodes["process-data"]["phase"] == "Succeeded"
    assert pod_log(emu, "process-data") == "Processing 1000 records\n"
    created = emu.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)
    assert len(created) == 2 and set(created.values()) == {1}


FAN_OUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fan}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: make, template: make, arguments: {parameters: [{name: n, value: "{{item}}"}]}, withItems: [1, 2, 3]}
  - name: make
    inputs: {parameters: [{name: n}]}
    container: {image: alpine, command: [sh, -c, "echo {{inputs.parameters.n}} > /tmp/out"]}
    outputs: {artifacts: [{name: out, path: /tmp/out}]}
"""


def test_the_items_of_a_fan_out_store_their_artifacts_apart(
    kjob: Any, cluster: tuple[Emulator, str], tmp_path: Path
) -> None:
    """Items with artifacts are not batched into one Indexed Job: each has its own place."""
    emu, kubeconfig = cluster
    wf = tmp_path / "fan.yaml"
    wf.write_text(FAN_OUT)
    done = kjob("run", str(wf), *k8s_args(kubeconfig, "--workspace-pvc", CLAIM))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    for n in (1, 2, 3):
        locator = nodes[f"make({n - 1}:{n})"]["outputs"]["artifacts"]["out"]
        assert (claim_dir(emu) / locator).read_text() == f"{n}\n"
