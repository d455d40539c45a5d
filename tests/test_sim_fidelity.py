"""Fidelity: a simulation calibrated from a run's own ``run.json`` predicts that run.

In virtual time the engine's run is exactly known, so the prediction must match it to the record's
millisecond rounding.  Real runs (the local backend, the Kubernetes backend on the API emulator) are
checked for what does not depend on how busy the machine is: calibration reads their records right.
How close a prediction comes to a real run on a given machine is measured, not asserted:
bench/bench_sim_fidelity.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.bench_sim_fidelity import PARALLELISM, SLEEPS, predict, sleeps_workflow
from kjob.backends.base import AttemptSpec
from kjob.backends.virtual import Outcome, VirtualBackend
from kjob.engine.engine import Engine, EngineOptions
from kjob.engine.record import RunRecorder
from kjob.engine.state import Phase
from kjob.rundir import RunDir
from kjob.spec import load_text
from kjob.testing.emulator import Emulator, host_process

CRITICAL_PATH = 0.5 + 1.0 + 0.7 + 0.9 + 0.4  # a, d, g, i, k: no run of the sleeps can be shorter


def sleep_of(spec: AttemptSpec) -> Outcome:
    return Outcome(duration=int(spec.template_name[1:]) / 10)  # template sN sleeps N tenths


def virtual_run(path: Path, start_latency: float) -> str:
    """Run the sleeps in virtual time, recording ``run.json`` as ``kjob run`` does; return the run id."""
    wf = load_text(path.read_text(), path=str(path)).workflows[0]
    backend = VirtualBackend(sleep_of, start_latency=start_latency)
    run_dir = RunDir.create("sleeps-virtual")
    recorder = RunRecorder(run_dir, header={"run_id": run_dir.run_id, "backend": backend.name}, clock_now=0.0)
    engine = Engine(
        wf,
        backend,
        run_id=run_dir.run_id,
        options=EngineOptions(parallelism=PARALLELISM),
        observers=[recorder],
    )
    result = engine.run()
    recorder.finish(result)
    assert result.phase is Phase.SUCCEEDED
    return run_dir.run_id


@pytest.mark.parametrize("start_latency", [0.0, 0.05, 0.4, 2.0])
def test_a_calibrated_simulation_predicts_an_engine_run_in_virtual_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_latency: float
) -> None:
    """The simulator's dispatch rules are the engine's, and calibration recovers the start-up
    latency and durations from the record: the prediction is the run, to the millisecond."""
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    path = tmp_path / "sleeps.yaml"
    path.write_text(sleeps_workflow())
    measured, predicted, startup = predict(path, virtual_run(path, start_latency))
    assert startup == pytest.approx(start_latency, abs=0.002)
    assert measured >= CRITICAL_PATH + 5 * start_latency - 0.005
    assert predicted == pytest.approx(measured, abs=0.01)


def check_record(path: Path, run_id: str, backend: str) -> None:
    """Calibration says what the record says, whatever the machine's load was."""
    record = RunDir.find(run_id).read_record()
    attempts = [a for node in record["nodes"] for a in node["attempts"]]
    scn_measured, predicted, startup = predict(path, run_id)
    assert record["backend"] == backend and len(attempts) == len(SLEEPS)
    assert scn_measured == pytest.approx(max(a["finished"] for a in attempts) - record["started"])
    assert scn_measured >= CRITICAL_PATH  # a sleep never ends early
    assert startup >= 0 and predicted >= CRITICAL_PATH


def test_calibration_reads_a_local_run(
    kjob: Any, kjob_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sleeps.yaml"
    path.write_text(sleeps_workflow())
    done = kjob("run", str(path), "--parallelism", str(PARALLELISM), "--backend", "local")
    assert done.code == 0, done.stdout + done.stderr
    monkeypatch.setenv("KJOB_HOME", str(kjob_home))
    check_record(path, done.run_id(), "local")


def test_calibration_reads_a_kubernetes_run(
    kjob: Any, kjob_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sleeps.yaml"
    path.write_text(sleeps_workflow())
    with Emulator(host_process()) as emu:
        kubeconfig = str(emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default"))
        options = ["--backend=kubernetes", f"--kubeconfig={kubeconfig}", "-n", "default"]
        done = kjob("run", str(path), *options, f"--parallelism={PARALLELISM}")
    assert done.code == 0, done.stdout + done.stderr
    monkeypatch.setenv("KJOB_HOME", str(kjob_home))
    check_record(path, done.run_id(), "kubernetes")
