"""``kjob list`` and ``kjob get`` on many stored runs and on one big run, against reading the same
files with ``cat`` and with Python's ``json``, measured in the same run.

    .venv/bin/python bench/bench_runs.py                  # 1,000 runs, a 2,000-task run, 11 rounds
    .venv/bin/python bench/bench_runs.py --runs 200 --tasks 500 --rounds 5 --json runs.json

The records are written by kjob's own writer (:class:`kjob.engine.record.RunRecorder`) while the engine
runs the workflows in virtual time (:class:`kjob.backends.virtual.VirtualBackend`): each of the many
runs is a five-task DAG with a retry and a skipped task, and the big run a fan-out of ``--tasks``
items between two tasks.  Every command is a fresh process (its imports paid, as a user pays them),
output discarded; the commands take turns round by round, so a burst of load falls on all alike; the
figures are medians of wall and CPU time.  The baselines:

* ``cat`` — the bytes of every ``run.json`` read and thrown away: no reader can do less;
* ``python json`` — ``python -c`` that parses every ``run.json`` with the standard library: the
  interpreter's start plus parsing, what any Python tool reading the records pays.

Then in one process (no start-up), :func:`kjob.runs.list_runs` / :func:`kjob.runs.get_run` against
``json.loads`` of the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SMALL = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: small}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: t}
      - {name: b, template: flaky, depends: a}
      - {name: c, template: t, depends: a, when: "{{tasks.a.outputs.result}} == no"}
      - {name: d, template: t, depends: b}
      - {name: e, template: t, depends: d}
  - name: t
    container: {image: alpine, command: [echo, hi]}
  - name: flaky
    retryStrategy: {limit: 2}
    container: {image: alpine, command: [echo, hi]}
"""

BIG = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: big}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: start, template: t}
      - name: fan
        template: item
        depends: start
        withSequence: {count: "COUNT"}
        arguments: {parameters: [{name: n, value: "{{item}}"}]}
      - {name: end, template: t, depends: fan}
  - name: t
    container: {image: alpine, command: [echo, hi]}
  - name: item
    inputs: {parameters: [{name: n}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.n}}"]}
"""


def record_runs(home: Path, text: str, run_ids: list[str]) -> None:
    """Run ``text`` once per id in virtual time, each recorded by kjob's writer under ``home``."""
    os.environ["KJOB_HOME"] = str(home)
    from kjob.backends.virtual import Outcome, VirtualBackend, scripted
    from kjob.engine.engine import Engine
    from kjob.engine.record import RunRecorder
    from kjob.rundir import RunDir
    from kjob.spec import load_text

    workflow = load_text(text, path="bench.yaml").workflows[0]
    for run_id in run_ids:
        backend = VirtualBackend(
            scripted({"flaky": [Outcome(exit_code=1), Outcome(stdout="ok")]}, default=Outcome(duration=1.0))
        )
        run_dir = RunDir.create(run_id)
        header: dict[str, Any] = {
            "run_id": run_id,
            "workflow": "bench.yaml",
            "workflow_name": workflow.display_name,
            "backend": "local",
            "namespace": "default",
            "parameters": {},
            "parallelism": None,
            "uid": run_id,
        }
        recorder = RunRecorder(run_dir, header=header, clock_now=0.0)
        recorder.finish(Engine(workflow, backend, run_id=run_id, observers=[recorder]).run())


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(
    commands: dict[str, tuple[list[str], dict[str, str]]], rounds: int
) -> dict[str, dict[str, float]]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for argv, env in commands.values():  # warm the bytecode and the page cache
        timed(argv, env)
    for _ in range(rounds):
        for name, (argv, env) in commands.items():
            samples[name].append(timed(argv, env))
    return {
        name: {"wall": statistics.median(w for w, _ in got), "cpu": statistics.median(c for _, c in got)}
        for name, got in samples.items()
    }


