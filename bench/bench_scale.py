"""``kjob run --dry-run`` on generated DAGs of 1,000 to 100,000 tasks, through the real CLI.

    .venv/bin/python bench/bench_scale.py                       # 1k, 10k, 20k, 100k; yaml at 1k, 10k, 20k
    .venv/bin/python bench/bench_scale.py --sizes 1000 10000 --yaml-sizes 1000
    .venv/bin/python bench/bench_scale.py --json scale.json

Each size is one ``kjob run FILE --dry-run -o json -p size=N`` in a subprocess, so interpreter
start-up, imports, loading, the engine, rendering and writing the output all count, as a user sees
them.  The workflow is ``bench_load.py``'s: task ``t<i>`` depends on up to three of the 50 tasks
before it, passes an argument, and every other task has a ``when`` (``-p size=N`` makes every
``when`` hold, so every task becomes a Job).  Generating the file is not timed.

Printed per size: wall time, CPU time (user + system) and peak RSS of the kjob process (from
``wait4``); the exponent ``k`` of ``cost ~ n^k`` fitted by least squares on log-log over 1k/10k/100k,
for the wall time and for the wall time above the named baseline (the same command on a one-task
workflow: start-up and a single Job); and ``-o yaml`` time over ``-o json`` time at the same size.

Also the engine alone on the virtual backend (``kjob.backends.virtual``, in this process, every
attempt taking one virtual second): its CPU per task for ``--virtual`` tasks of the same workflow,
what kjob itself costs per task before any backend work (loading not counted).

Goals (issue 9): 20k ≤ 20 s, 100k ≤ 120 s, cost linear in n (k close to 1), yaml within 2x of json.
A missed goal is printed as ``MISSED``, never an error: performance is measured, not asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import workflow  # the generator the loader bench uses

SIZES = (1_000, 10_000, 20_000, 100_000)
YAML_SIZES = (1_000, 10_000, 20_000)
FIT_SIZES = (1_000, 10_000, 100_000)
GOALS = {20_000: 20.0, 100_000: 120.0}  # seconds
YAML_RATIO_GOAL = 2.0
KJOB = [sys.executable, "-m", "kjob"]


@dataclass(frozen=True, slots=True)
class Measure:
    tasks: int
    output: str
    wall: float  # seconds
    cpu: float  # seconds, user + system of the kjob process
    peak_rss_mib: float
    output_mib: float
    jobs: int  # objects printed (the run ConfigMap and the Jobs)


def dry_run(path: Path, tasks: int, output: str, timeout: float) -> Measure:
    """One ``kjob run --dry-run`` in a child process, its stdout to a file; rusage from ``wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        argv = [*KJOB, "run", str(path), "--dry-run", "-o", output, "-p", f"size={tasks + 1}"]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, "NO_COLOR": "1"})
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                raise SystemExit(f"{tasks} tasks, -o {output}: no answer after {timeout:g} s")
            time.sleep(0.01)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(
                f"{tasks} tasks, -o {output}: exit {proc.returncode}\n{err.read().decode()[-2000:]}"
            )
        size = out.seek(0, os.SEEK_END)
        jobs = _count_objects(out, output)
    return Measure(
        tasks=tasks,
        output=output,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        output_mib=size / 2**20,
        jobs=jobs,
    )


def _count_objects(out: IO[bytes], output: str) -> int:
    """How many objects were printed: a sanity check that every task became a Job.  Read line by
    line, never loaded whole: a child forked from a big bench process would report the bench's
    memory as its own peak RSS (Linux keeps the high-water mark across exec)."""
    out.seek(0)
    start = b"    {\n" if output == "json" else b"---"  # an item of the List, or a YAML document
    return sum(1 for line in out if line.startswith(start) and (output != "json" or line == start))


