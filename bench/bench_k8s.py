"""Benchmark kjob's Kubernetes backend on the API emulator: API requests per task, the time from a
dependency's completion to its dependent's Job, and a fan-out as one Indexed Job vs one Job per item.

    .venv/bin/python bench/bench_k8s.py                  # full sizes (about 12 minutes here)
    .venv/bin/python bench/bench_k8s.py --quick          # small sizes, seconds (tests/test_k8s_bench.py)
    .venv/bin/python bench/bench_k8s.py --only fan       # the cases whose name contains "fan"
    .venv/bin/python bench/bench_k8s.py --json out.json

Each run is ``python -m kjob run FILE --backend kubernetes`` exactly as a user types it (or, for the
``engine`` driver, kjob's Engine + KubernetesBackend without the CLI's progress display and run
record), in a child process of its own, against a fresh
:class:`~kjob.testing.emulator.Emulator` in this process whose pods succeed after a scripted
duration without running anything.  Everything is measured on the emulator's side, so the client's
clock does not matter:

* requests: the emulator's audit log, one entry per HTTP request (retries included);
* a Job's completion: the moment the emulator commits its ``Complete`` condition (a store watcher,
  the emulator's own watch machinery, timestamps it in the committing thread);
* a Job's creation: the audit time of its ``POST`` (201), taken after the emulator has stored it.

A task's latency is its Job's creation minus the completion of the last of its dependencies' Jobs.
Workflows and pod durations are generated from fixed seeds.  bench/README.md explains the cases, the
goals and the estimate of what Argo would need (an estimate: Argo is not run here).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kjob.backends.kubernetes import names
from kjob.testing.emulator import Emulator, PodScript, PodView

REPO = Path(__file__).resolve().parent.parent
DEFAULTS = (20.0, 30)  # the CLI's --qps/--burst defaults
HIGH = (10_000.0, 10_000)  # the token bucket never waits
TIMEOUT = 1800.0  # seconds one run may take


# ---------------------------------------------------------------------------------------- workflows
@dataclass(frozen=True)
class Workload:
    """A generated workflow: its YAML, each task's dependencies, and how many Jobs' worth of work."""

    text: str
    deps: dict[str, list[str]]
    tasks: int


def _header(name: str) -> list[str]:
    return [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: Workflow",
        f"metadata: {{name: {name}}}",
        "spec:",
        "  entrypoint: main",
        "  templates:",
        "  - name: main",
        "    dag:",
        "      tasks:",
    ]


def layered(layers: int, width: int, *, outputs: str = "", seed: int = 0) -> Workload:
    """``layers`` x ``width`` tasks; each task after the first layer depends on 1 to 3 random tasks
    of the layer before.  ``outputs="parameter"``: every task writes an output parameter and passes
    its first dependency's on; ``outputs="result"``: the same through ``outputs.result`` (the log)."""
    rng = random.Random(seed)
    deps: dict[str, list[str]] = {}
    for layer in range(layers):
        for i in range(width):
            chosen = sorted(rng.sample(range(width), k=min(width, rng.randint(1, 3)))) if layer else []
            deps[f"t{layer:03d}-{i:03d}"] = [f"t{layer - 1:03d}-{j:03d}" for j in chosen]
    lines = _header(f"bench-{outputs or 'dag'}")
    for name, ds in deps.items():
        task = f"      - {{name: {name}, template: work"
        if ds:
            task += f", dependencies: [{', '.join(ds)}]"
        if outputs:
            ref = {"parameter": "outputs.parameters.out", "result": "outputs.result"}[outputs]
            value = f'"{{{{tasks.{ds[0]}.{ref}}}}}"' if ds else "start"
            task += f", arguments: {{parameters: [{{name: v, value: {value}}}]}}"
        lines.append(task + "}")
    if outputs:
        lines += [
            "  - name: work",
            "    inputs: {parameters: [{name: v}]}",
            "    container:",
            "      {image: alpine:3.20, command: [sh, -c, 'echo {{inputs.parameters.v}} > /tmp/out']}",
        ]
        if outputs == "parameter":
            lines.append("    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}")
    else:
        lines += ["  - name: work", "    container: {image: alpine:3.20, command: [sh, -c, 'true']}"]
    return Workload("\n".join(lines) + "\n", deps, layers * width)


