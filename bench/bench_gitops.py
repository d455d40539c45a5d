"""GitOps plans against ``kjob run``: how long rendering takes, and how long a workflow takes to finish
on a real cluster when a GitOps tool applies its plan instead of a kjob watching it.

    .venv/bin/python bench/bench_gitops.py --kubeconfig ~/.cache/realk8s/kubeconfig
    .venv/bin/python bench/bench_gitops.py --render-only     # no cluster: rendering figures only
    .venv/bin/python bench/bench_gitops.py --json gitops.json

**render**: ``kjob plan FILE -o DIR`` (waves, and ``--mode driver``) of a layered static DAG, as a
user types it, against ``kjob lint FILE`` of the same file (the named baseline: reading and checking
the file, everything but rendering), best of 3 wall times each.

**cluster**: each workload in a namespace of its own, three ways, wall time from the first command
to the last Job Complete:

* ``kjob run --backend kubernetes`` (the baseline: kjob watches and submits each Job when ready);
* the ``waves`` plan applied as Argo CD syncs it: each sync wave's files with ``kubectl apply``, then
  ``kubectl wait --for=condition=complete`` on its Jobs, then the next wave;
* the ``driver`` plan applied with ``kubectl apply -k DIR``, until the driver Job is Complete (the
  driver runs ``kjob run`` in a pod: here this machine's python, realk8s runs pods as processes).
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
KJOB = (sys.executable, "-m", "kjob")


def layered(name: str, layers: int, width: int, seconds: float, seed: int = 0) -> str:
    """A static DAG of ``layers`` x ``width`` tasks that sleep; each task after the first layer
    depends on 1 or 2 tasks of the layer before."""
    rng = random.Random(seed)
    tasks = []
    for layer in range(layers):
        for i in range(width):
            deps = sorted({f"t{layer - 1}-{rng.randrange(width)}" for _ in range(2)}) if layer else []
            dep = f", dependencies: [{', '.join(deps)}]" if deps else ""
            tasks.append(f"      - {{name: t{layer}-{i}, template: work{dep}}}")
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"
        f"metadata: {{name: {name}}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n"
        "    dag:\n      tasks:\n" + "\n".join(tasks) + "\n"
        "  - name: work\n    container:\n      image: busybox\n"
        f"      command: [sh, -c, 'sleep {seconds}']\n"
    )


def timed(argv: list[str] | tuple[str, ...], **kwargs: Any) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False, **kwargs)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed: {done.stderr.strip()[-2000:]}")
    return took


def best(argv: list[str], times: int = 3) -> float:
    return min(timed(argv) for _ in range(times))


def render_figures(work: Path) -> list[dict[str, Any]]:
    rows = []
    for layers, width in ((5, 10), (20, 100)):
        path = work / f"render-{layers}x{width}.yaml"
        path.write_text(layered(f"render-{layers}x{width}", layers, width, 1))
        lint = best([*KJOB, "lint", str(path)])
        waves = best([*KJOB, "plan", str(path), "-o", str(work / f"waves-{layers}")])
        driver = best([*KJOB, "plan", str(path), "-o", str(work / f"driver-{layers}"), "--mode", "driver"])
        files = len(list((work / f"waves-{layers}").glob("*.yaml")))
        rows.append(
            {
                "tasks": layers * width,
                "lint_s": lint,
                "plan_waves_s": waves,
                "plan_driver_s": driver,
                "waves_files": files,
            }
        )
    return rows


class Cluster:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.kubectl = "kubectl"

    def ctl(self, ns: str, *args: str, timeout: float = 600) -> str:
        argv = [self.kubectl, "--kubeconfig", self.kubeconfig, "-n", ns, *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def namespace(self) -> str:
        name = f"kjob-bench-gitops-{secrets.token_hex(3)}"
        self.ctl("default", "create", "namespace", name)
        return name

    def drop(self, ns: str) -> None:
        subprocess.run(
            [self.kubectl, "--kubeconfig", self.kubeconfig, "delete", "namespace", ns, "--wait=false"],
            capture_output=True,
            check=False,
        )


def kjob_env(home: Path, kubeconfig: str) -> dict[str, str]:
    import os

    return {**os.environ, "KJOB_HOME": str(home), "KUBECONFIG": kubeconfig, "NO_COLOR": "1"}


def by_run(cluster: Cluster, path: Path, work: Path) -> float:
    ns = cluster.namespace()
    try:
        env = kjob_env(work / "home", cluster.kubeconfig)
        return timed([*KJOB, "run", "--backend", "kubernetes", "-n", ns, str(path)], env=env)
    finally:
        cluster.drop(ns)


def by_waves(cluster: Cluster, path: Path, work: Path) -> float:
    ns = cluster.namespace()
    plan = work / f"waves-{ns}"
    try:
        start = time.perf_counter()
        timed([*KJOB, "plan", str(path), "-o", str(plan), "-n", ns])
        waves: dict[int, list[Path]] = {}
        for file in sorted(plan.glob("*.yaml")):
            obj = yaml.safe_load(file.read_text())
            if obj["kind"] == "Kustomization":
                continue
            wave = int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))
            waves.setdefault(wave, []).append(file)
        for wave in sorted(waves):
            files = waves[wave]
            cluster.ctl(ns, "apply", *(a for f in files for a in ("-f", str(f))))
            jobs = [
                yaml.safe_load(f.read_text())["metadata"]["name"]
                for f in files
                if yaml.safe_load(f.read_text())["kind"] == "Job"
            ]
            if jobs:
                cluster.ctl(
                    ns, "wait", "--for=condition=complete", "--timeout=600s", *(f"job/{j}" for j in jobs)
                )
        return time.perf_counter() - start
    finally:
        cluster.drop(ns)


def by_driver(cluster: Cluster, path: Path, work: Path) -> float:
    ns = cluster.namespace()
    plan = work / f"driver-{ns}"
    try:
        start = time.perf_counter()
        command = f"{sys.executable} -m kjob"
        timed(
            [
                *KJOB,
                "plan",
                str(path),
                "-o",
                str(plan),
                "-n",
                ns,
                "--mode",
                "driver",
                "--driver-command",
                command,
            ]
        )
        cluster.ctl(ns, "apply", "-k", str(plan))
        job = next(
            yaml.safe_load(f.read_text())["metadata"]["name"]
            for f in plan.glob("*.yaml")
            if yaml.safe_load(f.read_text()).get("kind") == "Job"
        )
        cluster.ctl(ns, "wait", "--for=condition=complete", "--timeout=900s", f"job/{job}")
        return time.perf_counter() - start
    finally:
        cluster.drop(ns)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kubeconfig")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["render"] = render_figures(work)
        print("render (best of 3, wall s):  tasks  lint (baseline)  plan waves  plan driver  waves files")
        for r in results["render"]:
            print(
                f"  {r['tasks']:>28}  {r['lint_s']:>15.3f}  {r['plan_waves_s']:>10.3f}  "
                f"{r['plan_driver_s']:>11.3f}  {r['waves_files']:>11}"
            )
        if args.render_only or not args.kubeconfig:
            return 0
        cluster = Cluster(args.kubeconfig)
        workloads = {
            "01-basic-dag (6 tasks, 4 levels)": REPO / "examples" / "01-basic-dag.yaml",
            "layered 4x10, 1 s tasks": work / "layered.yaml",
        }
        (work / "layered.yaml").write_text(layered("layered-4x10", 4, 10, 1))
        results["cluster"] = []
        print("cluster (wall s, first command to last Job Complete):")
        print(f"  {'workload':<34} {'kjob run (baseline)':>19} {'waves by kubectl':>16} {'driver plan':>11}")
        for name, path in workloads.items():
            row = {
                "workload": name,
                "kjob_run_s": by_run(cluster, path, work),
                "waves_s": by_waves(cluster, path, work),
                "driver_s": by_driver(cluster, path, work),
            }
            results["cluster"].append(row)
            print(f"  {name:<34} {row['kjob_run_s']:>19.1f} {row['waves_s']:>16.1f} {row['driver_s']:>11.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
