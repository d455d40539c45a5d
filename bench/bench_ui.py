"""How long the DAG page takes to show a 2,000-task run, measured in a real headless Chromium, against a
blank page served the same way in the same run.

    .venv/bin/python bench/bench_ui.py              # 9 rounds
    .venv/bin/python bench/bench_ui.py --rounds 15 --json ui.json

Runs are recorded in virtual time (the engine and the run recorder as in a real run, no processes) in a
temporary ``KJOB_HOME``:

* ``wide-2000`` — 2,000 distinct tasks, 100 to a level, each waiting for two of the level before: 2,000
  boxes and about 3,900 edges on the page, the worst case for drawing;
* ``fan-2000`` — a task, a 2,000-item fan-out, a task: three boxes, the fan-out counting its items;
* ``small`` — 6 tasks (``examples/01-basic-dag.yaml``'s shape).

The pages are served by ``kjob ui``'s server (in this process, on 127.0.0.1).  The baseline is a blank
HTML page served by the standard library's HTTP server in the same process: what the browser, the
loopback and ``http.server`` cost with nothing to show.  The pages take turns, one load of each per
round, so a burst of load on the machine falls on all of them alike; each figure is the median.

For each page, from the browser's own clocks (milliseconds since the navigation started):

* ``ready`` — when the page's script has indexed the drawn SVG and applied the states
  (``window.kjobRendered``, ``performance.now()``), i.e. the DAG is in the DOM and live; for the blank
  page, ``loadEventEnd``;
* ``paint`` — first contentful paint;
* (each load is read once the page says it is ready and has painted: the driver may hand back a big
  page while it is still being parsed);
* ``response`` — the last byte of the HTML (the server's share).

Then ``update`` — one poll's worth of change applied to the drawn page with every box changing state
(the page changes classes and count texts in place; nothing is drawn again), median of 9; and, in
Python, the server's cost of a cold page (parse run.json, lay out, draw) and of a state poll.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ui_browser import chromium
from tests.ui_runs import fan_workflow, served, virtual_run, wait_for, wide_workflow

SMALL = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: small}
spec:
  entrypoint: main
  templates:
  - name: work
    container: {image: alpine, command: ['true']}
  - name: main
    dag:
      tasks:
      - {name: validate, template: work}
      - {name: transform, template: work, depends: validate}
      - {name: users, template: work, depends: transform}
      - {name: orders, template: work, depends: transform}
      - {name: report, template: work, depends: users && orders}
      - {name: upload, template: work, depends: report}
"""

LOADED_JS = """
return document.readyState === 'complete'
  && (document.getElementById('kjob-boot') === null || window.kjobRendered !== undefined)
  && performance.getEntriesByName('first-contentful-paint').length > 0;
"""

