"""How long ``kjob`` takes to start, against Python itself and click, measured in the same run.

    .venv/bin/python bench/bench_startup.py               # 21 runs of each command
    .venv/bin/python bench/bench_startup.py --runs 41 --json startup.json
    .venv/bin/python bench/bench_startup.py --instructions  # and each command's instruction count
    git archive HEAD~5 | tar -x -C /tmp/before     # an earlier kjob, as one more named baseline:
    .venv/bin/python bench/bench_startup.py --tree before=/tmp/before

Each command is a fresh subprocess (so every import is paid, as a user pays it), output discarded.
The commands take turns — one run of each, then the next round — so that a burst of load on the
machine falls on all of them alike; the figures are the median wall time of each, and its median CPU
time (user + system), which a busy machine disturbs less.  The baselines:

* ``python -c pass`` — the interpreter alone: no program can start faster;
* ``python -c "import click"`` — the command-line library every verb needs;
* with ``--tree NAME=DIR``: the same kjob commands run from another source tree (an earlier commit),
  by the same interpreter and packages.

``kjob lint FILE`` (``examples/01-basic-dag.yaml``) writes to a pipe (as in a script or CI);
``, terminal`` is the same with ``FORCE_COLOR=1``, so its output is styled by rich as on a terminal;
``with whens`` lints ``examples/03-conditional.yaml``, whose ``when`` expressions need the grammar's
parser.  The bytecode cache is written by a warm-up run of each command (``PYTHONDONTWRITEBYTECODE``
is dropped), and the grammar's parser cache and the dataclass code cache are the user's own, as an
installed kjob would find them.

With ``--instructions``, each command is also run once under valgrind (cachegrind, no cache
simulation) for the number of instructions it executes: unlike a time, that number does not move with
the load on the machine (``PYTHONHASHSEED=0`` keeps it repeatable), so it shows what a change saves
when the machine is too busy for times to show it.

Besides the times, each kjob command's heavy imports are listed (numpy, rich, the Kubernetes client,
lark, ruamel.yaml), read from ``python -X importtime``; the goal (issue 9) is 0.25 s for
``kjob --version`` and ``kjob lint FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINTED = REPO / "examples" / "01-basic-dag.yaml"
# Its whens are parsed by the grammar (01's plain {{ path }} references are not), so lark's parser loads.
LINTED_WHENS = REPO / "examples" / "03-conditional.yaml"
GOAL = 0.25
HEAVY = ("numpy", "rich", "kubernetes", "lark", "ruamel.yaml", "matplotlib", "sim")
KJOB = [sys.executable, "-m", "kjob"]
GOALS = ("kjob --version", "kjob lint FILE", "kjob lint FILE, terminal", "kjob lint FILE with whens")


@dataclass(frozen=True)
class Command:
    argv: list[str]
    cwd: Path = REPO  # ``python -m kjob`` imports the kjob of this directory
    kjob: bool = True
    env: tuple[tuple[str, str], ...] = ()  # more environment, e.g. to style output as on a terminal


BASELINES = {
    "python -c pass": Command([sys.executable, "-c", "pass"], kjob=False),
    'python -c "import click"': Command([sys.executable, "-c", "import click"], kjob=False),
}


def subjects(cwd: Path, label: str = "") -> dict[str, Command]:
    return {
        f"kjob --version{label}": Command([*KJOB, "--version"], cwd),
        f"kjob lint FILE{label}": Command([*KJOB, "lint", str(LINTED)], cwd),
        f"kjob lint FILE, terminal{label}": Command(
            [*KJOB, "lint", str(LINTED)], cwd, env=(("FORCE_COLOR", "1"), ("NO_COLOR", ""))
        ),
        f"kjob lint FILE with whens{label}": Command([*KJOB, "lint", str(LINTED_WHENS)], cwd),
        f"kjob --help{label}": Command([*KJOB, "--help"], cwd),
    }


# As an installed kjob runs: with its bytecode cached (the warm-up run writes it), whatever this shell
# says; and with no colour or terminal width to look up.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"NO_COLOR": "1"}


def once(command: Command) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(
        command.argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        cwd=command.cwd,
        env=ENV | dict(command.env),
    )
    wall = time.perf_counter() - began
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, now.ru_utime + now.ru_stime - used.ru_utime - used.ru_stime


def instructions(command: Command) -> int:
    """The instructions one run executes, counted by valgrind (the same every run)."""
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *command.argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
        cwd=command.cwd,
        env=ENV | dict(command.env) | {"PYTHONHASHSEED": "0"},
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count for {command.argv}")
    return int(found.group(1).replace(",", ""))


def heavy_imports(command: Command) -> list[str]:
    """The :data:`HEAVY` packages a command imports, by ``-X importtime``."""
    argv = command.argv
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        capture_output=True,
        text=True,
        check=True,
        cwd=command.cwd,
        env=ENV | dict(command.env),
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
    parser.add_argument(
        "--instructions", action="store_true", help="also count each command's instructions (valgrind)"
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind")

    commands = {**BASELINES, **subjects(REPO)}
    for tree in args.tree:
        label, _, where = tree.rpartition("=")
        commands.update(subjects(Path(where).resolve(), f" ({label or where})"))
    for command in commands.values():  # warm the disk cache and the bytecode caches; not timed
        once(command)
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            w, c = once(command)
            wall[name].append(w)
            cpu[name].append(c)
    median = {name: statistics.median(t) for name, t in wall.items()}
    cpu_median = {name: statistics.median(t) for name, t in cpu.items()}
    bare, click = (median[name] for name in BASELINES)
    cpu_click = cpu_median['python -c "import click"']

    print(
        f"kjob start-up, median of {args.runs} runs each ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f})"
    )
    counts = {name: instructions(command) for name, command in commands.items()} if args.instructions else {}
    print(
        f"{'command':36} {'wall':>7} {'min':>7} {'cpu':>7} {'x pass':>7} {'x click':>8} {'cpu x click':>12}"
        + (f" {'Minstr':>7} {'x click':>8}" if counts else "")
        + "  heavy imports"
    )
    rows = []
    for name, command in commands.items():
        heavy = heavy_imports(command) if command.kjob else []
        counted = ""
        if counts:
            click_count = counts['python -c "import click"']
            counted = f" {counts[name] / 1e6:7.0f} {counts[name] / click_count:8.2f}"
        row = {
            "command": name,
            "wall_median_s": round(median[name], 4),
            "wall_min_s": round(min(wall[name]), 4),
            "cpu_median_s": round(cpu_median[name], 4),
            "vs_python": round(median[name] / bare, 2),
            "vs_click": round(median[name] / click, 2),
            "cpu_vs_click": round(cpu_median[name] / cpu_click, 2),
            "heavy_imports": heavy,
        }
        if counts:
            row["instructions"] = counts[name]
        rows.append(row)
        goal = ""
        if name in GOALS:
            goal = "  (goal ≤ 0.25 s: " + ("met" if median[name] <= GOAL else "MISSED") + ")"
        print(
            f"{name:36} {median[name]:7.3f} {min(wall[name]):7.3f} {cpu_median[name]:7.3f} "
            f"{row['vs_python']:7.2f} {row['vs_click']:8.2f} {row['cpu_vs_click']:12.2f}{counted}  "
            f"{', '.join(heavy) or '-'}{goal}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
