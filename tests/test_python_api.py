"""The Python API as a user calls it: ``kjob.run(...)`` runs a workflow to its end and returns its
record (a failed run is a record, bad input an exception, never an exit or a printed line), and
``kjob.runs.*`` manages the run by id afterwards.  A ledger file tells what ran, not kjob's account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import kjob
from kjob.errors import KjobError, SpecErrors
from kjob.testing.emulator import Emulator, host_process

# a -> b -> c; b fails until the file `fixed` exists; each task appends its name to the ledger and
# prints what it was given.
CHAIN = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: chain-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: dir}, {name: word, value: hello}]
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: step, arguments: {parameters: [{name: n, value: a}]}}
      - {name: b, template: step, dependencies: [a], arguments: {parameters: [{name: n, value: b}]}}
      - {name: c, template: step, dependencies: [b], arguments: {parameters: [{name: n, value: c}]}}
  - name: step
    inputs: {parameters: [{name: n}]}
    container:
      image: alpine
      command: [sh, -c]
      args:
      - |
        echo "$N" >> "$DIR/ledger"
        if [ "$N" = b ] && [ ! -e "$DIR/fixed" ]; then echo "b is broken" >&2; exit 3; fi
        echo "$N says $WORD"
      env:
      - {name: N, value: "{{inputs.parameters.n}}"}
      - {name: DIR, value: "{{workflow.parameters.dir}}"}
      - {name: WORD, value: "{{workflow.parameters.word}}"}
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Runs recorded under the test's own KJOB_HOME, and no cluster configured."""
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return tmp_path / "home"


@pytest.fixture
def chain(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "chain.yaml").write_text(CHAIN)
    shared = tmp_path / "shared"
    shared.mkdir()
    return tmp_path / "chain.yaml", shared


def ledger(shared: Path) -> list[str]:
    return (shared / "ledger").read_text().split()


def test_run_returns_the_record_of_a_succeeded_run_with_outputs_and_prints_nothing(
    home: Path, chain: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    wf, shared = chain
    (shared / "fixed").touch()
    record = kjob.run(wf, parameters={"dir": str(shared), "word": 42})
    assert record.phase == "Succeeded"
    assert record.backend == "local" and record.parameters == {"dir": str(shared), "word": "42"}
    outputs = {node.task: node.outputs.result for node in record.nodes if node.parent}
    assert outputs == {"a": "a says 42", "b": "b says 42", "c": "c says 42"}
    assert ledger(shared) == ["a", "b", "c"]
    # recorded as `kjob run` records it: `kjob get` and kjob.runs read the same run
    assert (home / "runs" / record.run_id / "workflow.yaml").read_text() == CHAIN
    assert kjob.runs.get_run(record.run_id) == record
    assert capfd.readouterr() == ("", "")


def test_a_failed_run_is_a_failed_record_and_retry_runs_only_the_failed_task_again(
    home: Path, chain: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    wf, shared = chain
    failed = kjob.run(str(wf), parameters={"dir": str(shared)})
    assert failed.phase == "Failed"
    assert {n.task: n.phase for n in failed.nodes if n.parent} == {
        "a": "Succeeded",
        "b": "Failed",
        "c": "Omitted",
    }
    assert ledger(shared) == ["a", "b"]

    (shared / "fixed").touch()
    retried = kjob.runs.retry(failed.run_id[:-2])  # a unique prefix of the id is enough
    assert retried.run_id == failed.run_id and retried.phase == "Succeeded"
    assert ledger(shared) == ["a", "b", "b", "c"]  # a kept its outcome; b and what follows ran
    b = next(n for n in retried.nodes if n.task == "b")
    assert [a.id.rsplit("-", 1)[1] for a in b.attempts] == ["1"]  # a new attempt, after the failed 0

    with pytest.raises(KjobError, match="has already ended"):
        kjob.runs.stop(failed.run_id)
    gone = kjob.runs.delete(failed.run_id)
    assert gone.directory is not None and not Path(gone.directory).exists()
    assert capfd.readouterr() == ("", "")


def test_bad_input_raises_a_located_error_and_starts_nothing(
    home: Path, chain: tuple[Path, Path], tmp_path: Path
) -> None:
    wf, shared = chain
    bad = tmp_path / "bad.yaml"
    bad.write_text(CHAIN.replace("template: step, dependencies: [b]", "template: stpe, dependencies: [b]"))
    with pytest.raises(SpecErrors) as raised:
        kjob.run(bad, parameters={"dir": str(shared)})
    assert str(raised.value).startswith(f"{bad}:14:")
    assert "stpe" in str(raised.value)
    with pytest.raises(KjobError, match="unknown-parameter"):
        kjob.run(wf, parameters={"dir": str(shared), "unknown-parameter": 1})
    with pytest.raises(KjobError, match="queue: only for a run on Kubernetes"):
        kjob.run(wf, parameters={"dir": str(shared)}, queue="team-a")
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
    assert not (shared / "ledger").exists()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(host_process()) as emu:
        yield emu


def test_run_on_kubernetes_returns_the_record_and_leaves_the_run_in_the_cluster(
    emulator: Emulator, home: Path, chain: tuple[Path, Path], tmp_path: Path
) -> None:
    wf, shared = chain
    (shared / "fixed").touch()
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    record = kjob.run(wf, parameters={"dir": str(shared)}, kubeconfig=str(kubeconfig), run_id="chain-1")
    assert (record.run_id, record.phase, record.backend) == ("chain-1", "Succeeded", "kubernetes")
    assert {n.task: n.phase for n in record.nodes if n.parent} == dict.fromkeys("abc", "Succeeded")
    assert ledger(shared) == ["a", "b", "c"]
    assert [c["metadata"]["name"] for c in emulator.objects("configmaps", "default")].count("chain-1") == 1
    jobs = {j["metadata"]["labels"]["kjob.dev/run"] for j in emulator.objects("jobs", "default")}
    assert jobs == {"chain-1"}
