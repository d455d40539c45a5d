"""Fidelity: a real run of sleep tasks, calibrated from its own ``run.json`` and simulated with the
same parallelism, predicts the measured makespan within 5% -- for the local backend and for the
Kubernetes backend on the API emulator (each task a Job, its pod run as a host process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.testing.emulator import Emulator, host_process
from sim.durations import Fixed
from sim.scenario import Scenario, load, simulator

# 12 tasks of 0.3-1 s in a DAG with joins; one template per duration so each is calibrated alone
TASKS = {
    "a": (5, []),
    "b": (8, ["a"]),
    "c": (3, ["a"]),
    "d": (10, ["a"]),
    "e": (6, ["a"]),
    "f": (4, ["b", "c"]),
    "g": (7, ["d"]),
    "h": (3, ["e"]),
    "i": (9, ["f", "g"]),
    "j": (5, ["h"]),
    "k": (4, ["i", "j"]),
    "l": (6, []),
}


def sleeps_workflow() -> str:
    lines = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        "metadata: {name: sleeps}",
        "spec:",
        "  entrypoint: main",
        "  templates:",
        "  - name: main",
        "    dag:",
        "      tasks:",
    ]
    for name, (tenths, deps) in TASKS.items():
        lines.append(f"      - {{name: {name}, template: s{tenths}, dependencies: [{', '.join(deps)}]}}")
    for tenths in sorted({t for t, _ in TASKS.values()}):
        lines.append(f"  - name: s{tenths}")
        lines.append(f'    container: {{image: alpine, command: [sleep, "{tenths / 10}"]}}')
    return "\n".join(lines) + "\n"


def check_prediction(path: Path, run_id: str, backend: str) -> tuple[float, float]:
    """Calibrate from the run, simulate it 30 times with 3 slots, and return (predicted p50, with the
    start-up overhead left out), after checking the prediction is within 5% of the measured makespan."""
    scn = Scenario(source=str(path), calibrate=run_id, parallelism=3)
    loaded = load(scn)
    calibration = loaded.calibration
    assert calibration is not None and calibration.attempts == 12 and calibration.backend == backend
    assert 0 <= calibration.startup < 0.5
    measured = calibration.measured_makespan
    predicted = simulator(scn, loaded).monte_carlo(30, seed=1).summary()["makespan_p50"]
    error = (predicted - measured) / measured
    print(f"{backend}: measured {measured:.3f}s, predicted {predicted:.3f}s ({error:+.2%}),", end=" ")
    print(f"start-up {calibration.startup:.4f}s")
    assert abs(error) <= 0.05, (predicted, measured, calibration.summary())
    bare = Scenario(source=str(path), calibrate=run_id, parallelism=3, startup=Fixed(0.0))
    return predicted, simulator(bare, loaded).monte_carlo(30, seed=1).summary()["makespan_p50"]


def test_a_calibrated_simulation_predicts_a_local_run_within_5_percent(
    kjob: Any, kjob_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sleeps.yaml"
    path.write_text(sleeps_workflow())
    done = kjob("run", str(path), "--parallelism", "3", "--backend", "local")
    assert done.code == 0, done.stdout + done.stderr
    monkeypatch.setenv("KJOB_HOME", str(kjob_home))
    predicted, bare = check_prediction(path, done.run_id(), "local")
    assert bare < predicted  # without the fitted start-up overhead the prediction is optimistic


def test_a_calibrated_simulation_predicts_a_kubernetes_run_within_5_percent(
    kjob: Any, kjob_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sleeps.yaml"
    path.write_text(sleeps_workflow())
    with Emulator(host_process()) as emu:
        kubeconfig = str(emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default"))
        options = ["--backend=kubernetes", f"--kubeconfig={kubeconfig}", "-n", "default", "--parallelism=3"]
        done = kjob("run", str(path), *options)
    assert done.code == 0, done.stdout + done.stderr
    monkeypatch.setenv("KJOB_HOME", str(kjob_home))
    predicted, bare = check_prediction(path, done.run_id(), "kubernetes")
    assert bare < predicted
