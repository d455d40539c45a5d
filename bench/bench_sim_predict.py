"""Does ``kjob sim`` predict a run it has not seen?  Calibrate from one recorded run, predict another.

    .venv/bin/python bench/bench_sim_predict.py --backend local
    .venv/bin/python bench/bench_sim_predict.py --backend kubernetes --kubeconfig ~/.cache/realk8s/kubeconfig
    .venv/bin/python bench/bench_sim_predict.py --only fanout --runs 3

Four workflows of sleep tasks, each run ``--runs`` times (default 2) with ``kjob run`` in a fresh
``KJOB_HOME`` (on Kubernetes each run in a namespace of its own, deleted afterwards):

- ``chain``: 8 tasks one after another (0.5-1.2 s);
- ``fanout``: one task, a 100-item ``withParam`` fan-out of 1 s tasks, one join; ``--parallelism 8``;
- ``diamond``: a task, two ``withItems`` fan-outs of 12 items (0.6 s and 1 s) side by side, a join of both,
  then a third fan-out of 12 items (0.8 s); ``--parallelism 6``;
- ``when``: a task, then either a 2 s or a 0.5 s task by a ``when`` on its output, then a join.

For run k the simulator is calibrated from run k-1 (a DIFFERENT run: per-template durations, the
start-up overhead, the fan-out widths and the branch taken) and predicts the median makespan of 30
simulated runs; the error is (predicted - measured) / measured.  Goals: |error| <= 5% on the local
backend, <= 10% on the real control plane of ../shared/realk8s.  The machine's load moves both, so the
load average is printed and the figures are measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.scenario import Scenario, load, simulator

GOALS = {"local": 0.05, "kubernetes": 0.10}


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    parallelism: int | None = None


def _container(name: str, seconds: float) -> str:
    return f"  - name: {name}\n    container: {{image: alpine, command: [sleep, '{seconds}']}}\n"


def _workflow(name: str, tasks: list[str], templates: str) -> str:
    head = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"
        f"metadata: {{generateName: {name}-}}\nspec:\n  entrypoint: main\n  templates:\n"
        "  - name: main\n    dag:\n      tasks:\n"
    )
    return head + "".join(f"      - {t}\n" for t in tasks) + templates


def chain() -> Case:
    seconds = [0.5, 0.8, 1.2, 0.6, 1.0, 0.7, 0.9, 0.5]
    tasks = [
        f"{{name: t{k}, template: s{k}" + (f", dependencies: [t{k - 1}]}}" if k else "}")
        for k in range(len(seconds))
    ]
    return Case(
        "chain", _workflow("chain", tasks, "".join(_container(f"s{k}", s) for k, s in enumerate(seconds)))
    )


def fanout() -> Case:
    tasks = [
        "{name: list, template: lister}",
        "{name: work, template: one, dependencies: [list], withParam: '{{tasks.list.outputs.result}}'}",
        "{name: join, template: short, dependencies: [work]}",
    ]
    lister = (
        "  - name: lister\n    script: {image: python:3-alpine, command: [python3],"
        " source: 'import json; print(json.dumps(list(range(100))))'}\n"
    )
    return Case(
        "fanout", _workflow("fanout", tasks, lister + _container("one", 1.0) + _container("short", 0.3)), 8
    )


def diamond() -> Case:
    items = "[" + ", ".join(str(k) for k in range(12)) + "]"
    tasks = [
        "{name: start, template: short}",
        f"{{name: left, template: s6, dependencies: [start], withItems: {items}}}",
        f"{{name: right, template: s10, dependencies: [start], withItems: {items}}}",
        "{name: join, template: short, dependencies: [left, right]}",
        f"{{name: after, template: s8, dependencies: [join], withItems: {items}}}",
    ]
    templates = (
        _container("short", 0.3) + _container("s6", 0.6) + _container("s10", 1.0) + _container("s8", 0.8)
    )
    return Case("diamond", _workflow("diamond", tasks, templates), 6)


def when() -> Case:
    said = "'{{tasks.decide.outputs.result}}'"
    tasks = [
        "{name: decide, template: say}",
        f'{{name: long, template: s20, dependencies: [decide], when: "{said} == long"}}',
        f'{{name: brief, template: s5, dependencies: [decide], when: "{said} != long"}}',
        "{name: join, template: short, dependencies: [long, brief]}",
    ]
    say = "  - name: say\n    container: {image: alpine, command: [echo, long]}\n"
    templates = say + _container("s20", 2.0) + _container("s5", 0.5) + _container("short", 0.3)
    return Case("when", _workflow("when", tasks, templates))


CASES = {c.name: c for c in (chain(), fanout(), diamond(), when())}


@contextmanager
def namespace(kubeconfig: str | None) -> Iterator[str | None]:
    """A fresh namespace on the cluster (deleted afterwards), or None for the local backend."""
    if kubeconfig is None:
        yield None
        return
    name = f"simpredict-{uuid.uuid4().hex[:8]}"
    kubectl = ["kubectl", f"--kubeconfig={kubeconfig}"]
    subprocess.run([*kubectl, "create", "namespace", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run([*kubectl, "delete", "namespace", name, "--wait=false"], capture_output=True)


def run_once(case: Case, path: Path, home: Path, kubeconfig: str | None) -> str:
    """``kjob run`` the case into ``home``; its run id."""
    env = {**os.environ, "KJOB_HOME": str(home), "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "kjob", "run", str(path), "-q"]
    if case.parallelism:
        argv += ["--parallelism", str(case.parallelism)]
    with namespace(kubeconfig) as ns:
        if kubeconfig is None:
            argv += ["--backend", "local"]
        else:
            argv += ["--backend", "kubernetes", f"--kubeconfig={kubeconfig}", "-n", str(ns)]
        subprocess.run(argv, env=env, check=True, capture_output=True)
    (run_dir,) = (home / "runs").iterdir()
    return run_dir.name


def predict(case: Case, path: Path, calibrate_from: Path, run_id: str) -> tuple[float, float]:
    """(predicted p50 makespan of 30 runs, fitted start-up) from the run ``run_id`` kept under
    ``calibrate_from``."""
    os.environ["KJOB_HOME"] = str(calibrate_from)
    scn = Scenario(source=str(path), calibrate=run_id, parallelism=case.parallelism)
    loaded = load(scn)
    assert loaded.calibration is not None
    predicted = simulator(scn, loaded).monte_carlo(30, seed=1).summary()["makespan_p50"]
    return float(predicted), loaded.calibration.startup


def measured_makespan(home: Path, run_id: str) -> float:
    from sim.calibrate import calibrate_run

    os.environ["KJOB_HOME"] = str(home)
    return calibrate_run(run_id).measured_makespan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per case (at least 2; default 2)")
    parser.add_argument("--backend", choices=["local", "kubernetes"], default="local")
    parser.add_argument("--kubeconfig", help="the cluster (with --backend kubernetes)")
    parser.add_argument("--only", action="append", choices=sorted(CASES), help="these cases only")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error("--runs must be at least 2 (one to calibrate from, one to predict)")
    kubeconfig = args.kubeconfig if args.backend == "kubernetes" else None
    if args.backend == "kubernetes" and not kubeconfig:
        parser.error("--backend kubernetes needs --kubeconfig")
    load1, load5, _ = (f"{x:.2f}" for x in os.getloadavg())
    print(
        f"sim predictions on {args.backend}, {platform.python_implementation()} {platform.python_version()},"
        f" {os.cpu_count()} cpus; load average {load1} (1 min), {load5} (5 min) before the runs"
    )
    print(
        f"{'case':8}  {'run':>3}  {'measured s':>10}  {'predicted s':>11}  {'error':>7}  {'start-up s':>10}"
    )
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="kjob-predict-") as tmp:
        for case in (CASES[name] for name in (args.only or CASES)):
            path = Path(tmp) / f"{case.name}.yaml"
            path.write_text(case.text)
            homes = [Path(tmp) / f"{case.name}-{k}" for k in range(args.runs)]
            ids = [run_once(case, path, home, kubeconfig) for home in homes]
            for k in range(1, args.runs):
                measured = measured_makespan(homes[k], ids[k])
                predicted, startup = predict(case, path, homes[k - 1], ids[k - 1])
                error = (predicted - measured) / measured
                worst = max(worst, abs(error))
                row = f"{case.name:8}  {k:>3}  {measured:>10.3f}  {predicted:>11.3f}  {error:>+7.2%}"
                print(f"{row}  {startup:>10.4f}", flush=True)
    goal = GOALS[args.backend]
    verdict = "met" if worst <= goal else "MISSED (is the machine busy? see the load average)"
    print(f"worst |error| {worst:.2%}; goal <= {goal:.0%}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