def independent(n: int) -> Workload:
    """``n`` tasks with no dependencies (for the slow-start case)."""
    lines = _header("bench-slow")
    lines += [f"      - {{name: t{i:04d}, template: work}}" for i in range(n)]
    lines += ["  - name: work", "    container: {image: alpine:3.20, command: [sh, -c, 'true']}"]
    return Workload("\n".join(lines) + "\n", {f"t{i:04d}": [] for i in range(n)}, n)


def fan_out(items: int) -> Workload:
    """One task fanned out over ``items`` items (``withSequence``), then one task after them all."""
    text = f"""apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: bench-fan}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: fan
        template: work
        arguments: {{parameters: [{{name: i, value: "{{{{item}}}}"}}]}}
        withSequence: {{count: "{items}"}}
      - {{name: after, template: done, dependencies: [fan]}}
  - name: work
    inputs: {{parameters: [{{name: i}}]}}
    container: {{image: alpine:3.20, command: [sh, -c, 'echo {{{{inputs.parameters.i}}}}']}}
  - name: done
    container: {{image: alpine:3.20, command: [sh, -c, 'true']}}
"""
    return Workload(text, {"fan": [], "after": ["fan"]}, items + 1)


@dataclass(frozen=True)
class Pods:
    """The emulator's behaviour: every pod succeeds after a duration in [low, high) that depends only
    on its task (and completion index), printing ``ok`` as its log and its termination message."""

    low: float
    high: float
    start_delay: float = 0.0

    def seconds(self, key: str) -> float:
        h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
        return self.low + (self.high - self.low) * h

    def __call__(self, pod: PodView) -> PodScript:
        key = pod.labels.get(names.LABEL_TASK, pod.name)
        if pod.index is not None:
            key += f"/{pod.index}"
        return PodScript(
            duration=self.seconds(key),
            logs="ok\n",
            termination_message="ok",
            start_delay=self.start_delay,
        )


def critical_path(deps: dict[str, list[str]], seconds: Callable[[str], float]) -> float:
    """The longest chain of pod durations through the DAG (tasks come in dependency order)."""
    end: dict[str, float] = {}
    for task, ds in deps.items():
        end[task] = max((end[d] for d in ds), default=0.0) + seconds(task)
    return max(end.values(), default=0.0)


# ------------------------------------------------------------------------------------ measurement
class StoreTap:
    """Looks at every commit of the emulator's store (a watcher whose filter never lets anything
    through): when each Job first has ``Complete``, which Job carries which task label, and every
    write to Jobs and pods (counted as distinct resourceVersions)."""

    def __init__(self, emu: Emulator) -> None:
        self.complete: dict[str, float] = {}
        self.task_job: dict[str, str] = {}
        self.writes: dict[str, set[tuple[str, str]]] = {"jobs": set(), "pods": set()}
        for resource in self.writes:
            emu.store.watch(resource, None, self._predicate(resource), since=None)

    def _predicate(self, resource: str) -> Callable[[dict[str, Any]], bool]:
        seen = self.writes[resource]

        def look(obj: dict[str, Any]) -> bool:
            meta = obj.get("metadata") or {}
            name = str(meta.get("name"))
            seen.add((name, str(meta.get("resourceVersion"))))
            if resource == "jobs" and name not in self.complete:
                task = (meta.get("labels") or {}).get(names.LABEL_TASK)
                if task:
                    self.task_job.setdefault(task, name)
                for c in (obj.get("status") or {}).get("conditions") or ():
                    if c.get("type") == "Complete" and c.get("status") == "True":
                        self.complete[name] = time.time()
            return False

        return look


