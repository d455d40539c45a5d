"""Issue 12 on the Kubernetes backend, against the API emulator: the engine both backends share
aggregates a loop's outputs as Argo does, and reads a skipped producer's output through the defaults
(outputs come back through pod logs and termination messages here, not files)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import kjob
from kjob.testing.emulator import Emulator, host_process
from tests.test_local_backend import write
from tests.test_local_loop_outputs import LOOP, SKIPPED


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with Emulator(host_process()) as emu:
        yield emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")


def test_loop_outputs_and_a_skipped_producers_defaults_on_the_cluster_backend(
    kubeconfig: Path, tmp_path: Path
) -> None:
    loop = kjob.run(write(tmp_path, LOOP, "loop.yaml"), kubeconfig=str(kubeconfig), run_id="loop-1")
    assert loop.phase == "Succeeded", loop.message
    nodes = {n.id: n for n in loop.nodes}
    each = sorted(n.inputs["text"] for n in loop.nodes if n.task == "each" and not n.group)
    assert each == ["blue=4", "red=3"]
    whole = nodes["whole"].inputs
    assert json.loads(whole["text"]) == [{"word": "red", "size": 3}, {"word": "blue", "size": 4}]
    assert whole["words"] == '["red","blue"]'

    skipped = kjob.run(write(tmp_path, SKIPPED, "skipped.yaml"), kubeconfig=str(kubeconfig), run_id="skip-1")
    assert skipped.phase == "Error"  # its one failure is an error: the run ends as Argo ends it
    phases = {n.id: (n.phase, n.inputs.get("text")) for n in skipped.nodes}
    assert phases["from-producer"] == ("Succeeded", "from-the-producer")
    assert phases["from-consumer"] == ("Succeeded", "from-the-consumer")
    assert phases["no-default"][0] == "Error"