TIMING_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const paint = performance.getEntriesByName('first-contentful-paint')[0];
return {
  ready: window.kjobRendered === undefined ? nav.loadEventEnd : window.kjobRendered,
  paint: paint ? paint.startTime : null,
  response: nav.responseEnd,
  bytes: nav.transferSize,
  boxes: document.querySelectorAll('#dag g.node').length,
};
"""

UPDATE_JS = """
const words = ['running', 'succeeded', 'failed', 'pending'];
const state = JSON.parse(JSON.stringify(arguments[0]));
const turn = arguments[1];
for (const id in state.boxes) state.boxes[id] = [words[turn % words.length], ''];
const t0 = performance.now();
window.kjobApply(state);
const t1 = performance.now();
return t1 - t0;
"""


class Blank(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!DOCTYPE html><html><head><title>blank</title></head><body><p>blank</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", metavar="FILE", help="Write the figures as JSON to FILE.")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="kjob-bench-ui-"))
    started = time.perf_counter()
    virtual_run(home, wide_workflow(2000), "wide-2000")
    virtual_run(home, fan_workflow(2000), "fan-2000")
    virtual_run(home, SMALL, "small")
    print(f"recorded the runs in {time.perf_counter() - started:.1f} s (virtual time)")
    figures: dict[str, Any] = {"server": server_costs(home)}

    blank = ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    threading.Thread(target=blank.serve_forever, daemon=True).start()
    driver = chromium()
    try:
        with served(home) as ui:
            pages = {
                "blank page (baseline)": f"http://127.0.0.1:{blank.server_address[1]}/",
                "small (6 tasks)": f"{ui.url}runs/small",
                "fan-2000 (3 boxes)": f"{ui.url}runs/fan-2000",
                "wide-2000 (2,000 boxes)": f"{ui.url}runs/wide-2000",
                "runs list": ui.url,
            }
            for name, url in pages.items():  # warm-up: the browser's caches, the server's parsed records
                driver.get(url)
                wait_for(f"{name} to load", lambda: driver.execute_script(LOADED_JS), 60)
            samples: dict[str, list[dict[str, Any]]] = {name: [] for name in pages}
            for _ in range(args.rounds):
                for name, url in pages.items():
                    driver.get("about:blank")
                    driver.get(url)
                    wait_for(f"{name} to load", lambda: driver.execute_script(LOADED_JS), 60)
                    samples[name].append(driver.execute_script(TIMING_JS))
            figures["pages"] = {name: summarise(rows) for name, rows in samples.items()}
            driver.get(f"{ui.url}runs/wide-2000")
            wait_for("wide-2000 to load", lambda: driver.execute_script(LOADED_JS), 60)
            state = json.loads(driver.execute_script("return JSON.stringify(window.kjobState)"))
            times = [driver.execute_script(UPDATE_JS, state, turn) for turn in range(9)]
            figures["update_all_2000_ms"] = round(statistics.median(times), 1)
    finally:
        driver.quit()
        blank.shutdown()
    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


def server_costs(home: Path) -> dict[str, float]:
    """Milliseconds the server spends on a cold page and on a state poll of ``wide-2000``."""
    from kjob.ui import views
    from kjob.ui.source import RunSource

    os.environ["KJOB_HOME"] = str(home)
    cold = []
    for _ in range(5):
        source = RunSource()
        t0 = time.perf_counter()
        views.served_page(source.load("wide-2000"))
        cold.append(time.perf_counter() - t0)
    source = RunSource()
    source.load("wide-2000")
    poll = []
    for _ in range(21):
        t0 = time.perf_counter()
        views.state_of(source.load("wide-2000"))
        poll.append(time.perf_counter() - t0)
    return {
        "cold_page_ms": round(statistics.median(cold) * 1000, 1),
        "state_poll_unchanged_ms": round(statistics.median(poll) * 1000, 2),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(statistics.median(values), 1) if values else None

    return {
        "ready_ms": median("ready"),
        "paint_ms": median("paint"),
        "response_ms": median("response"),
        "html_bytes": rows[-1]["bytes"],
        "boxes": rows[-1]["boxes"],
    }


def report(figures: dict[str, Any]) -> None:
    pages = figures["pages"]
    base = pages["blank page (baseline)"]["ready_ms"] or 1.0
    print(
        f"{'page':28} {'ready ms':>9} {'x blank':>8} {'paint ms':>9} {'response ms':>12} "
        f"{'bytes':>9} {'boxes':>6}"
    )
    for name, f in pages.items():
        ratio = (f["ready_ms"] or 0) / base
        print(
            f"{name:28} {f['ready_ms']:>9} {ratio:>8.1f} {f['paint_ms']!s:>9} {f['response_ms']:>12} "
            f"{f['html_bytes']:>9} {f['boxes']:>6}"
        )
    print(f"every one of 2,000 boxes changing state, applied in place: {figures['update_all_2000_ms']} ms")
    server = figures["server"]
    print(
        f"server, wide-2000: cold page (parse, lay out, draw) {server['cold_page_ms']} ms; "
        f"state poll of an unchanged run {server['state_poll_unchanged_ms']} ms"
    )


if __name__ == "__main__":
    main()
