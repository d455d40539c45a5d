"""Offline capacity simulation of large DAGs on a modelled cluster (``kjob sim``).

A compact discrete-event core in virtual time over numpy arrays, with kjob's own dispatch rules, so a
prediction can be checked against a real run::

    from sim import Cluster, Simulator, load_source

    source = load_source("layered:100000")
    result = Simulator(source.workload, Cluster.uniform(40, cpu=8), policy="eager").run(seed=1)
    result.makespan, result.lower_bound, result.upper_bound
    result.start, result.end, result.node          # per-task arrays

Modules: :mod:`sim.core` (the loop), :mod:`sim.cluster` (nodes, placement), :mod:`sim.policies`,
:mod:`sim.sources` (workflow, WfFormat, cost table, synthetic), :mod:`sim.durations`,
:mod:`sim.calibrate` (fit from a recorded run), :mod:`sim.results`, :mod:`sim.plots` (matplotlib).
Nothing here imports ``kubernetes``.
"""

from sim.cluster import Cluster, Pool, load_cluster
from sim.core import Simulator, Workload, simulate
from sim.durations import Empirical, Fixed, LogNormal, Recorded, parse_distribution
from sim.errors import SimError
from sim.results import MonteCarlo, Result
from sim.sources import Source, load_source

__all__ = [
    "Cluster",
    "Empirical",
    "Fixed",
    "LogNormal",
    "MonteCarlo",
    "Pool",
    "Recorded",
    "Result",
    "SimError",
    "Simulator",
    "Source",
    "Workload",
    "load_cluster",
    "load_source",
    "parse_distribution",
    "simulate",
]
