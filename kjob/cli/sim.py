"""``kjob sim SOURCE``: how long would this take on that cluster?  (The model lives in :mod:`sim`.)"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import click

from kjob.cli import console
from sim.cluster import PLACEMENTS, parse_quantity
from sim.durations import Distribution, parse_distribution
from sim.errors import SimError
from sim.policies import POLICIES
from sim.results import MonteCarlo, Result, rounded
from sim.scenario import Loaded, Scenario, load, needs_reload, simulator, sweep_points


def _quantity(what: str) -> Any:
    def convert(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
        if value is None:
            return None
        try:
            return parse_quantity(value, what)
        except SimError as err:
            raise click.BadParameter(err.message) from None

    return convert


def _distribution(ctx: click.Context, param: click.Parameter, value: str | None) -> Distribution | None:
    if value is None:
        return None
    try:
        return parse_distribution(value, what=param.name or "duration")
    except SimError as err:
        raise click.BadParameter(f"{err.message} ({err.hint})" if err.hint else err.message) from None


def _request(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float, float]:
    out = {"cpu": 0.0, "memory": 0.0, "gpu": 0.0}
    for part in value.split(","):
        name, eq, amount = part.partition("=")
        if not eq or name.strip() not in out:
            raise click.BadParameter(f"'{part}' is not cpu=Q, memory=Q or gpu=Q")
        try:
            out[name.strip()] = parse_quantity(amount.strip(), name.strip())
        except SimError as err:
            raise click.BadParameter(err.message) from None
    return out["cpu"], out["memory"], out["gpu"]


@click.command("sim")
@click.argument("source")
@click.option("--cluster", "cluster_file", type=click.Path(dir_okay=False), help="Node pools from a file.")
@click.option("--nodes", type=click.IntRange(min=1), help="N identical nodes (with --cpu, --memory, ...).")
@click.option("--cpu", callback=_quantity("cpu"), help="CPU per node (--nodes), e.g. 8 or 7500m.")
@click.option("--memory", callback=_quantity("memory"), help="Memory per node (--nodes), e.g. 32Gi.")
@click.option("--gpu", callback=_quantity("gpu"), help="GPUs per node (--nodes).")
@click.option("--pods", type=click.IntRange(min=1), help="Pods per node (--nodes; default 110).")
@click.option("--slots", type=click.IntRange(min=1), help="K identical slots (like --parallelism K locally).")
@click.option("--policy", type=click.Choice(POLICIES), default="eager", show_default=True)
@click.option("--placement", type=click.Choice(PLACEMENTS), help="How pods are placed (default first-fit).")
@click.option("--parallelism", type=click.IntRange(min=1), help="Run at most N tasks at once.")
@click.option("--startup", callback=_distribution, metavar="DIST", help="Pod start-up latency, e.g. 3s.")
@click.option("--qps", type=click.FloatRange(min=0, min_open=True), help="Client API rate (Jobs/s).")
@click.option("--burst", type=click.IntRange(min=1), help="Client API burst (with --qps).")
@click.option("--bandwidth", callback=_quantity("bandwidth"), help="Bytes/s between nodes (transfers).")
@click.option(
    "--durations", "durations_file", type=click.Path(dir_okay=False), help="Durations per template."
)
@click.option("--default-duration", callback=_distribution, metavar="DIST", help="For templates with none.")
@click.option("--fail-prob", type=click.FloatRange(0, 1), help="Chance that any attempt fails.")
@click.option(
    "--request",
    default="cpu=1,memory=1Gi",
    show_default=True,
    callback=_request,
    help="Requests of tasks that state none.",
)
@click.option("--calibrate", "calibrate_run", metavar="RUN", help="Fit durations and start-up from a run.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True, help="Monte Carlo runs.")
@click.option("--sweep", "sweeps", multiple=True, metavar="PARAM=V1,V2", help="Vary a parameter.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--tasks", "per_task", is_flag=True, help="Per-task start/end/node in the JSON.")
@click.option("--gantt", type=click.Path(dir_okay=False), help="Draw the schedule (PNG; needs kjob[plot]).")
@click.option("--utilisation", type=click.Path(dir_okay=False), help="Draw utilisation over time (PNG).")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@click.option("--no-fail-fast", is_flag=True, help="Keep starting tasks after a task fails for good.")
def command(
    source: str,
    cluster_file: str | None,
    nodes: int | None,
    cpu: float | None,
    memory: float | None,
    gpu: float | None,
    pods: int | None,
    slots: int | None,
    policy: str,
    placement: str | None,
    parallelism: int | None,
    startup: Distribution | None,
    qps: float | None,
    burst: int | None,
    bandwidth: float | None,
    durations_file: str | None,
    default_duration: Distribution | None,
    fail_prob: float | None,
    request: tuple[float, float, float],
    calibrate_run: str | None,
    seed: int,
    runs: int,
    sweeps: tuple[str, ...],
    output: str,
    per_task: bool,
    gantt: str | None,
    utilisation: str | None,
    workflow_name: str | None,
    no_fail_fast: bool,
) -> None:
    """Simulate SOURCE on a modelled cluster: makespan, bounds, utilisation and queueing.

    SOURCE is a kjob/Argo workflow file, a WfCommons WfFormat instance, a HEFT cost table, or a
    generator: chain:N, fanout:N, layered:N[,width=W,deps=D], montage-like:N.
    """
    scn = Scenario(
        source=source,
        workflow=workflow_name,
        cluster_file=cluster_file,
        nodes=nodes,
        cpu=cpu,
        memory=memory,
        gpu=gpu,
        pods=float(pods) if pods is not None else None,
        slots=slots,
        policy=policy,
        placement=placement,
        parallelism=parallelism,
        startup=startup,
        qps=qps,
        burst=burst,
        bandwidth=bandwidth,
        durations_file=durations_file,
        default_duration=default_duration,
        fail_prob=fail_prob,
        request=request,
        calibrate=calibrate_run,
        seed=seed,
        runs=runs,
        fail_fast=not no_fail_fast,
    )
    if sweeps:
        if gantt or utilisation or per_task:
            raise SimError(
                "--gantt, --utilisation and --tasks show one run, not a sweep", hint="drop --sweep"
            )
        _sweep(scn, sweeps, output)
        return
    loaded = load(scn)
    sim = simulator(scn, loaded)
    began = time.perf_counter()
    outcome: Result | MonteCarlo = sim.monte_carlo(scn.runs, scn.seed) if scn.runs > 1 else sim.run(scn.seed)
    took = time.perf_counter() - began
    result = outcome.first if isinstance(outcome, MonteCarlo) else outcome
    data = _document(scn, loaded, outcome, sim.cluster.describe())
    if per_task:
        data["task_list"] = result.tasks(loaded.workload.names, sim.nodes.names if sim.nodes else ())
    if output == "json":
        console.out.print(json.dumps(data, indent=2, sort_keys=True), markup=False, highlight=False)
    else:
        _print(data, result, took, scn.runs)
    title = f"{loaded.workload.title} - {scn.policy}"
    if gantt:
        from sim import plots

        plots.gantt(result, gantt, node_names=sim.nodes.names if sim.nodes else (), title=title)
        console.notice(f"wrote {gantt}")
    if utilisation:
        from sim import plots

        cap = float(sim.nodes.capacity[:, 0].sum()) if sim.nodes is not None else None
        plots.utilisation(result, utilisation, cpu=loaded.workload.request[:, 0], capacity=cap, title=title)
        console.notice(f"wrote {utilisation}")


def _document(scn: Scenario, loaded: Loaded, outcome: Result | MonteCarlo, cluster: str) -> dict[str, Any]:
    w = loaded.workload
    data: dict[str, Any] = outcome.summary()
    data["source"] = w.title or scn.source
    data["cluster"] = cluster
    data["levels"] = w.plan.levels
    data["edges"] = int(w.plan.indices.size)
    data.update(rounded(dict(w.info)))
    if loaded.calibration is not None:
        data["calibration"] = rounded(loaded.calibration.summary())
    return data


def _print(data: dict[str, Any], result: Result, took: float, runs: int) -> None:
    line = console.line
    line(
        f"{data['source']}: {data['tasks']} tasks, {data['edges']} edges, {data['levels']} levels"
        f" on {data['cluster']}; policy {data['policy']}"
    )
    if runs > 1:
        line(
            f"  makespan        p50 {_dur(data['makespan_p50'])}, p95 {_dur(data['makespan_p95'])},"
            f" p99 {_dur(data['makespan_p99'])} ({runs} runs)"
        )
    else:
        line(f"  makespan        {_dur(data['makespan'])}")
    line(f"  lower bound     {_dur(data['lower_bound'])} (critical path {_dur(data['critical_path'])})")
    if data["upper_bound"] is None:
        line(f"  upper bound     none: {data['upper_bound_note']}")
    else:
        line(f"  upper bound     {_dur(data['upper_bound'])} ({data['upper_bound_note']})")
    for key, label in (("recorded_makespan", "recorded"), ("published_heft_makespan", "published")):
        if key in data:
            line(f"  {label:16}{_dur(data[key])} (the source's own figure)")
    if "calibration" in data:
        cal = data["calibration"]
        line(
            f"  measured        {_dur(cal['measured_makespan'])}"
            f" (run {cal['run']}, start-up {cal['startup']:g}s)"
        )
    util = ", ".join(f"{k} {v * 100:.1f}%" for k, v in data["utilisation"].items()) or "n/a"
    line(f"  utilisation     {util}")
    q = data["queue_wait"]
    line(f"  queue wait      mean {_dur(q['mean'])}, p95 {_dur(q['p95'])}, max {_dur(q['max'])}")
    busiest = data["busiest_level"]
    if busiest is not None:
        line(
            f"  busiest level   {busiest['level']} ({busiest['tasks']} tasks,"
            f" {_dur(busiest['work'])} of work, mean wait {_dur(busiest['queue_wait_mean'])})"
        )
    line(
        f"  tasks           {data['succeeded']} succeeded, {data['failed']} failed, {data['not_run']} not run"
        f" ({data['attempts']} attempts)"
    )
    rate = result.events / took if took > 0 else math.inf
    line(f"  simulated       {result.events} events in {took:.2f}s ({rate / 1000:.0f}k events/s)")


def _sweep(scn: Scenario, sweeps: tuple[str, ...], output: str) -> None:
    points = sweep_points(scn, sweeps)
    loaded: Loaded | None = None
    loaded_for: Scenario | None = None
    rows = []
    for point, s in points:
        if loaded is None or loaded_for is None or needs_reload(loaded_for, s):
            loaded, loaded_for = load(s), s
        sim = simulator(s, loaded)
        outcome: Result | MonteCarlo = sim.monte_carlo(s.runs, s.seed) if s.runs > 1 else sim.run(s.seed)
        row: dict[str, Any] = {"parameters": point}
        row.update(_document(s, loaded, outcome, sim.cluster.describe()))
        rows.append(row)
    if output == "json":
        console.out.print(
            json.dumps({"sweep": rows}, indent=2, sort_keys=True), markup=False, highlight=False
        )
        return
    names = list(points[0][0])
    mc = scn.runs > 1 or any(p[1].runs > 1 for p in points)
    head = [*names, *(["p50", "p95"] if mc else ["makespan"]), "lower", "upper", "cpu", "wait p95"]
    table = []
    for row in rows:
        util = row["utilisation"].get("cpu", row["utilisation"].get("slots"))
        cells = [str(row["parameters"][n]) for n in names]
        cells += [_secs(row["makespan_p50"]), _secs(row["makespan_p95"])] if mc else [_secs(row["makespan"])]
        cells += [
            _secs(row["lower_bound"]),
            _secs(row["upper_bound"]) if row["upper_bound"] is not None else "-",
            f"{util * 100:.1f}%" if util is not None else "-",
            _secs(row["queue_wait"]["p95"]),
        ]
        table.append(cells)
    widths = [max(len(h), *(len(r[k]) for r in table)) for k, h in enumerate(head)]
    console.line("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for cells in table:
        console.line("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))


def _secs(x: float) -> str:
    return f"{x:.1f}s"


def _dur(seconds: float | None) -> str:
    """``3725.5`` -> ``1h 2m 5.5s (3725.5 s)``; short durations as plain seconds."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.6g}s"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = (f"{int(h)}h " if h else "") + f"{int(m)}m {s:.0f}s"
    return f"{text} ({seconds:.6g}s)"
