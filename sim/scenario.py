"""A scenario: every knob of ``kjob sim`` as typed values, how they make a :class:`Simulator`, and
sweeps over any of them (``--sweep nodes=10,20,40``).

Loading the SOURCE (and calibrating) is the costly part and is done once per sweep; each point of a
sweep only rebuilds the cluster and the simulator.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from kjob.errors import KjobError
from sim.calibrate import Calibration, calibrate_run
from sim.calibrate_trace import TraceFit, fit_trace, is_trace
from sim.cluster import INF, PLACEMENTS, Cluster, load_cluster, parse_quantity
from sim.core import Simulator, Workload
from sim.durations import Distribution, Fixed, Recorded, human, parse_distribution
from sim.errors import SimError
from sim.policies import POLICIES
from sim.sources import (
    SYNTHETIC_DEFAULT,
    WORKFLOW_DEFAULT,
    KindSettings,
    Source,
    from_workflow,
    load_durations,
    load_source,
    origins,
    with_settings,
)
from sim.workflow_model import Assumption, Decisions, FlatDag, draw_decisions


@dataclass(frozen=True)
class Scenario:
    """Everything that decides a simulation.  ``None`` means "not given": the source's or the
    cluster file's own value, or the default, applies."""

    source: str
    workflow: str | None = None
    cluster_file: str | None = None
    nodes: int | None = None
    cpu: float | None = None
    memory: float | None = None
    gpu: float | None = None
    pods: float | None = None
    slots: int | None = None
    policy: str = "eager"
    placement: str | None = None
    parallelism: int | None = None
    startup: Distribution | None = None
    qps: float | None = None
    burst: int | None = None
    bandwidth: float | None = None
    durations_file: str | None = None
    default_duration: Distribution | None = None
    fail_prob: float | None = None
    request: tuple[float, float, float] = (1.0, 2.0**30, 0.0)
    calibrate: str | None = None
    seed: int = 0
    runs: int = 1
    fail_fast: bool = True
    items: tuple[tuple[str, int], ...] = ()  # --items TASK=N
    when: tuple[tuple[str, bool | float], ...] = ()  # --when TASK=true|false|P
    strict: bool = False  # refuse any silent default
    replay: bool = False  # with calibrate: each task's own recorded run time and failed attempts

    def with_param(self, name: str, text: str) -> Scenario:
        """This scenario with one knob set from its text form (as ``--sweep`` gives it)."""
        parse = SWEEPABLE.get(name)
        if parse is None:
            raise SimError(f"cannot sweep '{name}'", hint=f"sweepable: {', '.join(SWEEPABLE)}")
        try:
            value = parse(text)
        except KjobError as err:
            raise SimError(f"--sweep {name}={text}: {err.message}", hint=err.hint) from None
        except ValueError:
            raise SimError(f"--sweep {name}: '{text}' is not a valid value") from None
        return replace(self, **{name.replace("-", "_"): value})


def _int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise SimError(f"{text} must be at least 1")
    return value


