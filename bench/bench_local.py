"""kjob's own CPU per task on the local backend: a fan-out of N tasks that do nothing (``true``).

What is measured, for each kjob (this tree, and with ``--baseline-rev REV`` an older commit checked out
in a temporary git worktree, the named baseline):

- wall time of ``kjob run``;
- CPU of the ``kjob`` process itself (user + system), and of its node agent if it has one — read
  from ``/proc/PID/stat`` every 10 ms until the process ends (so up to 10 ms of a process's last
  moments can be missed), never including the tasks;
- the tasks' own CPU is not kjob's and is not counted; a shell loop that starts the same N
  processes (``sh -c 'for ...; do true; done'``) is timed as the floor a host can start them at.

    .venv/bin/python bench/bench_local.py                      # 2,000 tasks, parallelism 20
    .venv/bin/python bench/bench_local.py --tasks 500 --baseline-rev 9e09482
    .venv/bin/python bench/bench_local.py --baseline-rev fb4333f --repeat 5   # medians of 5, interleaved

With ``--repeat N`` each kjob runs N times, the trees taking turns (so a busy spell of the machine
falls on both), and the median of each column is printed with the spread of kjob's CPU per task.
Results are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: bench-local-}}
spec:
  entrypoint: main
  parallelism: {parallelism}
  templates:
  - name: main
    dag:
      tasks:
      - {{name: t, template: nothing, withSequence: {{count: "{tasks}"}}}}
  - name: nothing
    container: {{image: alpine, command: ["true"]}}
"""


@dataclass
class Measured:
    name: str
    wall: float
    kjob_cpu: float
    agent_cpu: float
    code: int


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (the process itself)


def _agents(home: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"kjob.backends.localnode" in cmd and home.encode() in cmd:
                found.append(int(pid))
        except OSError:
            continue
    return found


def measure(name: str, python_path: str, workflow: Path, home: str) -> Measured:
    env = dict(os.environ, KJOB_HOME=home, KUBECONFIG=os.path.join(home, "none"), PYTHONPATH=python_path)
    env.pop("KUBERNETES_SERVICE_HOST", None)
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(workflow)],
        env=env,
        cwd=home,  # not the repository: `python -m` puts the working directory first on sys.path
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kjob_cpu = 0.0
    agent_cpu: dict[int, float] = {}
    while proc.poll() is None:
        kjob_cpu = _cpu(proc.pid) or kjob_cpu
        for pid in _agents(home):
            agent_cpu[pid] = _cpu(pid) or agent_cpu.get(pid, 0.0)
        time.sleep(0.01)
    wall = time.perf_counter() - began
    return Measured(name, wall, kjob_cpu, sum(agent_cpu.values()), proc.returncode)


def shell_floor(tasks: int) -> float:
    began = time.perf_counter()
    subprocess.run(["sh", "-c", f"i=0; while [ $i -lt {tasks} ]; do /bin/true; i=$((i+1)); done"], check=True)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--parallelism", type=int, default=20)
    parser.add_argument("--baseline-rev", help="also measure kjob at this git revision (a named baseline)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kjob, taking turns (medians)")
    args = parser.parse_args()
    results: list[Measured] = []
    # not under /tmp: like the default $KJOB_HOME (~/.local/state/kjob), so no task needs a view
    # of the host's /tmp kept inside its private one
    cache = Path.home() / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kjob-bench-local-", dir=cache) as tmp:
        workflow = Path(tmp) / "wf.yaml"
        workflow.write_text(WORKFLOW.format(tasks=args.tasks, parallelism=args.parallelism))
        trees = [("this tree", str(REPO))]
        if args.baseline_rev:
            old = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), args.baseline_rev],
                check=True,
                capture_output=True,
            )
            trees.append((f"kjob at {args.baseline_rev}", str(old)))
        try:
            for _ in range(args.repeat):
                for name, path in trees:
                    home = os.path.join(tmp, f"home-{len(results)}")
                    os.mkdir(home)
                    results.append(measure(name, path, workflow, home))
        finally:
            if args.baseline_rev:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False
                )
    floor = shell_floor(args.tasks)
    print(f"{args.tasks} tasks (`true`), parallelism {args.parallelism}")
    heads = ("exit", "wall s", "kjob CPU s", "ms/task", "agent CPU s", "ms/task")
    print(f"{'kjob':<28} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, (4, 8, 10, 8, 11, 8), strict=True)))
    for name, _ in trees:
        runs = [r for r in results if r.name == name]
        wall, kjob_cpu, agent_cpu = (
            statistics.median(col)
            for col in zip(*[(r.wall, r.kjob_cpu, r.agent_cpu) for r in runs], strict=True)
        )
        per, agent_per = 1000 * kjob_cpu / args.tasks, 1000 * agent_cpu / args.tasks
        code = max(r.code for r in runs)
        print(
            f"{name:<28} {code:>4} {wall:>8.1f} {kjob_cpu:>10.2f} {per:>8.2f} "
            f"{agent_cpu:>11.2f} {agent_per:>8.2f}"
        )
        if len(runs) > 1:
            each = ", ".join(f"{1000 * r.kjob_cpu / args.tasks:.2f}" for r in runs)
            print(f"{'':<28} kjob ms/task in each of {len(runs)} runs: {each}")
    print(f"floor: a shell loop starting {args.tasks} `true` processes one by one: {floor:.1f} s wall")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if all(r.code == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
