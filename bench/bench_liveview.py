"""What one refresh of ``kjob run``'s live view costs (it is drawn four times a second, on a thread of
the process that runs the engine), against the view it replaced in the same run: a rich Table of every
task and item (``kjob.cli.progress._table`` over ``shown(nodes)``), laid out at the same width.

    .venv/bin/python bench/bench_liveview.py            # 80-item and 20,000-item fan-outs, 2,000 tasks
    .venv/bin/python bench/bench_liveview.py --quick    # smaller: seconds

Each shape is run to the end on the virtual backend (no processes), then its final nodes are drawn:
the live view (NodeTracker state + render at 80x24) and the old table, each the best of a few
rounds, with rich's output going to a null file.  Printed: milliseconds per refresh and the ratio.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

from rich.console import Console

from kjob.backends.virtual import VirtualBackend, scripted
from kjob.cli import liveview
from kjob.cli.livestate import NodeTracker
from kjob.cli.progress import _table, shown
from kjob.engine.engine import Engine
from kjob.engine.state import Node
from kjob.spec import load_text

HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}\nspec:\n  entrypoint: main\n"
WORK = "  - name: work\n    container: {image: alpine, command: ['true']}\n"


def fanout(items: int) -> str:
    return (
        HEAD
        + "  templates:\n  - name: main\n    dag:\n      tasks:\n"
        + f"      - {{name: many, template: work, withSequence: {{count: '{items}'}}}}\n"
        + WORK
    )


def tasks(count: int) -> str:
    body = "".join(f"      - {{name: t{i:05d}, template: work}}\n" for i in range(count))
    return HEAD + "  templates:\n  - name: main\n    dag:\n      tasks:\n" + body + WORK


def best(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(name: str, text: str, rounds: int) -> None:
    workflow = load_text(text, path=f"{name}.yaml").workflows[0]
    tracker = NodeTracker("main")

    class Track:
        def node_changed(self, node: Node) -> None:
            tracker.changed(node)

    result = Engine(workflow, VirtualBackend(scripted({})), run_id="wf", observers=[Track()]).run()
    console = Console(file=io.StringIO(), width=80, height=24, color_system="standard", force_terminal=True)

    def new_view() -> None:
        console.file = io.StringIO()
        state = tracker.state(run="wf", phase="Running", now=result.finished_at, started=0.0, expand=())
        console.print(liveview.render(state, width=80, height=24))

    def old_table() -> None:
        console.file = io.StringIO()
        console.print(_table(shown(result.nodes, "main"), now=result.finished_at))

    new = best(rounds, new_view)
    old = best(max(1, rounds // 3), old_table)
    print(
        f"{name:<22} live view {new * 1000:8.2f} ms   all-rows table {old * 1000:9.1f} ms   x{old / new:,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller shapes")
    args = parser.parse_args()
    rounds = 5 if args.quick else 10
    shapes = [("fan-out 80 items", fanout(80)), ("2,000 tasks", tasks(2000 if not args.quick else 500))]
    shapes.append(("fan-out 20,000 items", fanout(20_000 if not args.quick else 2_000)))
    for name, text in shapes:
        measure(name, text, rounds)


if __name__ == "__main__":
    main()
