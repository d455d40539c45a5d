"""A scenario: every knob of ``kjob sim`` as typed values, how they make a :class:`Simulator`, and
sweeps over any of them (``--sweep nodes=10,20,40``).

Loading the SOURCE (and calibrating) is the costly part and is done once per sweep; each point of a
sweep only rebuilds the cluster and the simulator.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kjob.errors import KjobError
from sim.calibrate import Calibration, calibrate_run
from sim.cluster import INF, PLACEMENTS, Cluster, load_cluster, parse_quantity
from sim.core import Simulator, Workload
from sim.durations import Distribution, Fixed, parse_distribution
from sim.errors import SimError
from sim.policies import POLICIES
from sim.sources import (
    SYNTHETIC_DEFAULT,
    WORKFLOW_DEFAULT,
    KindSettings,
    Source,
    load_durations,
    load_source,
    with_settings,
)


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
    """The costly part of a scenario: the source with its durations applied, and the calibration."""

    source: Source
    workload: Workload
    calibration: Calibration | None


def load(scn: Scenario) -> Loaded:
    """Load the SOURCE and apply default durations, the durations file and the calibration."""
    source = load_source(scn.source, workflow_name=scn.workflow, default_request=scn.request)
    calibration = calibrate_run(scn.calibrate) if scn.calibrate else None
    return Loaded(source, apply_durations(scn, source.workload, calibration), calibration)


def apply_durations(scn: Scenario, workload: Workload, calibration: Calibration | None) -> Workload:
    w = workload
    if scn.default_duration is not None:
        defaults = {
            k: KindSettings(scn.default_duration)
            for k, d in zip(w.kinds, w.durations, strict=True)
            if d is WORKFLOW_DEFAULT or d is SYNTHETIC_DEFAULT
        }
        w = with_settings(w, defaults)
    if scn.durations_file:
        w = with_settings(w, load_durations(scn.durations_file), where=scn.durations_file)
    if calibration is not None:
        known = {k: s for k, s in calibration.kinds.items() if k in w.kinds}
        if not known:
            raise SimError(
                f"run '{calibration.run_id}' ran none of this workload's templates ({', '.join(w.kinds)})",
                hint="calibrate from a run of the same workflow",
            )
        w = with_settings(w, known)
    if scn.fail_prob is not None:
        w = with_settings(w, {"*": KindSettings(fail=scn.fail_prob)})
    return w


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
        parallelism=scn.parallelism,
        fail_fast=scn.fail_fast,
    )


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
    keys = ("source", "workflow", "durations_file", "default_duration", "fail_prob", "request", "calibrate")
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