def _choice(options: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise SimError(f"'{text}' is not one of: {', '.join(options)}")
        return text

    return parse


def _positive(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise SimError(f"{text} must be a number > 0")
    return value


def _probability(text: str) -> float:
    p = float(text)
    if not 0 <= p <= 1:
        raise SimError(f"{text} is not a probability between 0 and 1")
    return p


SWEEPABLE: dict[str, Callable[[str], Any]] = {
    "nodes": _int,
    "cpu": lambda t: parse_quantity(t, "cpu"),
    "memory": lambda t: parse_quantity(t, "memory"),
    "gpu": lambda t: parse_quantity(t, "gpu"),
    "pods": lambda t: float(_int(t)),
    "slots": _int,
    "parallelism": _int,
    "policy": _choice(POLICIES),
    "placement": _choice(PLACEMENTS),
    "startup": lambda t: parse_distribution(t, what="startup"),
    "qps": _positive,
    "burst": _int,
    "bandwidth": lambda t: parse_quantity(t, "bandwidth"),
    "default-duration": parse_distribution,
    "fail-prob": _probability,
    "seed": int,
    "runs": _int,
}


@dataclass(frozen=True)
class Loaded:
    """The costly part of a scenario: the source with its durations applied, the calibration, and
    what the workload takes as given (``assumptions``).  ``decisions`` are the run-time choices a
    workflow was flattened under; when some ``when`` is a probability, :meth:`workload_for` draws
    them anew for each run."""

    source: Source
    workload: Workload
    calibration: Calibration | None
    assumptions: tuple[Assumption, ...] = ()
    decisions: Decisions | None = None
    scenario: Scenario | None = None
    trace_fit: TraceFit | None = None  # --calibrate TRACE: the workflow system's fitted concurrency
    durations: Mapping[str, KindSettings] | None = None  # the durations file, read once

    @property
    def varies(self) -> bool:
        """Whether each run has its own workload (a ``when`` given as a probability)."""
        return self.decisions is not None and self.decisions.random

    def workload_for(self, seed: int) -> Workload:
        """The workload of the run with this seed (the same one unless :attr:`varies`)."""
        if not self.varies:
            return self.workload
        assert self.decisions is not None and self.source.workflow is not None and self.scenario is not None
        drawn = draw_decisions(self.decisions, np.random.default_rng(np.random.SeedSequence([seed, 1])))
        workload, _ = from_workflow(self.source.workflow, self.scenario.request, drawn)
        return apply_durations(self.scenario, workload, self.calibration, self.source, self.durations)[0]


def load(scn: Scenario) -> Loaded:
    """Load the SOURCE, flatten a workflow under the decisions of the options and the calibration, and
    apply default durations, the durations file and the calibration; refuse silent defaults under
    ``strict``."""
    trace_fit = fit_trace(scn.calibrate) if scn.calibrate and is_trace(scn.calibrate) else None
    calibration = calibrate_run(scn.calibrate) if scn.calibrate and trace_fit is None else None
    decisions: Decisions | None = decisions_of(scn, calibration)
    source = load_source(
        scn.source, workflow_name=scn.workflow, default_request=scn.request, decisions=decisions
    )
    if source.flat is not None:
        check_decisions(scn, source.flat)
    else:
        decisions = None
        if scn.items or scn.when:
            raise SimError(
                f"--items and --when apply to workflow files; {scn.source} is a {source.kind}",
                hint="drop them, or simulate a workflow file",
            )
    durations = load_durations(scn.durations_file) if scn.durations_file else None
    workload, origin = apply_durations(scn, source.workload, calibration, source, durations)
    if scn.replay:
        workload, origin = replayed(workload, calibration, origin)
    if decisions is not None and decisions.random:
        varying = Loaded(source, workload, calibration, (), decisions, scn, durations=durations)
        workload = varying.workload_for(scn.seed)
    assumptions = (*source.assumptions, *origin, *cluster_assumptions(scn, calibration))
    if trace_fit is not None and scn.parallelism is None:
        value = f"{trace_fit.parallelism} tasks at once"
        assumptions += (Assumption("concurrency", "the workflow system", value, f"trace {trace_fit.trace}"),)
    elif source.workflow is not None and source.workflow.parallelism and scn.parallelism is None:
        value = f"{source.workflow.parallelism} tasks at once"
        assumptions += (Assumption("parallelism", "the workflow", value, "spec.parallelism"),)
    if scn.strict:
        refuse_defaults(assumptions)
    return Loaded(source, workload, calibration, assumptions, decisions, scn, trace_fit, durations)


def replayed(
    workload: Workload, calibration: Calibration | None, origin: tuple[Assumption, ...]
) -> tuple[Workload, tuple[Assumption, ...]]:
    """The workload with each task's recorded run time and failed attempts (``--replay``); a task the
    run did not record keeps its template's duration (its mean) and draws its failures."""
    if calibration is None:
        raise SimError("--replay replays a recorded run", hint="give the run with --calibrate RUN")
    names = workload.names or []
    seen = [calibration.tasks.get(name) for name in names]
    recorded = np.array([np.nan if s is None else s[0] for s in seen], dtype=np.float64)
    fails = np.array([0 if s is None else s[1] for s in seen], dtype=np.int64)
    durations = tuple(Recorded(d.mean()) for d in workload.durations)
    where = f"recorded run {calibration.run_id}"
    known = sum(1 for s in seen if s is not None)
    replay = (
        Assumption("duration", f"{known} of {len(names)} tasks", "as recorded", where),
        Assumption("failed attempts", f"{known} of {len(names)} tasks", "as recorded", where),
    )
    kept = tuple(a for a in origin if known < len(names) or a.what not in ("duration", "failure rate"))
    return replace(workload, recorded=recorded, fails=fails, durations=durations), replay + kept


def decisions_of(scn: Scenario, calibration: Calibration | None) -> Decisions:
    """Fan-out widths and ``when`` branches: the options' first, then what the recorded run did."""
    items: dict[str, int] = {}
    when: dict[str, bool | float] = {}
    origin: dict[str, str] = {}
    if calibration is not None:
        recorded = f"recorded run {calibration.run_id}"
        for task, width in calibration.widths.items():
            items[task], origin[task] = width, recorded
        for task, ran in calibration.branches.items():
            when[task], origin[f"when:{task}"] = ran, recorded
    for task, width in scn.items:
        items[task], origin[task] = width, "--items"
    for task, value in scn.when:
        when[task], origin[f"when:{task}"] = value, "--when"
    return Decisions(items, when, origin)


def check_decisions(scn: Scenario, flat: FlatDag) -> None:
    """``--items`` must name fan-outs and ``--when`` conditional tasks of the workflow."""
    for option, given, allowed, noun in (
        ("--items", [t for t, _ in scn.items], flat.fan_outs, "fan-outs"),
        ("--when", [t for t, _ in scn.when], flat.conditional, "tasks with a when"),
    ):
        for task in given:
            if task not in allowed:
                what = "no task" if task not in flat.all_tasks else "a task that is not one of the"
                hint = f"{noun}: {', '.join(sorted(allowed))}" if allowed else f"the workflow has no {noun}"
                raise SimError(
                    f"{option} {task}: {what} {noun if what != 'no task' else 'named so'}", hint=hint
                )


def refuse_defaults(assumptions: Sequence[Assumption]) -> None:
    defaults = [a for a in assumptions if a.defaulted]
    if defaults:
        listed = "; ".join(a.text() for a in defaults)
        raise SimError(
            f"--strict: {len(defaults)} silent default{'s' if len(defaults) > 1 else ''}: {listed}",
            hint="state each one (--default-duration, --durations, --items, --when, --fail-prob, --startup) "
            "or calibrate from a recorded run (--calibrate RUN)",
        )


def apply_durations(
    scn: Scenario,
    workload: Workload,
    calibration: Calibration | None,
    source: Source,
    durations_file: Mapping[str, KindSettings] | None = None,
) -> tuple[Workload, tuple[Assumption, ...]]:
    """The workload (of ``source``) with the options' durations and failure rates, and the
    assumptions saying where each kind's duration and failure rate came from.  ``durations_file`` is
    ``scn.durations_file`` already read (else it is read here)."""
    w = workload
    durations, failures = origins(w, source.kind, source.workflow)
    if scn.default_duration is not None:
        defaults = {
            k: KindSettings(scn.default_duration)
            for k, d in zip(w.kinds, w.durations, strict=True)
            if d is WORKFLOW_DEFAULT or d is SYNTHETIC_DEFAULT
        }
        w = with_settings(w, defaults)
        durations.update(dict.fromkeys(defaults, "--default-duration"))
    if scn.durations_file:
        settings = durations_file if durations_file is not None else load_durations(scn.durations_file)
        w = with_settings(w, settings, where=scn.durations_file)
        _note(durations, failures, settings, w.kinds, f"durations file {scn.durations_file}")
    if calibration is not None:
        known = {k: s for k, s in calibration.kinds.items() if k in w.kinds}
        if not known:
            raise SimError(
                f"run '{calibration.run_id}' ran none of this workload's templates ({', '.join(w.kinds)})",
                hint="calibrate from a run of the same workflow",
            )
        w = with_settings(w, known)
        _note(durations, failures, known, w.kinds, f"recorded run {calibration.run_id}")
    if scn.fail_prob is not None:
        w = with_settings(w, {"*": KindSettings(fail=scn.fail_prob)})
        failures = dict.fromkeys(w.kinds, "--fail-prob")
    by_kind = dict(zip(w.kinds, w.durations, strict=True))
    fail = w.fail_prob if w.fail_prob is not None else np.zeros(len(w.kinds))
    out = [Assumption("duration", k, str(by_kind[k]), durations[k]) for k in w.kinds]
    out += [Assumption("failure rate", k, f"{fail[j]:g}", failures[k]) for j, k in enumerate(w.kinds)]
    return w, tuple(_grouped(out))


def _note(
    durations: dict[str, str],
    failures: dict[str, str],
    settings: Mapping[str, KindSettings],
    kinds: Sequence[str],
    where: str,
) -> None:
    for k in kinds:
        s = settings.get(k, settings.get("*"))
        if s is None:
            continue
        if s.duration is not None:
            durations[k] = where
        if s.fail is not None:
            failures[k] = where


def _grouped(assumptions: list[Assumption]) -> list[Assumption]:
    """One assumption per (what, value, source) naming all its templates, so that 200 templates at
    the default 60 s read as one line."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for a in assumptions:
        groups.setdefault((a.what, a.value, a.source), []).append(a.subject)
    return [
        Assumption(
            what, ", ".join(subjects) if len(subjects) < 6 else f"{len(subjects)} templates", value, source
        )
        for (what, value, source), subjects in groups.items()
    ]


def cluster_assumptions(scn: Scenario, calibration: Calibration | None) -> tuple[Assumption, ...]:
    if scn.startup is not None:
        return (Assumption("start-up latency", "every attempt", str(scn.startup), "--startup"),)
    if calibration is not None:
        value = f"{human(calibration.startup)}, and {human(calibration.run_startup)} more before the first"
        return (Assumption("start-up latency", "every attempt", value, f"recorded run {calibration.run_id}"),)
    return (Assumption("start-up latency", "every attempt", "0s", "default"),)


def cluster_of(scn: Scenario, loaded: Loaded) -> Cluster:
    """The cluster: ``--slots``, a cluster file, ``--nodes``, the source's own, or unlimited; then
    placement, start-up, API rate and bandwidth from the options (or the calibration's start-up)."""
    given = [x for x in ("slots", "cluster_file", "nodes") if getattr(scn, x) is not None]
    if len(given) > 1 and not (given == ["cluster_file", "nodes"]):
        raise SimError("give one of --slots, --cluster, --nodes", hint="they each describe the whole cluster")
    shape = {
        k: v
        for k, v in (("cpu", scn.cpu), ("memory", scn.memory), ("gpu", scn.gpu), ("pods", scn.pods))
        if v is not None
    }
    if shape and scn.nodes is None:
        raise SimError(
            f"--{next(iter(shape))} describes the nodes of --nodes N",
            hint="add --nodes N (or use --cluster FILE)",
        )
    if scn.slots is not None:
        cluster = Cluster.slots(scn.slots)
    elif scn.cluster_file is not None:
        cluster = load_cluster(scn.cluster_file)
        if scn.nodes is not None:
            cluster = cluster.with_nodes(scn.nodes)
    elif scn.nodes is not None:
        cluster = Cluster.uniform(
            scn.nodes,
            cpu=shape.get("cpu", 1.0),
            memory=shape.get("memory", INF),
            gpu=shape.get("gpu", 0.0),
            pods=shape.get("pods", 110.0),
        )
    elif loaded.source.cluster is not None:
        cluster = loaded.source.cluster
    else:
        cluster = Cluster()
    changes: dict[str, Any] = {}
    if scn.placement is not None:
        changes["placement"] = scn.placement
    if scn.startup is not None:
        changes["startup"] = scn.startup
    elif loaded.calibration is not None:
        changes["startup"] = Fixed(loaded.calibration.startup)
    if scn.qps is not None:
        changes["qps"] = scn.qps
        changes["burst"] = scn.burst if scn.burst is not None else max(cluster.burst, 1)
    elif scn.burst is not None:
        changes["burst"] = scn.burst
    if scn.bandwidth is not None:
        changes["bandwidth"] = scn.bandwidth
    return replace(cluster, **changes) if changes else cluster


def simulator(scn: Scenario, loaded: Loaded) -> Simulator:
    return Simulator(
        loaded.workload,
        cluster_of(scn, loaded),
        policy=scn.policy,
        parallelism=parallelism_of(scn, loaded),
        fail_fast=scn.fail_fast,
        run_delay=run_delay_of(scn, loaded),
    )


def run_delay_of(scn: Scenario, loaded: Loaded) -> float:
    """kjob's own start before the first task, as the recorded run measured it (none with
    ``--startup``, which states the start-up in full)."""
    calibration = loaded.calibration
    return calibration.run_startup if calibration is not None and scn.startup is None else 0.0


def parallelism_of(scn: Scenario, loaded: Loaded) -> int | None:
    """``--parallelism``, else the concurrency fitted to a trace, else the workflow's own
    ``spec.parallelism`` (which kjob's engine enforces), else none."""
    if scn.parallelism is not None:
        return scn.parallelism
    if loaded.trace_fit is not None:
        return loaded.trace_fit.parallelism
    workflow = loaded.source.workflow
    return workflow.parallelism if workflow is not None else None


def sweep_points(scn: Scenario, sweeps: Sequence[str]) -> list[tuple[dict[str, str], Scenario]]:
    """Every combination of ``PARAM=V1,V2,...`` sweeps (the last varies fastest)."""
    axes: list[tuple[str, list[str]]] = []
    for text in sweeps:
        name, eq, values = text.partition("=")
        name = name.strip()
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or not items:
            raise SimError(f"--sweep '{text}' is not PARAM=V1,V2,...", hint="e.g. --sweep nodes=10,20,40")
        if name not in SWEEPABLE:
            raise SimError(f"cannot sweep '{name}'", hint=f"sweepable: {', '.join(SWEEPABLE)}")
        if any(name == a for a, _ in axes):
            raise SimError(f"--sweep {name} is given twice")
        axes.append((name, items))
    points = []
    for combo in itertools.product(*(items for _, items in axes)):
        point = dict(zip((a for a, _ in axes), combo, strict=True))
        s = scn
        for name, value in point.items():
            s = s.with_param(name, value)
        points.append((point, s))
    return points


def needs_reload(a: Scenario, b: Scenario) -> bool:
    """Whether ``b`` needs the source loaded again (only the duration knobs and the source do)."""
    keys = (
        "source",
        "workflow",
        "durations_file",
        "default_duration",
        "fail_prob",
        "request",
        "calibrate",
        "items",
        "when",
        "strict",
        "startup",
        "replay",
    )
    return any(getattr(a, k) != getattr(b, k) for k in keys)


__all__ = [
    "SWEEPABLE",
    "Loaded",
    "Scenario",
    "apply_durations",
    "cluster_of",
    "load",
    "needs_reload",
    "simulator",
    "sweep_points",
]
