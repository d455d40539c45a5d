"""``kjob logs`` against the shell tools that do the same with no record to read, in the same run.

* every task of a 2,000-task local run (50 lines each), against ``cat`` of its log files in the
  order the tasks ran, and with ``--timestamps``;
* ``--tail 5`` of one 100 MiB log, against ``tail -n 5``;
* the node agent's cost of noting when each piece of a log came (``kjob.backends.logtimes``), against
  the write of that piece to the log itself.

    .venv/bin/python bench/bench_logs.py [--tasks 2000] [--lines 50] [--big-mib 100]

Times are the best of three runs of a whole command (process start included); the ratios are what to
read.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0


def make_run(home: Path, run_id: str, tasks: int, lines: int) -> list[Path]:
    """A finished local run of ``tasks`` tasks as kjob records it; its log files in the order they ran."""
    run = home / "runs" / run_id
    (run / "logs").mkdir(parents=True)
    (run / "node").mkdir()
    nodes, logs, times = [], [], []
    for i in range(tasks):
        attempt = f"task-{i:05d}-0"
        started = T0 + i * 0.01
        nodes.append(
            {
                "id": f"task-{i:05d}",
                "task": "task",
                "phase": "Succeeded",
                "attempts": [
                    {"id": attempt, "started": started, "finished": started + 1, "log": f"logs/{attempt}.log"}
                ],
            }
        )
        data = b"".join(f"task {i} line {n}: some text a task prints\n".encode() for n in range(lines))
        path = run / "logs" / f"{attempt}.log"
        path.write_bytes(data)
        logs.append(path)
        times.append(f"{attempt} {len(data)} {started + 0.5:.6f}\n")
    (run / "node" / "log-times").write_text("".join(times))
    record = {"run_id": run_id, "backend": "local", "phase": "Succeeded", "started": T0, "nodes": nodes}
    (run / "run.json").write_text(json.dumps(record))
    return logs


def best(argv: list[str], env: dict[str, str], repeat: int = 3) -> tuple[float, int]:
    """The best wall time of ``argv`` (output to a pipe, read whole) and the bytes it printed."""
    times, size = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - began)
        size = len(done.stdout)
    return min(times), size


def agent_cost(chunks: int = 100_000, size: int = 512) -> tuple[float, float]:
    """Microseconds per chunk: noting its time, and writing it to the log (both as the agent does)."""
    from kjob.backends.logtimes import TimesWriter

    with tempfile.TemporaryDirectory() as tmp:
        writer = TimesWriter(Path(tmp))
        began = time.perf_counter()
        for i in range(chunks):
            writer.wrote("task-00001-0", i * size, time.time())
        noted = (time.perf_counter() - began) / chunks * 1e6
        writer.close()
        piece = b"x" * (size - 1) + b"\n"
        with open(Path(tmp) / "a.log", "ab", buffering=0) as log:
            began = time.perf_counter()
            for _ in range(chunks):
                log.write(piece)
            written = (time.perf_counter() - began) / chunks * 1e6
    return noted, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--big-mib", type=int, default=100)
    args = parser.parse_args()
    kjob = [sys.executable, "-m", "kjob", "logs"]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {**os.environ, "KJOB_HOME": str(home), "NO_COLOR": "1", "KUBECONFIG": str(home / "none")}
        logs = make_run(home, "many", args.tasks, args.lines)
        rows = []
        base, size = best(["cat", *map(str, logs)], env)
        rows.append((f"all of {args.tasks} tasks x {args.lines} lines", "cat", base, size))
        took, size = best([*kjob, "many"], env)
        rows.append(("", "kjob logs RUN", took, size))
        took, size = best([*kjob, "many", "--timestamps"], env)
        rows.append(("", "kjob logs RUN --timestamps", took, size))

        big = make_run(home, "big", 1, 1)[0]
        line = b"a line of a long log, about eighty bytes long, as many tasks print them ......\n"
        with big.open("wb") as f:
            block = line * (1 << 14)
            for _ in range(args.big_mib * (1 << 20) // len(block)):
                f.write(block)
        base, size = best(["tail", "-n", "5", str(big)], env)
        rows.append((f"--tail 5 of a {args.big_mib} MiB log", "tail -n 5", base, size))
        took, size = best([*kjob, "big", "task-00000", "--tail", "5"], env)
        rows.append(("", "kjob logs RUN TASK --tail 5", took, size))

    print(f"{'case':<36}{'command':<30}{'seconds':>9}{'bytes':>12}{'ratio':>8}")
    baseline = 0.0
    for case, command, seconds, size in rows:
        if case:
            baseline = seconds
        print(f"{case:<36}{command:<30}{seconds:>9.3f}{size:>12,}{seconds / baseline:>8.1f}")
    noted, written = agent_cost()
    print(
        f"\nnode agent, per piece of output: noting its time {noted:.2f} us, "
        f"writing it to the log {written:.2f} us (ratio {noted / written:.2f})"
    )


if __name__ == "__main__":
    main()
