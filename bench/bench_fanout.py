"""``kjob run --dry-run -o json`` of one big fan-out: wall time, peak memory, objects.

    .venv/bin/python bench/bench_fanout.py                      # 50,000 and 200,000 items
    .venv/bin/python bench/bench_fanout.py --sizes 20000 --per-item-baseline

The workflow is one ``withSequence`` fan-out whose items differ in an argument and an env value
(plus a task after it).  Each size runs ``kjob`` as a user would, in a fresh process: wall time from
the start to the end of the process, its CPU time (user + system: what the wall time would be on a
core of its own, steadier than the wall time on a shared machine), peak resident memory
(``ru_maxrss`` of the child), objects in the printed ``List`` and the split notice from stderr.
``--per-item-baseline`` also runs the same workflow with ``--no-indexed-jobs`` (one Job per item:
what a fan-out too big for one ConfigMap used to become) as the named baseline; ``--before DIR``
runs it, right before each of this tree's runs, with the kjob of another checkout (e.g.
``git worktree add /tmp/before HEAD~3``), so a change is measured against what it replaced under the
same load.  Figures are printed, never asserted: the goals (issue 9) are
≤ 30 s, ≤ 1 GiB and ≤ 20 objects at 200,000 items.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIZES = (50_000, 200_000)


def workflow(items: int) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: fan-{items}}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: work
        template: work
        arguments: {{parameters: [{{name: n, value: "{{{{item}}}}"}}]}}
        withSequence: {{count: "{items}"}}
      - {{name: after, template: done, dependencies: [work]}}
  - name: work
    inputs: {{parameters: [{{name: n}}]}}
    container:
      image: alpine
      command: [sh, -c, 'echo "item $0 of $N"', "{{{{inputs.parameters.n}}}}"]
      env: [{{name: N, value: "{items}"}}, {{name: ITEM, value: "{{{{inputs.parameters.n}}}}"}}]
  - name: done
    container: {{image: alpine, command: [echo, done]}}
"""


def measure(path: Path, *extra: str, tree: Path = REPO) -> dict[str, object]:
    """One ``kjob run --dry-run -o json`` in a child process, with the kjob of ``tree``; its own
    resource usage (``wait4``), not the largest of all children so far."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "kjob", "run", str(path), "--dry-run", "-o", "json", *extra],
            stdout=out,
            stderr=err,
            text=True,
            cwd=tree,
            env={**os.environ, "KJOB_HOME": tempfile.mkdtemp(prefix="kjob-bench-"), "PYTHONPATH": str(tree)},
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read()
        if child.returncode != 0:
            raise SystemExit(f"kjob failed ({child.returncode}): {stderr[-2000:]}")
        kinds = Counter(str(item["kind"]) for item in json.load(out)["items"])
    split = next((line for line in stderr.splitlines() if "Indexed Jobs" in line), "")
    return {
        "wall_s": round(wall, 2),
        # kjob's own CPU (user + system): what the wall time would be on an idle core
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "objects": sum(kinds.values()),
        "kinds": dict(kinds),
        "split": split.removeprefix("dry run: "),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--per-item-baseline", action="store_true", help="also --no-indexed-jobs")
    parser.add_argument("--before", type=Path, help="also run the kjob of this checkout, as 'before'")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for items in sorted(args.sizes):
            path = Path(tmp) / f"fan-{items}.yaml"
            path.write_text(workflow(items))
            if args.before is not None:
                rows.append((items, "indexed (before)", measure(path, tree=args.before.resolve())))
            rows.append((items, "indexed (kjob)", measure(path)))
            if args.per_item_baseline:
                rows.append((items, "one Job per item (baseline)", measure(path, "--no-indexed-jobs")))
    print(f"{'items':>9}  {'mode':<28} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9} {'objects':>8}  split")
    for items, mode, r in rows:
        print(
            f"{items:>9,}  {mode:<28} {r['wall_s']:>7} {r['cpu_s']:>6} {r['peak_rss_mib']:>9} "
            f"{r['objects']:>8}  {r['split']}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores, shared)")


if __name__ == "__main__":
    main()
