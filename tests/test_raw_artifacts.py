"""Raw input artifacts (``raw: {data: ...}``) and an input artifact's ``mode``: the content is written at
the artifact's path as the task starts, on the local backend, on the API emulator and on the real cluster
(``KJOB_TEST_KUBECONFIG``), without a run workspace; a task's argument overrides the template's own, and
references in it render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.backends.base import InputArtifact
from kjob.errors import SpecErrors
from kjob.render import workspace
from kjob.render.manifests import RunObject, job_manifest
from kjob.spec.loader import load_text
from tests.k8s_runs import Runner
from tests.realk8s import namespace
from tests.test_k8s_artifacts import attempt

RAW = Path(__file__).resolve().parent / "data" / "raw_artifacts.yaml"


def seen(nodes: dict[str, dict[str, Any]]) -> dict[str, str]:
    """What each step read from its raw artifact, and the mode `moded`'s was given (0750, octal as
    Argo's YAML 1.1 reads it)."""
    found = {name: nodes[name]["outputs"]["parameters"]["seen"] for name in ("own", "given")}
    return {**found, "mode": nodes["moded"]["outputs"]["parameters"]["mode"]}


EXPECTED = {"own": "hello world", "given": "from the caller\n$HOME stays as written", "mode": "750"}


def test_raw_artifacts_on_the_local_backend(tmp_path: Path) -> None:
    done = Runner(tmp_path).local(RAW)
    assert done.code == 0, done.stdout + done.stderr
    assert seen(done.nodes()) == EXPECTED


def test_raw_artifacts_on_the_emulator_need_no_workspace(tmp_path: Path) -> None:
    run = Runner(tmp_path).kubernetes(RAW)
    assert run.done.code == 0, run.done.stdout + run.done.stderr
    assert seen(run.done.nodes()) == EXPECTED


def test_a_raw_artifact_is_written_by_a_wrapper_that_takes_its_content_as_an_argument() -> None:
    spec = attempt(
        ["cat", "/tmp/a"],
        inputs=(InputArtifact(name="a", path="/tmp/a", source="", raw="it's $(not run)"),),
    )
    assert not workspace.needed(spec)
    container = job_manifest(spec, RunObject("r", "default", "uid", None))["spec"]["template"]["spec"]
    [main] = container["containers"]
    assert main["command"] == ["sh"]
    assert main["args"][:5] == ["-c", workspace.RAW_WRITER, "kjob-raw", "1", "/tmp/a"]
    assert main["args"][5:] == ["it's $(not run)", "cat", "/tmp/a"]
    assert "volumes" not in container


@pytest.mark.real_cluster
def test_raw_artifacts_on_the_real_cluster(tmp_path: Path) -> None:
    with namespace("kjob-raw") as ns:
        done = Runner(tmp_path).on_cluster(ns.kubeconfig, ns.name, RAW)
        assert done.code == 0, done.stdout + done.stderr
        assert seen(done.nodes()) == EXPECTED


def test_a_raw_artifact_without_data_is_a_located_error() -> None:
    text = RAW.read_text().replace(
        "          data: |\n            hello {{inputs.parameters.who}}\n", "          {}\n"
    )
    with pytest.raises(SpecErrors) as raised:
        load_text(text, path="raw.yaml")
    [error] = raised.value.errors
    assert (error.message, error.line) == ("raw artifact 'greeting' has no data", 49)
