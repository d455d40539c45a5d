"""Calibrated on one WfCommons instance of an application, how well does ``kjob sim`` predict the others?

    .venv/bin/python bench/bench_sim_wfcommons.py            # every application in ../shared/data/wfinstances

For each application with several instances, the simulator is calibrated on each instance in turn
(``--calibrate TRACE``: the workflow system's effective concurrency, fitted to that trace's recorded
makespan; see sim/calibrate_trace.py) and predicts the recorded makespan of every other instance on
that instance's own recorded machines.  Without calibration (the recorded cores only) the predictions
are also shown: they are what ``kjob sim TRACE`` says before it is told anything.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.scenario import Scenario, load, simulator

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "wfinstances"


def makespan(path: Path, calibrate: Path | None) -> tuple[float, float]:
    """(predicted makespan, recorded makespan) of the trace at ``path``."""
    scn = Scenario(source=str(path), calibrate=str(calibrate) if calibrate else None)
    loaded = load(scn)
    recorded = loaded.workload.info["recorded_makespan"]
    return simulator(scn, loaded).run(0).makespan, float(recorded)


def main() -> int:
    apps: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(DATA.glob("*.json")):
        apps[path.name.split("-")[0]].append(path)
    print(
        f"{'application':12} {'calibrated on':28} {'K':>3}  {'predicted instance':28} {'recorded s':>10}"
        f" {'predicted s':>11} {'error':>7} {'uncalibrated':>12}"
    )
    for app, paths in apps.items():
        for base in paths:
            k = load(Scenario(source=str(base), calibrate=str(base))).trace_fit
            assert k is not None
            for other in paths:
                if other == base:
                    continue
                predicted, recorded = makespan(other, base)
                raw, _ = makespan(other, None)
                calibrated_on, instance = base.stem[len(app) + 1 :], other.stem[len(app) + 1 :]
                print(
                    f"{app:12} {calibrated_on:28} {k.parallelism:>3}  {instance:28} {recorded:>10.0f}"
                    f" {predicted:>11.0f} {(predicted - recorded) / recorded:>+7.1%}"
                    f" {(raw - recorded) / recorded:>+12.1%}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
