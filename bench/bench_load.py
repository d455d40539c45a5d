"""Time ``kjob.spec.load_file`` on generated DAG workflows of 500, 5,000 and 20,000 tasks.

    .venv/bin/python bench/bench_load.py                  # all sizes
    .venv/bin/python bench/bench_load.py --sizes 500 --repeat 5
    .venv/bin/python bench/bench_load.py --pure          # as without ruamel.yaml.clib

Each workflow has one dag template whose task ``t<i>`` depends on up to three earlier tasks (a fixed
seed picks them), passes an argument, and half of the tasks carry a ``when``; two container
templates do the work.  The file is written to a temporary directory first (not timed); the time
printed is the best of ``--repeat`` loads with the garbage collector on, as a user would see it.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kjob.spec import load_file, source

SIZES = (500, 5_000, 20_000)


def workflow(tasks: int, seed: int = 0) -> str:
    """A workflow YAML with one dag of ``tasks`` tasks, each depending on earlier ones."""
    rng = random.Random(seed)
    out = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        "metadata:",
        "  generateName: bench-load-",
        "spec:",
        "  entrypoint: main",
        "  arguments:",
        "    parameters:",
        "    - name: size",
        "      value: 1000",
        "  templates:",
        "  - name: main",
        "    dag:",
        "      tasks:",
    ]
    for i in range(tasks):
        out += [f"      - name: t{i}", f"        template: {'work' if i % 2 else 'check'}"]
        if i:
            picks = sorted({rng.randrange(max(0, i - 50), i) for _ in range(min(i, 3))})
            out.append(f"        dependencies: [{', '.join(f't{p}' for p in picks)}]")
        out += [
            "        arguments:",
            "          parameters:",
            "          - name: part",
            f'            value: "{{{{workflow.parameters.size}}}}-{i}"',
        ]
        if i % 2:
            out.append(f'        when: "{{{{workflow.parameters.size}}}} > {i}"')
    out += [
        "  - name: work",
        "    inputs:",
        "      parameters:",
        "      - name: part",
        "    container:",
        "      image: alpine:3.20",
        '      command: [sh, -c, "echo {{inputs.parameters.part}}"]',
        "  - name: check",
        "    inputs:",
        "      parameters:",
        "      - name: part",
        "    container:",
        "      image: alpine:3.20",
        "      args: [test, -n, '{{inputs.parameters.part}}']",
        "      resources:",
        "        requests: {cpu: 100m, memory: 64Mi}",
    ]
    return "\n".join(out) + "\n"


def best_load(path: Path, repeat: int) -> float:
    """The fastest of ``repeat`` loads of ``path``, in seconds."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        load_file(path)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="numbers of tasks")
    parser.add_argument("--repeat", type=int, default=3, help="loads per size; the best is printed")
    parser.add_argument("--pure", action="store_true", help="use ruamel's pure-Python parser only")
    args = parser.parse_args(argv)
    if args.pure:
        source.HAVE_C_PARSER = False
    how = "C parser (ruamel.yaml.clib)" if source.HAVE_C_PARSER else "pure-Python parser"
    print(f"python {platform.python_version()}, {platform.machine()}, YAML read with ruamel's {how}")
    print(f"{'tasks':>8}  {'bytes':>11}  {'seconds':>8}  {'tasks/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"dag-{size}.yaml"
            path.write_text(workflow(size), encoding="utf-8")
            seconds = best_load(path, args.repeat)
            size_bytes = path.stat().st_size
            print(f"{size:>8,}  {size_bytes:>11,}  {seconds:>8.3f}  {size / seconds:>9,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
