"""The Jobs the Kubernetes backend creates: valid against the real OpenAPI schema, deterministic
names within 63 characters, and outputs that survive the trip through the termination message."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

from kjob.backends.base import AttemptSpec, OutputParameterSpec
from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine
from kjob.render import manifests, names
from kjob.render.manifests import RunObject
from kjob.spec import load_file
from kjob.spec.model import Container
from tests.conftest import EXAMPLES

RUN = RunObject("data-pipeline-x7k2p", "data-processing", "0b5c9a8e-1111-2222-3333-444455556666")
OUTPUTS = {
    "check-size": Outcome(parameters={"size": "1500"}, stdout="1500"),
    "partition": Outcome(parameters={"partitions": '["a", "b"]'}),
}


def attempts_of(example: str) -> list[AttemptSpec]:
    workflow = load_file(EXAMPLES / example).workflows[0]
    backend = VirtualBackend(scripted(OUTPUTS))
    result = Engine(workflow, backend, run_id=RUN.run_id).run()
    assert result.succeeded, result.message
    return [spec for _, spec in backend.submitted]


@pytest.mark.parametrize(
    "example", sorted(p.name for p in EXAMPLES.glob("*.yaml") if "artifacts" not in p.name)
)
def test_every_job_of_every_example_is_valid_for_kubernetes(example: str) -> None:
    for spec in attempts_of(example):
        job = manifests.job_manifest(spec, RUN, ttl_seconds_after_finished=600)
        kubernetes_validate.validate(job, "1.31.0", strict=True)
        name = job["metadata"]["name"]
        assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
        assert job["spec"]["backoffLimit"] == 0
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        assert job["metadata"]["ownerReferences"] == [RUN.owner_reference()]
        assert job["metadata"]["labels"][names.LABEL_RUN] == RUN.run_id


def test_names_are_deterministic_unique_and_fit() -> None:
    specs = attempts_of("05-parallel-withparam.yaml")
    first = [manifests.job_manifest(s, RUN)["metadata"]["name"] for s in specs]
    again = [manifests.job_manifest(s, RUN)["metadata"]["name"] for s in specs]
    assert first == again
    assert len(set(first)) == len(first)
    long_run = RunObject("r" * 60, "ns", "uid")
    name = names.job_name(long_run.run_id, "process-partition(9:partition-9)", 12)
    assert len(name) == 63 and name.endswith("-12")
    assert names.job_name(long_run.run_id, "a(1:x)", 0) != names.job_name(long_run.run_id, "a(1-x)", 0)


def test_resources_env_and_pod_fields_pass_through() -> None:
    crunch = next(s for s in attempts_of("06-resources.yaml") if s.task_name == "crunch")
    container = manifests.job_manifest(crunch, RUN)["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"memory": "4Gi", "cpu": "2"},
        "limits": {"memory": "8Gi", "cpu": "4"},
    }
    assert container["image"] == "python:3.9"


def test_a_script_runs_from_the_run_configmap() -> None:
    check = next(s for s in attempts_of("03-conditional.yaml") if s.task_name == "check-data-size")
    job = manifests.job_manifest(check, RUN)
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python"]
    assert container["args"] == [f"{manifests.SCRIPT_DIR}/script"]
    key = manifests.script_key(check.container.source or "")
    assert pod["volumes"] == [
        {
            "name": "kjob-script",
            "configMap": {
                "name": RUN.run_id,
                "items": [{"key": key, "path": "script"}],
                "defaultMode": 0o755,
            },
        }
    ]  # executable: a script may also be run as a program
    assert container["terminationMessagePath"] == "/tmp/size"  # one output: its file is the message


def spec_with_outputs(*outs: tuple[str, str]) -> AttemptSpec:
    return AttemptSpec(
        attempt_id="a-0",
        node_id="a",
        attempt=0,
        template_name="t",
        container=Container(image="x", command=("true",)),
        output_parameters=tuple(OutputParameterSpec(n, p) for n, p in outs),
    )


def test_the_outputs_wrapper_carries_any_text_through_json(tmp_path: Path) -> None:
    """Run the real POSIX sh wrapper: awkward values come back byte for byte."""
    values = {"quote": 'say "hi"\\n', "tabs": "a\tb\r\nline two\n\nlast", "unicode": "żółw ✓", "empty": ""}
    files = {name: tmp_path / name for name in values}
    for name, text in values.items():
        files[name].write_text(text)
    spec = spec_with_outputs(*((n, str(p)) for n, p in files.items()), ("missing", str(tmp_path / "nope")))
    job = manifests.job_manifest(spec, RUN)
    container = job["spec"]["template"]["spec"]["containers"][0]
    log = tmp_path / "termination-log"
    argv = [*container["command"], *container["args"]]
    env = dict(os.environ, KJOB_TERMINATION_LOG=str(log))
    done = subprocess.run(argv, env=env, check=False)
    assert done.returncode == 0
    parsed, missing, problem = manifests.parse_outputs(spec, log.read_text())
    assert problem is None
    assert missing == ["missing"]
    assert parsed == {n: v.rstrip("\r\n") for n, v in values.items()}


def test_the_wrapper_keeps_the_commands_exit_code(tmp_path: Path) -> None:
    spec = spec_with_outputs(("a", str(tmp_path / "a")), ("b", str(tmp_path / "b")))
    spec = dataclasses.replace(spec, container=Container(image="x", command=("sh", "-c", "exit 7")))
    job = manifests.job_manifest(spec, RUN)
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = dict(os.environ, KJOB_TERMINATION_LOG=str(tmp_path / "log"))
    assert subprocess.run([*container["command"], *container["args"]], env=env, check=False).returncode == 7


def test_outputs_over_the_message_limit_are_an_error() -> None:
    spec = spec_with_outputs(("a", "/tmp/a"), ("b", "/tmp/b"))
    _, _, problem = manifests.parse_outputs(spec, '{"a": "' + "x" * 5000 + '"}')
    assert problem is not None and "4096 byte termination-message limit" in problem