def engine_cpu_per_task(tasks: int) -> float:
    """Milliseconds of this process's CPU per task for one run of the engine on the virtual backend."""
    from kjob.backends.virtual import VirtualBackend, scripted
    from kjob.engine.engine import Engine, EngineOptions
    from kjob.spec import load_text

    wf = load_text(workflow(tasks), path=f"dag{tasks}.yaml").workflows[0]
    engine = Engine(
        wf,
        VirtualBackend(scripted({})),
        run_id="bench",
        options=EngineOptions(parameters={"size": str(tasks + 1)}),
    )
    started = time.process_time()
    result = engine.run()
    spent = time.process_time() - started
    if not result.succeeded:
        raise SystemExit(f"virtual run of {tasks} tasks: {result.phase.value}: {result.message}")
    return 1000 * spent / tasks


def fitted_exponent(points: list[tuple[int, float]]) -> float:
    """``k`` of the least-squares line ``log cost = k log n + c``."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(c, 1e-9)) for _, c in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="numbers of tasks (-o json)"
    )
    parser.add_argument("--yaml-sizes", type=int, nargs="*", default=list(YAML_SIZES), help="also -o yaml")
    parser.add_argument(
        "--virtual", type=int, default=2000, help="tasks for the engine-only figure (0: none)"
    )
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per run before giving up")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="kjob-bench-scale-") as tmp:

        def measure(tasks: int, output: str) -> Measure:
            path = Path(tmp) / f"dag{tasks}.yaml"
            if not path.exists():
                path.write_text(workflow(tasks))
            m = dry_run(path, tasks, output, args.timeout)
            results.append(m)
            print(
                f"{tasks:>8,} tasks  -o {output:<4}  {m.wall:8.2f} s wall  {m.cpu:8.2f} s cpu  "
                f"{m.peak_rss_mib:8.1f} MiB peak  {m.output_mib:7.1f} MiB out  {m.jobs:,} objects",
                flush=True,
            )
            return m

        baseline = measure(1, "json")
        json_runs = {n: measure(n, "json") for n in args.sizes}
        yaml_runs = {n: measure(n, "yaml") for n in args.yaml_sizes}

    virtual = engine_cpu_per_task(args.virtual) if args.virtual else None
    print()
    if virtual is not None:
        print(f"engine on the virtual backend, {args.virtual:,} tasks: {virtual:.3f} ms CPU per task")
    print(f"baseline (1 task, start-up and one Job): {baseline.wall:.2f} s")
    for n, goal in GOALS.items():
        if n in json_runs:
            verdict = "met" if json_runs[n].wall <= goal else "MISSED"
            print(f"goal {n:,} tasks ≤ {goal:g} s: {json_runs[n].wall:.2f} s  {verdict}")
    for n in json_runs:
        print(
            f"per task at {n:,}: {1000 * (json_runs[n].wall - baseline.wall) / n:.3f} ms above the baseline"
        )
    fit = [n for n in FIT_SIZES if n in json_runs]
    exponents: dict[str, float] = {}
    if len(fit) >= 2:
        exponents = {
            "wall": fitted_exponent([(n, json_runs[n].wall) for n in fit]),
            "above_baseline": fitted_exponent([(n, json_runs[n].wall - baseline.wall) for n in fit]),
            "peak_rss": fitted_exponent([(n, json_runs[n].peak_rss_mib) for n in fit]),
        }
        sizes = "/".join(f"{n // 1000}k" for n in fit)
        verdict = "met" if exponents["above_baseline"] <= 1.1 else "MISSED"
        print(
            f"fitted exponent over {sizes}: wall {exponents['wall']:.2f}, above baseline "
            f"{exponents['above_baseline']:.2f} (linear ≤ 1.1: {verdict}), "
            f"peak RSS {exponents['peak_rss']:.2f}"
        )
    ratios = {n: yaml_runs[n].wall / json_runs[n].wall for n in yaml_runs if n in json_runs}
    for n, ratio in ratios.items():
        verdict = "met" if ratio <= YAML_RATIO_GOAL else "MISSED"
        print(f"-o yaml / -o json at {n:,}: {ratio:.2f}x  (goal ≤ {YAML_RATIO_GOAL:g}x: {verdict})")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "baseline": asdict(baseline),
                    "runs": [asdict(m) for m in results],
                    "exponents": exponents,
                    "yaml_over_json": ratios,
                    "virtual_engine_ms_per_task": virtual,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
