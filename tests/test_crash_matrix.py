"""The crash matrix: ``kjob run`` is SIGKILLed at 20 points of a run (before anything started, as
tasks start, while they run, during a retry's backoff, in a fan-out, at the end), on the local
backend and on Kubernetes (the API emulator), and ``kjob resume`` finishes each run.

Every task appends one line to a counter file each time it really starts, so "no task runs twice"
and "no output lost" are read off what happened, not off kjob's own record; and no process of the
run (task, node agent) may be left once the resume has ended."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from kjob.testing.emulator import Emulator, host_process
from tests.conftest import REPO, kjob_env
from tests.realk8s import KUBECONFIG_ENV

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: crash}
spec:
  entrypoint: main
  arguments: {parameters: [{name: counter}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: produce}
      - {name: f, template: item, withItems: [1, 2, 3], arguments: {parameters: [{name: i, value: "{{item}}"}]}}
      - name: r
        template: flaky
        dependencies: [a]
      - name: z
        template: consume
        dependencies: [f, r]
        arguments:
          parameters:
          - {name: v, value: "{{tasks.a.outputs.parameters.v}}"}
          - {name: r, value: "{{tasks.r.outputs.result}}"}
  - name: produce
    container:
      image: alpine
      command: [sh, -c, 'echo "a 0" >> "$0"; sleep 0.4; echo A > /tmp/v', "{{workflow.parameters.counter}}"]
    outputs: {parameters: [{name: v, valueFrom: {path: /tmp/v}}]}
  - name: item
    inputs: {parameters: [{name: i}]}
    container:
      image: alpine
      command: [sh, -c, 'echo "f$1 0" >> "$0"; sleep 0.4; echo "item $1"', "{{workflow.parameters.counter}}",
                "{{inputs.parameters.i}}"]
  - name: flaky
    retryStrategy: {limit: 2, retryPolicy: Always, backoff: {duration: "1s"}}
    container:
      image: alpine
      command: [sh, -c, 'echo "r $1" >> "$0"; sleep 0.3; [ "$1" -ge 1 ] && echo R', "{{workflow.parameters.counter}}",
                "{{retries}}"]
  - name: consume
    inputs: {parameters: [{name: v}, {name: r}]}
    container:
      image: alpine
      command: [sh, -c, 'echo "z 0" >> "$0"; echo "$1-$2" > /tmp/out', "{{workflow.parameters.counter}}",
                "{{inputs.parameters.v}}", "{{inputs.parameters.r}}"]
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
"""
EXPECTED_STARTS = Counter(["a 0", "f1 0", "f2 0", "f3 0", "r 0", "r 1", "z 0"])


@dataclass(frozen=True)
class KillPoint:
    """Kill the client once ``lines`` task starts are counted (0: once the run is recorded), then
    ``delay`` seconds later; or once the counter holds ``line``."""

    name: str
    lines: int = 0
    delay: float = 0.0
    line: str = ""


POINTS = [
    KillPoint("recorded, nothing started"),
    KillPoint("0.2s after the record", delay=0.2),
    *(KillPoint(f"start {n}", lines=n) for n in range(1, 8)),
    *(KillPoint(f"start {n} +0.5s", lines=n, delay=0.5) for n in (1, 2, 3, 4, 5, 6)),
    KillPoint("in the fan-out", line="f2 0", delay=0.1),
    KillPoint("failed attempt, before backoff", line="r 0", delay=0.35),
    KillPoint("during the backoff", line="r 0", delay=0.9),
    KillPoint("retry started", line="r 1", delay=0.05),
    KillPoint("last task", line="z 0", delay=0.05),
]
assert len(POINTS) == 20


@dataclass
class Crash:
    point: KillPoint
    run_code: int | None  # the run's exit code if it ended before the kill
    resume: subprocess.CompletedProcess[str]
    starts: Counter[str]
    z_out: str | None
    left: list[str]


