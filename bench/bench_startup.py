"""How long ``kjob`` takes to start, against Python itself and click, measured in the same run.

    .venv/bin/python bench/bench_startup.py               # 21 runs of each command
    .venv/bin/python bench/bench_startup.py --runs 41 --json startup.json
    git archive HEAD~5 | tar -x -C /tmp/before     # an earlier kjob, as one more named baseline:
    .venv/bin/python bench/bench_startup.py --tree before=/tmp/before

Each command is a fresh subprocess (so every import is paid, as a user pays it), output discarded.
The commands take turns — one run of each, then the next round — so that a burst of load on the
machine falls on all of them alike; the figure is the median wall time of each.  The baselines:

* ``python -c pass`` — the interpreter alone: no program can start faster;
* ``python -c "import click"`` — the command-line library every verb needs;
* with ``--tree NAME=DIR``: the same kjob commands run from another source tree (an earlier commit),
  by the same interpreter and packages.

Besides the times, each kjob command's heavy imports are listed (numpy, rich, the Kubernetes client,
lark, ruamel.yaml), read from ``python -X importtime``; the goal (issue 9) is 0.25 s for
``kjob --version`` and ``kjob lint FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINTED = REPO / "examples" / "01-basic-dag.yaml"
GOAL = 0.25
HEAVY = ("numpy", "rich", "kubernetes", "lark", "ruamel.yaml", "matplotlib", "sim")
KJOB = [sys.executable, "-m", "kjob"]
GOALS = ("kjob --version", "kjob lint FILE")


@dataclass(frozen=True)
class Command:
    argv: list[str]
    cwd: Path = REPO  # ``python -m kjob`` imports the kjob of this directory
    kjob: bool = True


BASELINES = {
    "python -c pass": Command([sys.executable, "-c", "pass"], kjob=False),
    'python -c "import click"': Command([sys.executable, "-c", "import click"], kjob=False),
}


def subjects(cwd: Path, label: str = "") -> dict[str, Command]:
    return {
        f"kjob --version{label}": Command([*KJOB, "--version"], cwd),
        f"kjob lint FILE{label}": Command([*KJOB, "lint", str(LINTED)], cwd),
        f"kjob --help{label}": Command([*KJOB, "--help"], cwd),
    }


def once(command: Command) -> float:
    began = time.perf_counter()
    subprocess.run(
        command.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=command.cwd
    )
    return time.perf_counter() - began


def heavy_imports(command: Command) -> list[str]:
    """The :data:`HEAVY` packages a command imports, by ``-X importtime``."""
    argv = command.argv
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, check=True, cwd=command.cwd
    )
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return [h for h in HEAVY if h in names]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (default 21)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--tree", action="append", default=[], metavar="NAME=DIR", help="also time the kjob in DIR"
    )
    args = parser.parse_args()

    commands = {**BASELINES, **subjects(REPO)}
    for tree in args.tree:
        label, _, where = tree.rpartition("=")
        commands.update(subjects(Path(where).resolve(), f" ({label or where})"))
    for argv in commands.values():  # warm the disk cache and the bytecode caches; not timed
        once(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(once(argv))
    median = {name: statistics.median(t) for name, t in times.items()}
    bare, click = (median[name] for name in BASELINES)

    print(
        f"kjob start-up, median of {args.runs} runs each ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f})"
    )
    print(f"{'command':36} {'median':>8} {'min':>8} {'x pass':>7} {'x click':>8}  heavy imports")
    rows = []
    for name in commands:
        heavy = heavy_imports(commands[name]) if commands[name].kjob else []
        row = {
            "command": name,
            "median_s": round(median[name], 4),
            "min_s": round(min(times[name]), 4),
            "vs_python": round(median[name] / bare, 2),
            "vs_click": round(median[name] / click, 2),
            "heavy_imports": heavy,
        }
        rows.append(row)
        goal = ""
        if name in GOALS:
            goal = "  (goal ≤ 0.25 s: " + ("met" if median[name] <= GOAL else "MISSED") + ")"
        print(
            f"{name:36} {median[name]:8.3f} {min(times[name]):8.3f} {row['vs_python']:7.2f} "
            f"{row['vs_click']:8.2f}  {', '.join(heavy) or '-'}{goal}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
