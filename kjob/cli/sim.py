"""``kjob sim SOURCE``: how long would this take on that cluster?  (The model lives in :mod:`sim`.)"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from kjob.cli import console
from kjob.cli.bar import Advance, progress_bar
from kjob.cli.viewoptions import quiet_option
from sim.cluster import PLACEMENTS, parse_quantity
from sim.core import Simulator
from sim.durations import Distribution, human, parse_distribution
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


def _items(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    out = []
    for text in value:
        task, eq, count = text.partition("=")
        if not eq or not task.strip() or not count.strip().isdecimal():
            raise click.BadParameter(f"'{text}' is not TASK=N (N a whole number), e.g. process=100")
        out.append((task.strip(), int(count)))
    return tuple(out)


def _when(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[tuple[str, bool | float], ...]:
    out: list[tuple[str, bool | float]] = []
    for text in value:
        task, eq, decided = text.partition("=")
        word = decided.strip().lower()
        if eq and task.strip() and word in ("true", "false"):
            out.append((task.strip(), word == "true"))
            continue
        try:
            p = float(word)
        except ValueError:
            p = math.nan
        if not (eq and task.strip() and 0 <= p <= 1):
            raise click.BadParameter(f"'{text}' is not TASK=true, TASK=false or TASK=P (0 <= P <= 1)")
        out.append((task.strip(), p))
    return tuple(out)


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
@click.option(
    "--calibrate",
    "calibrate_run",
    metavar="RUN|TRACE",
    help="Fit durations, start-up, fan-outs and branches from a run, or concurrency from a WfCommons trace.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--runs", type=click.IntRange(min=1), default=1, show_default=True, help="Monte Carlo runs.")
@click.option("--sweep", "sweeps", multiple=True, metavar="PARAM=V1,V2", help="Vary a parameter.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--tasks", "per_task", is_flag=True, help="Per-task start/end/node in the JSON.")
@click.option("--gantt", metavar="FILE", help="Draw the schedule (.png, .svg, .pdf; needs kjob[plot]).")
@click.option("--utilisation", metavar="FILE", help="Draw utilisation over time (.png, .svg, .pdf).")
@click.option("--workflow", "workflow_name", metavar="NAME", help="Which workflow of a multi-document file.")
@click.option("--no-fail-fast", is_flag=True, help="Keep starting tasks after a task fails for good.")
@click.option(
    "--items",
    "items",
    multiple=True,
    callback=_items,
    metavar="TASK=N",
    help="Width of a fan-out (withParam).",
)
@click.option(
    "--when",
    "when",
    multiple=True,
    callback=_when,
    metavar="TASK=true|false|P",
    help="Decide a task's when (P: the chance it holds, drawn per run).",
)
@click.option(
    "--replay", is_flag=True, help="With --calibrate RUN: each task's own recorded time and retries."
)
@click.option("--explain", is_flag=True, help="Say where the makespan goes (running, start-up, waiting).")
@click.option(
    "--strict", is_flag=True, help="Refuse to simulate with any silent default (see 'assumptions')."
)
@quiet_option
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
    items: tuple[tuple[str, int], ...],
    when: tuple[tuple[str, bool | float], ...],
    replay: bool,
    explain: bool,
    strict: bool,
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
        items=items,
        when=when,
        strict=strict,
        replay=replay,
    )
    if sweeps:
        if gantt or utilisation or per_task or explain:
            raise SimError(
                "--gantt, --utilisation, --tasks and --explain show one run, not a sweep", hint="drop --sweep"
            )
        _sweep(scn, sweeps, output)
        return
    pictures = {option: path for option, path in (("--gantt", gantt), ("--utilisation", utilisation)) if path}
    check_pictures(pictures)  # before the simulation: a bad path must not cost a run
    loaded = load(scn)
    sim = simulator(scn, loaded)
    began = time.perf_counter()
    outcome = _simulate(sim, scn, loaded, f"simulating {loaded.workload.n:,} tasks")
    took = time.perf_counter() - began
    result = outcome.first if isinstance(outcome, MonteCarlo) else outcome
    data = _document(scn, loaded, outcome, sim.cluster.describe())
    if per_task:
        data["task_list"] = result.tasks(loaded.workload.names, sim.nodes.names if sim.nodes else ())
    if explain:
        from sim.explain import explain as where_it_goes

        data["explain"] = rounded(where_it_goes(result, loaded.workload.plan, loaded.workload.names))
    if output == "json":
        console.out.print(json.dumps(data, indent=2, sort_keys=True), markup=False, highlight=False)
    else:
        _print(data, result, took, scn.runs)
    title = f"{loaded.workload.title} - {scn.policy}"
    if gantt:
        from sim import plots
        from sim.explain import last_chain

        names = sim.nodes.names if sim.nodes else ()
        chain = last_chain(result, loaded.workload.plan)
        write_picture(
            "--gantt",
            gantt,
            lambda to: plots.gantt(result, to, node_names=names, title=title, highlight=chain),
        )
    if utilisation:
        from sim import plots

        cap = float(sim.nodes.capacity[:, 0].sum()) if sim.nodes is not None else None
        asked = loaded.workload.request[:, 0]
        write_picture(
            "--utilisation",
            utilisation,
            lambda to: plots.utilisation(result, to, cpu=asked, capacity=cap, title=title),
        )


# Formats matplotlib writes without extra software, by file extension (pgf would need LaTeX).
PICTURE_FORMATS = ("png", "svg", "pdf", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def check_pictures(pictures: dict[str, str]) -> None:
    """Refuse, naming the option, any picture path that could not be written: an unknown extension, a
    missing or unwritable directory, a directory given as the file, one file named twice, or no
    matplotlib."""
    for option, path in pictures.items():
        _check_picture(option, path)
    if len(set(map(os.path.abspath, pictures.values()))) < len(pictures):
        raise SimError(
            f"--gantt and --utilisation name the same file ({next(iter(pictures.values()))})",
            hint="give each picture its own file",
        )
    if pictures and importlib.util.find_spec("matplotlib") is None:
        raise SimError(
            f"{' and '.join(pictures)} {'need' if len(pictures) > 1 else 'needs'} matplotlib, which is not "
            "installed",
            hint="pip install 'kjob[plot]'",
        )


def _check_picture(option: str, path: str) -> None:
    target = Path(path)
    ext = target.suffix[1:].lower()
    if target.is_dir() or path.endswith(os.sep):
        raise SimError(
            f"{option} {path}: names a directory", hint=f"name a file in it, e.g. {target / 'sim.png'}"
        )
    if ext not in PICTURE_FORMATS:
        what = (
            f"'.{ext}' is not a picture format kjob can write" if ext else "no extension to tell the format"
        )
        raise SimError(f"{option} {path}: {what}", hint="end the name with .png, .svg or .pdf")
    folder = target.parent
    if not folder.exists():
        raise SimError(
            f"{option} {path}: no directory {folder}", hint="create it first, or name another path"
        )
    if not folder.is_dir():
        raise SimError(f"{option} {path}: {folder} is not a directory", hint="name a path in a directory")
    try:  # the one sure test of "may I write there": do it (and leave nothing)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=target.suffix):
            pass
    except OSError as err:
        raise SimError(
            f"{option} {path}: cannot create a file in {folder} ({(err.strerror or str(err)).lower()})",
            hint="name a path in a directory you can write to",
        ) from None


def write_picture(option: str, path: str, draw: Callable[[str], None]) -> None:
    """``draw`` into a temporary file beside ``path``, then move it into place: a failure (a full
    disk) leaves no half-written picture, only a one-line error."""
    try:
        with _temporary_beside(Path(path)) as scratch:
            draw(str(scratch))
            os.chmod(scratch, 0o666 & ~_umask())  # as open() would make it, not mkstemp's 0600
            os.replace(scratch, path)
    except (OSError, ValueError) as err:  # ValueError: a format this matplotlib cannot write
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise SimError(f"{option} {path}: could not write it ({reason})") from None
    console.notice(f"wrote {path}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


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
    if loaded.trace_fit is not None:
        data["trace_calibration"] = rounded(loaded.trace_fit.summary())
    data["assumptions"] = [a.as_json() for a in loaded.assumptions]
    return data


def _print(data: dict[str, Any], result: Result, took: float, runs: int) -> None:
    line = console.line
    per_run = runs > 1
    line(
        f"{data['source']}: {_count(data['tasks'])} tasks{' (mean per run)' if per_run else ''},"
        f" {data['edges']:,} edges, {data['levels']} levels on {data['cluster']}; policy {data['policy']}"
        + (f"; {runs} runs" if per_run else "")
    )
    line(f"  makespan        {_spread(data, 'makespan', per_run)}")
    line(f"  lower bound     {_spread(data, 'lower_bound', per_run)}")
    line(f"  critical path   {_spread(data, 'critical_path', per_run)}")
    if data["upper_bound"] is None:
        line(f"  upper bound     none: {data['upper_bound_note']}")
    else:
        line(f"  upper bound     {_spread(data, 'upper_bound', per_run)} ({data['upper_bound_note']})")
    for key, label in (("recorded_makespan", "recorded"), ("published_heft_makespan", "published")):
        if key in data:
            line(f"  {label:16}{human(data[key])} (the source's own figure)")
    if "calibration" in data:
        cal = data["calibration"]
        line(
            f"  measured        {human(cal['measured_makespan'])}"
            f" (run {cal['run']}, start-up {human(cal['startup'])})"
        )
    first = " (first run)" if per_run else ""
    util = ", ".join(f"{k} {v * 100:.1f}%" for k, v in data["utilisation"].items()) or "n/a"
    line(f"  utilisation     {util}{first}")
    q = data["queue_wait"]
    line(f"  queue wait      mean {human(q['mean'])}, p95 {human(q['p95'])}, max {human(q['max'])}{first}")
    busiest = data["busiest_level"]
    if busiest is not None:
        line(
            f"  busiest level   {busiest['level']} ({_count(busiest['tasks'])} tasks,"
            f" {human(busiest['work'])} of work, mean wait {human(busiest['queue_wait_mean'])}){first}"
        )
    line(
        f"  tasks           {_count(data['succeeded'])} succeeded, {_count(data['failed'])} failed,"
        f" {_count(data['not_run'])} not run ({_count(data['attempts'])} attempts)"
        + (" per run, mean of the runs" if per_run else "")
    )
    events = data.get("events_total", result.events)
    rate = events / took if took > 0 else math.inf
    line(f"  simulated       {events:,} events in {took:.2f}s ({rate / 1000:,.0f}k events/s)")
    if "explain" in data:
        _print_explain(data["explain"], first)
    assumptions = data.get("assumptions", [])
    if assumptions:
        line("  assumptions")
        for a in assumptions:
            origin = "ASSUMED" if a["defaulted"] else f"from {a['source']}"
            line(f"    {a['what']} of {a['subject']}: {a['value']} ({origin})")
        if any(a["defaulted"] for a in assumptions):
            line("  (ASSUMED: a silent default; state it with an option, or --strict to refuse them)")


def _print_explain(explain: dict[str, Any], first: str) -> None:
    chain = explain["chain"]
    total = explain["makespan"] or 1.0
    shown = " -> ".join(map(str, chain)) if len(chain) <= 6 else f"{chain[0]} -> ... -> {chain[-1]}"
    console.line(f"  where it goes   along the {len(chain)} tasks that ended last{first}: {shown}")
    for part in ("run start-up", "running", "start-up", "transfers", "waiting", "api-rate", "gaps"):
        seconds = explain[part]
        if seconds or part in ("running", "start-up", "waiting"):
            console.line(f"    {part:14}{human(seconds):>12}  {seconds / total:6.1%}")


def _spread(data: dict[str, Any], key: str, per_run: bool) -> str:
    """A time figure: the value, or across runs its p50, p95 and range."""
    if not per_run:
        return human(data[key])
    return (
        f"p50 {human(data[key + '_p50'])}, p95 {human(data[key + '_p95'])}"
        f" (min {human(data[key + '_min'])}, max {human(data[key + '_max'])})"
    )


def _count(x: float) -> str:
    """A count, or a per-run mean of counts (a float) with one decimal."""
    return f"{x:,}" if isinstance(x, int) else f"{x:,.1f}"


def _sweep(scn: Scenario, sweeps: tuple[str, ...], output: str) -> None:
    points = sweep_points(scn, sweeps)
    loaded: Loaded | None = None
    loaded_for: Scenario | None = None
    rows = []
    with progress_bar(f"simulating {len(points)} sweep points", sum(s.runs for _, s in points)) as advance:
        for point, s in points:
            if loaded is None or loaded_for is None or needs_reload(loaded_for, s):
                loaded, loaded_for = load(s), s
            sim = simulator(s, loaded)
            outcome = _simulate(sim, s, loaded, None, advance)
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
    p50 = " p50" if mc else ""  # under --runs every figure is the median over a point's runs
    head = [*names, *(["makespan p50", "makespan p95"] if mc else ["makespan"])]
    head += [f"lower bound{p50}", f"upper bound{p50}", "utilisation", "queue wait p95"]
    table = []
    for row in rows:
        util = row["utilisation"].get("cpu", row["utilisation"].get("slots"))
        cells = [str(row["parameters"][n]) for n in names]
        cells += [human(row["makespan_p50"]), human(row["makespan_p95"])] if mc else [human(row["makespan"])]
        cells += [
            human(row["lower_bound"]),
            human(row["upper_bound"]),
            f"{util * 100:.1f}%" if util is not None else "-",
            human(row["queue_wait"]["p95"]),
        ]
        table.append(cells)
    widths = [max(len(h), *(len(r[k]) for r in table)) for k, h in enumerate(head)]
    console.line("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for cells in table:
        console.line("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))


def _simulate(
    sim: Simulator, scn: Scenario, loaded: Loaded, what: str | None, advance: Advance | None = None
) -> Result | MonteCarlo:
    """One run, or ``--runs`` of them, with a progress bar on a terminal: ``what`` names a bar of
    its own, else ``advance`` counts the runs on the caller's.  Where each run draws its own branches
    (``--when TASK=P``), each run simulates its own workload."""
    if what is not None:
        with progress_bar(what, scn.runs if scn.runs > 1 else None) as own:
            return _simulate(sim, scn, loaded, None, own)
    each = None if advance is None else lambda: advance(1)
    if scn.runs == 1:
        result = sim.run(scn.seed)
        if each is not None:
            each()
        return result
    return sim.monte_carlo(
        scn.runs, scn.seed, each=each, workload_for=loaded.workload_for if loaded.varies else None
    )