def _wait_for(point: KillPoint, counter: Path, record: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        lines = counter.read_text().splitlines() if counter.exists() else []
        reached = (point.line in lines) if point.line else (len(lines) >= point.lines and record.exists())
        if reached:
            time.sleep(point.delay)
            return
        time.sleep(0.01)


def _left_behind(marker: str) -> list[str]:
    """Live processes whose command line or environment names ``marker``."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, IndexError):
            continue
        if marker.encode() in cmdline or marker.encode() in environ:
            left.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return left


def _crash_and_resume(point: KillPoint, root: Path, backend_args: Callable[[], list[str]]) -> Crash:
    home = root / "home"
    home.mkdir(parents=True)
    counter = root / "counter"
    wf = root / "crash.yaml"
    wf.write_text(WORKFLOW)
    env = kjob_env(home)
    args = backend_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(wf), "-p", f"counter={counter}", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(point, counter, home / "runs" / "crash" / "run.json", proc)
    run_code = proc.poll()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    resume_args = [a for a in args if a not in ("--backend", "kubernetes", "local")]  # -n stays
    resume = subprocess.run(
        [sys.executable, "-m", "kjob", "resume", "crash", *resume_args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    deadline = time.monotonic() + 10
    while (left := _left_behind(str(counter))) and time.monotonic() < deadline:
        time.sleep(0.1)
    starts = Counter(counter.read_text().splitlines() if counter.exists() else [])
    z_out = None
    record = home / "runs" / "crash" / "run.json"
    if record.exists():
        nodes = {n["id"]: n for n in json.loads(record.read_text())["nodes"]}
        z_out = nodes.get("z", {}).get("outputs", {}).get("parameters", {}).get("out")
    return Crash(point, run_code, resume, starts, z_out, left)


def _check(crash: Crash) -> None:
    said = f"[{crash.point.name}] resume said:\n{crash.resume.stdout}{crash.resume.stderr}"
    assert crash.resume.returncode == 0, said
    assert crash.starts == EXPECTED_STARTS, f"[{crash.point.name}] task starts: {crash.starts}\n{said}"
    assert crash.z_out == "A-R", said  # outputs passed on, across the crash
    assert crash.left == [], f"[{crash.point.name}] left running: {crash.left}"


def test_local_runs_killed_at_20_points_all_resume_to_the_same_end(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=5) as pool:
        crashes = list(
            pool.map(
                lambda ip: _crash_and_resume(ip[1], tmp_path / f"p{ip[0]}", lambda: ["--backend", "local"]),
                enumerate(POINTS),
            )
        )
    for crash in crashes:
        _check(crash)
    # the matrix really cut runs short: most kills landed while the run was going
    assert sum(c.run_code is None for c in crashes) >= 15


@pytest.fixture
def emulators(tmp_path: Path) -> Iterator[Callable[[Path], list[str]]]:
    started: list[Emulator] = []

    def one(root: Path) -> list[str]:
        emu = Emulator(host_process())
        emu.__enter__()
        started.append(emu)
        config = emu.write_kubeconfig(root / "kubeconfig", namespace="default")
        return ["--backend", "kubernetes", "--kubeconfig", str(config)]

    yield one
    for emu in started:
        emu.__exit__(None, None, None)


def test_kubernetes_runs_killed_at_20_points_all_resume_to_the_same_end(
    tmp_path: Path, emulators: Callable[[Path], list[str]]
) -> None:
    """On the API emulator, where no real cluster is configured; where one is, the real control plane
    (the judge) runs the same matrix below, and this one is not repeated (it would add two minutes)."""
    if os.environ.get(KUBECONFIG_ENV):
        pytest.skip(f"{KUBECONFIG_ENV} names a real cluster: the matrix runs there instead")

    def crash(ip: tuple[int, KillPoint]) -> Crash:
        root = tmp_path / f"p{ip[0]}"
        root.mkdir()
        return _crash_and_resume(ip[1], root, lambda: emulators(root))

    with ThreadPoolExecutor(max_workers=5) as pool:
        crashes = list(pool.map(crash, enumerate(POINTS)))
    for c in crashes:
        _check(c)
    assert sum(c.run_code is None for c in crashes) >= 15


@pytest.mark.real_cluster
def test_runs_on_the_real_cluster_killed_at_20_points_all_resume_to_the_same_end(tmp_path: Path) -> None:
    """The same matrix on the real control plane, each run in a namespace of its own.  Its pods run on
    this machine (realk8s) but not under this test's /tmp: the counters live under ~/.cache."""
    from tests.realk8s import namespace

    counters = Path.home() / ".cache" / f"kjob-crash-{os.getpid()}"
    contexts = []

    def crash(ip: tuple[int, KillPoint]) -> Crash:
        root = counters / f"p{ip[0]}"
        root.mkdir(parents=True)
        ns = namespace("crash")
        contexts.append(ns)
        space = ns.__enter__()
        return _crash_and_resume(
            ip[1],
            root,
            lambda: ["--backend", "kubernetes", "--kubeconfig", str(space.kubeconfig), "-n", space.name],
        )

    try:
        with ThreadPoolExecutor(max_workers=10) as pool:  # mostly waiting on the cluster
            crashes = list(pool.map(crash, enumerate(POINTS)))
    finally:
        for ns in contexts:
            ns.__exit__(None, None, None)
        shutil.rmtree(counters, ignore_errors=True)
    for c in crashes:
        _check(c)
    assert sum(c.run_code is None for c in crashes) >= 15