@dataclass
class Run:
    """One run of a workflow against a fresh emulator, and what it cost."""

    case: str
    driver: str  # "kjob run" (the CLI) or "engine" (Engine + KubernetesBackend, no observers)
    qps: float
    burst: int
    options: str  # extra command-line options, as typed
    tasks: int
    code: int = -1
    startup_s: float = 0.0  # process start -> first API request
    run_s: float = 0.0  # first API request -> the last Job's Complete
    tail_s: float = 0.0  # the last Job's Complete -> process exit
    ideal_s: float | None = None  # the critical path of pod start delays and durations alone
    requests: dict[str, int] = field(default_factory=dict)  # "verb resource[/sub]" -> count
    jobs_created: int = 0
    duplicates: int = 0
    configmaps_created: int = 0
    pods: int = 0
    job_writes: int = 0  # every commit to a Job (the client's creates included)
    pod_writes: int = 0
    latency_ms: list[float] = field(default_factory=list)
    # engine driver only, per dependent task: last dependency Complete -> the engine calls submit,
    # and submit -> POST audited (the engine's clock: this machine's time.time(), like the emulator's)
    decide_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def per_task(self) -> float:
        return self.total_requests / max(self.tasks, 1)

    @property
    def label(self) -> str:
        qps = "defaults" if (self.qps, self.burst) == DEFAULTS else f"qps {self.qps:g}"
        return ", ".join(x for x in (self.driver, qps, self.options) if x)

    def summary(self) -> dict[str, Any]:
        lat = self.latency_ms
        return dataclasses.asdict(self) | {
            "label": self.label,
            "total_requests": self.total_requests,
            "per_task": self.per_task,
            "latency": {f"p{q}": pct(lat, q) for q in (50, 95, 99)} | {"n": len(lat)},
        }


