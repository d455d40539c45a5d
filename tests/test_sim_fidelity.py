"""Fidelity: a real run of sleep tasks by the local backend, calibrated from its own ``run.json`` and
simulated with the same parallelism, predicts the measured makespan within 5%.

(The same check against the Kubernetes backend on the API emulator is not here yet: that backend is
being built alongside; the calibration reads the same ``run.json`` fields from it.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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


def test_a_calibrated_simulation_predicts_a_local_run_within_5_percent(
    kjob: Any, kjob_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sleeps.yaml"
    path.write_text(sleeps_workflow())
    done = kjob("run", str(path), "--parallelism", "3", "--backend", "local")
    assert done.code == 0, done.stdout + done.stderr
    monkeypatch.setenv("KJOB_HOME", str(kjob_home))
    scn = Scenario(source=str(path), calibrate=done.run_id(), parallelism=3)
    loaded = load(scn)
    calibration = loaded.calibration
    assert calibration is not None and calibration.attempts == 12
    assert 0 <= calibration.startup < 0.5
    measured = calibration.measured_makespan
    predicted = simulator(scn, loaded).monte_carlo(30, seed=1).summary()["makespan_p50"]
    print(f"measured {measured:.3f}s, predicted {predicted:.3f}s, start-up {calibration.startup:.4f}s")
    assert abs(predicted - measured) <= 0.05 * measured, (predicted, measured, calibration.summary())
    # without the fitted start-up overhead the prediction is optimistic
    bare = Scenario(source=str(path), calibrate=done.run_id(), parallelism=3, startup=Fixed(0.0))
    assert simulator(bare, loaded).monte_carlo(30, seed=1).summary()["makespan_p50"] < predicted
