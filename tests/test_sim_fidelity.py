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


VARIED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: varied}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: w, arguments: {parameters: [{name: t, value: "0.4"}]}}
      - name: each
        template: w
        dependencies: [first]
        arguments: {parameters: [{name: t, value: "{{item}}"}]}
        withItems: ["0.5", "2.5", "0.7", "1.9", "0.2", "1.1"]
      - {name: last, template: w, dependencies: [each], arguments: {parameters: [{name: t, value: "0.3"}]}}
  - name: w
    retryStrategy: {limit: 2}
    inputs: {parameters: [{name: t}]}
    container: {image: alpine, command: [sleep, "{{inputs.parameters.t}}"]}
"""


def test_replay_reproduces_a_recorded_run_with_each_tasks_own_time_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items of one template take different times, and one item failed once: calibrating per template
    cannot know which item was slow, replaying the record can, to the millisecond."""
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    path = tmp_path / "varied.yaml"
    path.write_text(VARIED)
    wf = load_text(VARIED, path=str(path)).workflows[0]

    def outcome(spec: AttemptSpec) -> Outcome:
        seconds = float(spec.container.command[-1])
        failing = seconds == 1.9 and spec.attempt == 0  # the fourth item fails once, after 1.9 s too
        return Outcome(duration=seconds, exit_code=1 if failing else 0)

    backend = VirtualBackend(outcome, start_latency=0.25)
    run_dir = RunDir.create("varied-virtual")
    recorder = RunRecorder(run_dir, header={"run_id": run_dir.run_id, "backend": backend.name}, clock_now=0.0)
    engine = Engine(
        wf, backend, run_id=run_dir.run_id, options=EngineOptions(parallelism=2), observers=[recorder]
    )
    result = engine.run()
    recorder.finish(result)
    assert result.phase is Phase.SUCCEEDED

    from sim.scenario import Scenario, load, simulator

    replay = Scenario(source=str(path), calibrate=run_dir.run_id, parallelism=2, replay=True)
    loaded = load(replay)
    assert loaded.calibration is not None
    replayed = simulator(replay, loaded).run(0)
    assert replayed.makespan == pytest.approx(loaded.calibration.measured_makespan, abs=0.01)
    assert int(replayed.attempts.sum()) == 9  # 8 tasks, one of them twice
    sources = {(a.what, a.source) for a in loaded.assumptions}
    assert ("duration", f"recorded run {run_dir.run_id}") in sources