def child_env(home: Path, kubeconfig: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env.update(KJOB_HOME=str(home), KUBECONFIG=str(kubeconfig), NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return env


def measure(
    case: str,
    work: Workload,
    behaviour: Pods,
    *,
    driver: str = "kjob run",
    qps: tuple[float, int] = HIGH,
    options: tuple[str, ...] = (),
    latency: bool = False,
) -> Run:
    """Run ``work`` once through ``driver`` against a fresh emulator and measure it."""
    run = Run(case, driver, qps[0], qps[1], " ".join(options), work.tasks)
    print(f"... {case}: {run.label}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kjob-bench-") as tmp, Emulator(behaviour) as emu:
        tap = StoreTap(emu)
        root = Path(tmp)
        wf = root / "workflow.yaml"
        wf.write_text(work.text)
        kubeconfig = emu.write_kubeconfig(root / "kubeconfig", namespace="default")
        home = root / "home"
        home.mkdir()
        common = ["--kubeconfig", str(kubeconfig), "-n", "default", "--qps", f"{qps[0]:g}"]
        common += ["--burst", str(qps[1]), *options]
        if driver == "kjob run":
            cmd = [sys.executable, "-m", "kjob", "run", str(wf), "--backend", "kubernetes", *common]
        else:
            code = "import sys, bench_k8s; sys.exit(bench_k8s.engine_main(sys.argv[1:]))"
            cmd = [sys.executable, "-c", code, str(wf), "--trace", str(root / "submits.json"), *common]
        env = child_env(home, kubeconfig)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
        started = time.time()
        try:
            done = subprocess.run(
                cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT, check=False
            )
            run.code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as err:
            run.code, output = -1, f"timed out after {TIMEOUT:g} s: {err.stdout!r}"
        ended = time.time()
        if run.code != 0:
            run.problems.append(f"exit {run.code}: {output[-1500:]}")
        run.problems += [f"emulator: {e}" for e in emu.errors]
        audit = emu.audit()
        creates = [e for e in audit if e.verb == "create" and e.resource == "jobs" and e.code == 201]
        complete = dict(tap.complete)
        job_writes, pod_writes = len(tap.writes["jobs"]), tap.writes["pods"]
        pod_names = {name for name, _ in pod_writes}
        task_job = dict(tap.task_job)
        trace = root / "submits.json"
        submits: dict[str, float] = json.loads(trace.read_text()) if trace.exists() else {}
    first = min((e.time for e in audit), default=started)
    last = max(complete.values(), default=first)
    run.startup_s, run.run_s, run.tail_s = first - started, last - first, ended - last
    run.requests = dict(
        sorted(
            Counter(
                f"{e.verb} {e.resource}" + (f"/{e.subresource}" if e.subresource else "") for e in audit
            ).items()
        )
    )
    run.jobs_created = len(creates)
    run.duplicates = sum(n - 1 for n in Counter(e.name for e in creates).values())
    run.configmaps_created = sum(
        1 for e in audit if e.verb == "create" and e.resource == "configmaps" and e.code == 201
    )
    run.pods, run.job_writes, run.pod_writes = len(pod_names), job_writes, len(pod_writes)
    run.ideal_s = critical_path(work.deps, lambda task: behaviour.start_delay + behaviour.seconds(task))
    if run.duplicates:
        run.problems.append(f"{run.duplicates} Job(s) created more than once")
    if latency:
        run.latency_ms = latencies(work.deps, task_job, {e.name: e.time for e in creates}, complete)
        if len(run.latency_ms) != sum(1 for d in work.deps.values() if d):
            run.problems.append(f"latency measured for {len(run.latency_ms)} tasks only")
        if submits:
            created = {e.name: e.time for e in creates}
            submitted = {task_job[t]: at for t, at in submits.items() if t in task_job}
            run.decide_ms = latencies(work.deps, task_job, submitted, complete)
            run.post_ms = sorted((created[j] - at) * 1000 for j, at in submitted.items() if j in created)
    return run


def latencies(
    deps: dict[str, list[str]], job_of: dict[str, str], created: dict[str, float], complete: dict[str, float]
) -> list[float]:
    """Per task with dependencies: its Job's creation minus its last dependency's completion (ms)."""
    out: list[float] = []
    for task, ds in deps.items():
        job = job_of.get(task)
        ready = [complete.get(job_of.get(d, ""), math.nan) for d in ds]
        if ds and job in created and not any(math.isnan(r) for r in ready):
            out.append((created[job] - max(ready)) * 1000)
    return sorted(out)


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of sorted ``values``; NaN when empty."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


def engine_main(argv: list[str]) -> int:
    """The ``engine`` driver: what ``kjob run`` does, minus the progress display and ``run.json``."""
    import uuid

    from kjob.backends.kubernetes import KubernetesBackend, connect
    from kjob.cli.common import load, pick_workflow, run_id_for
    from kjob.engine.engine import Engine, EngineOptions

    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--kubeconfig")
    ap.add_argument("-n", "--namespace")
    ap.add_argument("--qps", type=float, default=DEFAULTS[0])
    ap.add_argument("--burst", type=int, default=DEFAULTS[1])
    ap.add_argument("--ttl-seconds-after-finished", type=int)
    ap.add_argument("--no-indexed-jobs", action="store_true")
    ap.add_argument("--trace", type=Path, help="write when each task was submitted (JSON)")
    args = ap.parse_args(argv)
    text = Path(args.file).read_text()
    workflow = pick_workflow(load(args.file, lenient=False), args.file, None)
    cluster = connect(kubeconfig=args.kubeconfig, namespace=args.namespace, qps=args.qps, burst=args.burst)
    run_id = run_id_for(workflow)
    run = KubernetesBackend.create_run(cluster, run_id, workflow_text=text, parameters={})
    kwargs: dict[str, Any] = {"ttl_seconds_after_finished": args.ttl_seconds_after_finished}
    if args.no_indexed_jobs:
        kwargs["indexed_jobs"] = False
    backend = KubernetesBackend(cluster, run, **kwargs)
    submitted: dict[str, float] = {}
    submit = backend.submit

    def timed_submit(spec: Any) -> None:
        submitted.setdefault(spec.task_name or spec.node_id, time.time())
        submit(spec)

    backend.submit = timed_submit  # type: ignore[method-assign]
    options = EngineOptions(namespace=cluster.namespace, uid=str(uuid.uuid4()))
    try:
        result = Engine(workflow, backend, run_id=run_id, options=options).run()
    finally:
        backend.close()
        if args.trace:
            args.trace.write_text(json.dumps(submitted))
    return 0 if result.succeeded else 1


def has_option(option: str) -> bool:
    """Whether ``kjob run`` has ``option`` (the Indexed Job switch arrived while this was written)."""
    done = subprocess.run(
        [sys.executable, "-m", "kjob", "run", "--help"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return option in done.stdout


# -------------------------------------------------------------------------------------- the cases
def dag_runs(quick: bool) -> list[Run]:
    """The 1,000-task DAG: requests per task and latency, with the CLI's rate-limit defaults and
    without a limit, keeping every Job or letting the TTL controller delete finished ones, through
    the CLI and through the bare engine; plus a chain (one Job at a time: the emulator idles)."""
    layers, width = (3, 10) if quick else (20, 50)
    work = layered(layers, width)
    dur = Pods(0.05, 0.15) if quick else Pods(0.5, 1.5)
    case = f"dag {work.tasks:,}"
    ttl0 = ("--ttl-seconds-after-finished", "0")
    if quick:
        return [
            measure(case, work, dur, qps=HIGH, latency=True),
            measure(case, work, dur, driver="engine", qps=HIGH, latency=True),
        ]
    return [
        measure(case, work, dur, qps=DEFAULTS, latency=True),
        measure(case, work, dur, qps=HIGH, latency=True),
        measure(case, work, dur, qps=HIGH, options=ttl0, latency=True),
        measure(case, work, dur, driver="engine", qps=HIGH, options=ttl0, latency=True),
        measure("chain 50", layered(50, 1), Pods(0.1, 0.2), qps=HIGH, latency=True),
    ]


def output_runs(quick: bool) -> list[Run]:
    """Tasks whose outputs are read: a parameter (the pod's termination message) or the result
    (its log) cost reads per task."""
    if quick:
        return []
    return [
        measure(f"dag 100 + {kind}", layered(10, 10, outputs=kind), Pods(0.1, 0.2))
        for kind in ("parameter", "result")
    ]


def slow_start_runs(quick: bool) -> list[Run]:
    """Pods stuck in ContainerCreating for 25 s: kjob looks at why (every 10 s, per Job)."""
    if quick:
        return []
    return [measure("slow start 100", independent(100), Pods(0.5, 0.6, start_delay=25.0), qps=HIGH)]


def fan_runs(quick: bool) -> list[Run]:
    """A fan-out as one Indexed Job and as one Job per item, with both rate-limit settings."""
    items = 20 if quick else 2000
    work = fan_out(items)
    dur = Pods(0.2, 0.2) if quick else Pods(1.0, 1.0)  # one duration: items are told apart by index only
    case = f"fan-out {items:,}"
    settings = [HIGH] if quick else [DEFAULTS, HIGH]
    if not has_option("--no-indexed-jobs"):
        print("... `kjob run` has no --no-indexed-jobs: one run per setting, in its only mode", flush=True)
        return [measure(case, work, dur, qps=qps) for qps in settings]
    return [
        measure(case, work, dur, qps=qps, options=options)
        for qps in settings
        for options in ((), ("--no-indexed-jobs",))
    ]


CASES: dict[str, Callable[[bool], list[Run]]] = {
    "dag": dag_runs,
    "outputs": output_runs,
    "slow start": slow_start_runs,
    "fan-out": fan_runs,
}


# ------------------------------------------------------------------------------------------ report
def table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    line = fmt(head)
    return "\n".join([line, "-" * len(line), *(fmt(r) for r in rows)])


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(runs: list[Run]) -> str:
    out: list[str] = []
    if not runs:
        return "no case selected"
    verbs = sorted({k for r in runs for k in r.requests}, key=lambda v: (not v.startswith("create jobs"), v))
    out += ["", "API requests (the client's, from the emulator's audit log); goal: <= 2 per task on the DAG"]
    out.append(
        table(
            ["case", "run", "tasks", "requests", "per task", *verbs, "goal"],
            [
                [
                    r.case,
                    r.label,
                    f"{r.tasks:,}",
                    f"{r.total_requests:,}",
                    f"{r.per_task:.3f}",
                    *(f"{r.requests.get(v, 0):,}" for v in verbs),
                    verdict(r.per_task <= 2) if r.case.startswith("dag") else "-",
                ]
                for r in runs
            ],
        )
    )
    timed = [r for r in runs if r.latency_ms]
    if timed:
        out += [
            "",
            "dependency's Job Complete -> dependent's Job created (ms, emulator clock);"
            " goal p50 <= 50, p99 <= 250",
        ]
        out.append(
            table(
                ["case", "run", "n", "p50", "p95", "p99", "max", "goal"],
                [
                    [
                        r.case,
                        r.label,
                        str(len(r.latency_ms)),
                        *(ms(pct(r.latency_ms, q)) for q in (50, 95, 99, 100)),
                        verdict(pct(r.latency_ms, 50) <= 50 and pct(r.latency_ms, 99) <= 250),
                    ]
                    for r in timed
                ],
            )
        )
    split = [r for r in runs if r.decide_ms]
    if split:
        out += [
            "",
            "where it goes (engine driver): Complete -> the engine calls submit; submit -> POST audited",
        ]
        out.append(
            table(
                ["case", "run", "decide p50", "p95", "p99", "POST p50", "p95", "p99"],
                [
                    [
                        r.case,
                        r.label,
                        *(ms(pct(r.decide_ms, q)) for q in (50, 95, 99)),
                        *(ms(pct(r.post_ms, q)) for q in (50, 95, 99)),
                    ]
                    for r in split
                ],
            )
        )
    out += ["", "objects, in-cluster writes and wall time"]
    out.append(
        table(
            [
                "case",
                "run",
                "Jobs",
                "ConfigMaps",
                "pods",
                "Job writes",
                "pod writes",
                "start s",
                "run s",
                "ideal s",
                "tail s",
                "total s",
            ],
            [
                [
                    r.case,
                    r.label,
                    f"{r.jobs_created:,}",
                    f"{r.configmaps_created:,}",
                    f"{r.pods:,}",
                    f"{r.job_writes - r.jobs_created:,}",
                    f"{r.pod_writes:,}",
                    f"{r.startup_s:.1f}",
                    f"{r.run_s:.1f}",
                    "-" if r.ideal_s is None else f"{r.ideal_s:.1f}",
                    f"{r.tail_s:.1f}",
                    f"{r.startup_s + r.run_s + r.tail_s:.1f}",
                ]
                for r in runs
            ],
        )
    )
    out.append(
        "  Jobs, ConfigMaps: created by the client; pods: created by the emulated Job controller; Job/pod"
        " writes:\n  commits by the emulated Job controller and kubelet (the client's creates excluded)."
        "  start: process start\n  -> first request; run: first request -> last Job Complete; ideal: the"
        " critical path of the pods'\n  scripted times alone; tail: last Job Complete -> process exit."
    )
    fans = [r for r in runs if r.case.startswith("fan-out")]
    for qps in sorted({(r.qps, r.burst) for r in fans}):
        pair = [r for r in fans if (r.qps, r.burst) == qps]
        indexed = [r for r in pair if "--no-indexed-jobs" not in r.options]
        per_item = [r for r in pair if "--no-indexed-jobs" in r.options]
        if indexed and per_item and indexed[0].run_s > 0:
            a, b = indexed[0], per_item[0]
            jobs = b.jobs_created / max(a.jobs_created, 1)
            requests = b.total_requests / max(a.total_requests, 1)
            writes = (b.job_writes - b.jobs_created) / max(a.job_writes - a.jobs_created, 1)
            out.append(
                f"  {a.case}, {a.label}: one Job per item creates {jobs:.0f}x the Jobs, makes {requests:.0f}x"
                f" the requests and {writes:.0f}x the Job writes, and takes {b.run_s / a.run_s:.1f}x as long"
                " (run s)"
            )
    for r in runs:
        for p in r.problems:
            out.append(f"  PROBLEM {r.case} ({r.label}): {p}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the runs as JSON")
    ap.add_argument(
        "--only", metavar="TEXT", help=f"run only the cases whose name contains TEXT ({', '.join(CASES)})"
    )
    args = ap.parse_args(argv)
    load1, load5, _ = (f"{x:.2f}" for x in os.getloadavg())
    print(
        f"kjob's Kubernetes backend on the API emulator; {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus; "
        f"load average {load1} (1 min), {load5} (5 min)",
        flush=True,
    )
    runs: list[Run] = []
    for name, cases in CASES.items():
        if not args.only or args.only in name:
            runs += cases(args.quick)
    print(report(runs))
    if args.json:
        data = {"quick": args.quick, "runs": [r.summary() for r in runs]}
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 1 if any(r.problems for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