def best(func: Callable[[], Any], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="stored runs for kjob list")
    parser.add_argument("--tasks", type=int, default=2000, help="items of the big run's fan-out")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kjob-bench-runs-"))
    many, one = work / "many", work / "one"
    began = time.perf_counter()
    record_runs(many, SMALL, [f"small-{k:05d}" for k in range(args.runs)])
    record_runs(one, BIG.replace("COUNT", str(args.tasks)), ["big"])
    made = time.perf_counter() - began
    big_record = one / "runs" / "big" / "run.json"
    many_bytes = sum(p.stat().st_size for p in (many / "runs").glob("*/run.json"))
    print(
        f"records written by kjob's writer in {made:.1f} s: {args.runs} runs ({many_bytes / 1e6:.1f} MB), "
        f"one of {args.tasks + 4} nodes ({big_record.stat().st_size / 1e6:.2f} MB)"
    )

    def env(home: Path) -> dict[str, str]:
        return {**os.environ, "KJOB_HOME": str(home), "KUBECONFIG": str(home / "none"), "NO_COLOR": "1"}

    cli = [sys.executable, "-m", "kjob"]
    parse_all = (
        "import glob, json, sys; [json.load(open(p)) for p in glob.glob(sys.argv[1] + '/runs/*/run.json')]"
    )
    n, t = f"{args.runs:,}", f"{args.tasks:,}"
    commands = {
        f"cat ({n} records)": (["sh", "-c", f"cat {many}/runs/*/run.json"], env(many)),
        f"python json ({n} records)": ([sys.executable, "-c", parse_all, str(many)], env(many)),
        f"kjob list ({n} runs)": ([*cli, "list"], env(many)),
        f"kjob list -o json ({n} runs)": ([*cli, "list", "-o", "json"], env(many)),
        f"cat ({t}-task record)": (["cat", str(big_record)], env(one)),
        f"python json ({t}-task record)": ([sys.executable, "-c", parse_all, str(one)], env(one)),
        f"kjob list (the {t}-task run)": ([*cli, "list"], env(one)),
        f"kjob get (the {t}-task run)": ([*cli, "get", "big"], env(one)),
        f"kjob get -o json (the {t}-task run)": ([*cli, "get", "big", "-o", "json"], env(one)),
        "python -c pass": ([sys.executable, "-c", "pass"], env(one)),
    }
    figures = measure(commands, args.rounds)
    print(f"\nmedians of {args.rounds} rounds, each command a fresh process:")
    width = max(len(n) for n in figures)
    for name, got in figures.items():
        print(f"  {name:<{width}}  wall {got['wall'] * 1000:8.1f} ms   cpu {got['cpu'] * 1000:8.1f} ms")
    pairs = [
        (f"kjob list ({n} runs)", f"python json ({n} records)"),
        (f"kjob list ({n} runs)", f"cat ({n} records)"),
        (f"kjob get (the {t}-task run)", f"python json ({t}-task record)"),
        (f"kjob get -o json (the {t}-task run)", f"python json ({t}-task record)"),
    ]
    print("\nratios (wall):")
    for a, b in pairs:
        print(f"  {a} / {b}: {figures[a]['wall'] / figures[b]['wall']:.2f}")

    os.environ["KJOB_HOME"] = str(many)
    os.environ["KUBECONFIG"] = str(many / "none")
    import kjob.runs

    files = sorted((many / "runs").glob("*/run.json"))
    in_process = {
        f"list_runs() of {n} runs": best(lambda: kjob.runs.list_runs(backend="local")),
        f"json.loads of the {n} records": best(lambda: [json.loads(p.read_bytes()) for p in files]),
    }
    os.environ["KJOB_HOME"] = str(one)
    in_process[f"get_run() of the {t}-task run"] = best(lambda: kjob.runs.get_run("big", backend="local"))
    in_process["json.loads of its record"] = best(lambda: json.loads(big_record.read_bytes()))
    print("\nin one process (best of 5):")
    for name, seconds in in_process.items():
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")
    print(
        "  ratios: list_runs / json.loads "
        f"{in_process[f'list_runs() of {n} runs'] / in_process[f'json.loads of the {n} records']:.2f}, "
        f"get_run / json.loads "
        f"{in_process[f'get_run() of the {t}-task run'] / in_process['json.loads of its record']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps({"processes": figures, "in_process": in_process}, indent=2))


if __name__ == "__main__":
    main()
