"""Benchmark kjob's numpy planner against networkx, rustworkx and graphlib, in one process.

    .venv/bin/python bench/bench_plan.py                 # full sizes (a few minutes, ~10 GiB peak)
    .venv/bin/python bench/bench_plan.py --quick         # small sizes, seconds (CI smoke run)
    .venv/bin/python bench/bench_plan.py --skip-networkx --skip-graphlib --json out.json

Every graph is generated with numpy from a fixed seed; generation and the conversion of the edges
into each library's own input format (a list of tuples) are not timed.  Each timing is the best of a
few runs with the garbage collector off (what ``timeit`` does), for every library alike.  See
bench/README.md for what is measured and the goals.
"""

from __future__ import annotations

import argparse
import gc
import graphlib
import json
import math
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kjob.plan import plan_edges

try:
    import rustworkx as rx
except ImportError:  # pragma: no cover - the test extra installs it
    rx = None
try:
    import networkx as nx
except ImportError:  # pragma: no cover
    nx = None

Ids = npt.NDArray[np.int64]

# --------------------------------------------------------------------------------------------- graphs


@dataclass
class Shape:
    name: str
    n: int
    src: Ids
    dst: Ids
    note: str = ""
    edges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def m(self) -> int:
        return int(self.src.size)


def layered(n: int, m: int, layers: int, seed: int = 0) -> Shape:
    """``layers`` layers of ``n // layers`` nodes; each edge goes from a random node to a node 1, 2,
    3... layers further on (geometric, p = 0.7), clipped to the last layer.  Node ids are a random
    permutation and the edges come in random order, so no input order helps anyone."""
    rng = np.random.default_rng(seed)
    width = n // layers
    src = rng.integers(0, n - width, m)
    jump = rng.geometric(0.7, m)
    dst = np.minimum(src // width + jump, layers - 1) * width + rng.integers(0, width, m)
    perm = rng.permutation(n)
    return Shape(
        f"layered {n:,}/{m:,}",
        n,
        perm[src],
        perm[dst],
        f"{layers} layers, shuffled ids and edges",
    )


def fan(width: int) -> Shape:
    """1 -> width -> 1: node 0 feeds nodes 1..width, which all feed node width + 1."""
    mid = np.arange(1, width + 1, dtype=np.int64)
    src = np.concatenate([np.zeros(width, dtype=np.int64), mid])
    dst = np.concatenate([mid, np.full(width, width + 1, dtype=np.int64)])
    return Shape(f"fan 1-{width:,}-1", width + 2, src, dst, "edges in id order")


def chain(n: int, shuffled: bool = False, seed: int = 1) -> Shape:
    """0 -> 1 -> ... -> n-1; ``shuffled`` relabels the nodes randomly and shuffles the edges."""
    src = np.arange(n - 1, dtype=np.int64)
    dst = src + 1
    if not shuffled:
        return Shape(f"chain {n:,}", n, src, dst, "edges in id order")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    shuffle = rng.permutation(n - 1)
    return Shape(
        f"chain {n:,} shuffled", n, perm[src][shuffle], perm[dst][shuffle], "random ids and edge order"
    )


def diamonds(k: int) -> Shape:
    """``k`` diamonds in a row (``a -> b, a -> c, b -> d, c -> d``; ``d`` starts the next one)."""
    a = np.arange(k, dtype=np.int64) * 3
    src = np.concatenate([a, a, a + 1, a + 2])
    dst = np.concatenate([a + 1, a + 2, a + 3, a + 3])
    return Shape(f"diamonds {3 * k + 1:,}", 3 * k + 1, src, dst, "extra: deep, 2 wide, no unary chain")


def ladder(k: int) -> Shape:
    """Two rails ``i -> i + 2`` with a rung ``i -> i + 3`` from every even ``i``."""
    i = np.arange(2 * k - 2, dtype=np.int64)
    src = np.concatenate([i, i[::2]])
    dst = np.concatenate([i + 2, i[::2] + 3])
    keep = dst < 2 * k
    return Shape(f"ladder {2 * k:,}", 2 * k, src[keep], dst[keep], "extra: deep, 2 wide, no unary chain")


def chain_collector(n: int) -> Shape:
    """A chain whose every node also feeds one collector node (out-degree 2: not a unary chain)."""
    i = np.arange(n - 1, dtype=np.int64)
    src = np.concatenate([i, np.arange(n, dtype=np.int64)])
    dst = np.concatenate([i + 1, np.full(n, n, dtype=np.int64)])
    return Shape(f"chain+collector {n + 1:,}", n + 1, src, dst, "extra: deep, side edge from every node")


def extra_shapes(quick: bool) -> list[tuple[Shape, Callable[[], Shape]]]:
    k = 20_000 if quick else 1_000_000
    return [
        (diamonds(k // 3), lambda: diamonds(k // 150)),
        (ladder(k // 2), lambda: ladder(k // 100)),
        (chain_collector(k), lambda: chain_collector(k // 50)),
    ]


def shapes(quick: bool) -> list[tuple[Shape, Callable[[], Shape]]]:
    """Each benchmark graph with a 50x smaller graph of the same shape (used to probe baselines)."""
    if quick:
        return [
            (layered(20_000, 80_000, 100), lambda: layered(2_000, 8_000, 100)),
            (fan(5_000), lambda: fan(500)),
            (chain(20_000), lambda: chain(2_000)),
            (chain(20_000, shuffled=True), lambda: chain(2_000, shuffled=True)),
        ]
    return [
        (layered(1_000_000, 4_000_000, 1_000), lambda: layered(20_000, 80_000, 1_000)),
        (fan(200_000), lambda: fan(4_000)),
        (chain(1_000_000), lambda: chain(20_000)),
        (chain(1_000_000, shuffled=True), lambda: chain(20_000, shuffled=True)),
    ]


# --------------------------------------------------------------------------------------------- timing


@contextmanager
def no_gc() -> Iterator[None]:
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``fn`` (seconds) and the last result."""
    best = math.inf
    out: Any = None
    for _ in range(repeat):
        out = None
        with no_gc():
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
    return best, out


def traced_peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated while ``fn`` runs (numpy reports its buffers to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base, out


# ------------------------------------------------------------------------------------------ libraries


def run_kjob(s: Shape) -> Any:
    return plan_edges(s.n, s.src, s.dst)


def run_networkx(s: Shape) -> list[list[int]]:
    g = nx.DiGraph()
    g.add_nodes_from(range(s.n))
    g.add_edges_from(s.edges)
    return [list(gen) for gen in nx.topological_generations(g)]


def run_rx_generations(s: Shape) -> list[list[int]]:
    g = rx.PyDiGraph()
    g.add_nodes_from([None] * s.n)
    g.extend_from_edge_list(s.edges)
    out: list[list[int]] = rx.topological_generations(g)
    return out


def run_rx_layers(s: Shape) -> list[list[int]]:
    """``rx.layers`` from the sources (found with numpy), plus the cycle check it lacks (every node
    placed)."""
    g = rx.PyDiGraph()
    g.add_nodes_from([None] * s.n)
    g.extend_from_edge_list(s.edges)
    first = np.flatnonzero(np.bincount(s.dst, minlength=s.n) == 0).tolist()
    out: list[list[int]] = rx.layers(g, first, index_output=True)
    if sum(map(len, out)) != s.n:
        raise ValueError("cycle")
    return out


def run_graphlib(s: Shape) -> list[int]:
    ts: graphlib.TopologicalSorter[int] = graphlib.TopologicalSorter()
    for v in range(s.n):
        ts.add(v)
    for a, b in s.edges:
        ts.add(b, a)
    return list(ts.static_order())


def rx_weighted_graph(s: Shape, dur: npt.NDArray[np.float64]) -> Any:
    """Edge ``u -> v`` weighs ``dur[v]``, plus ``dur[u]`` when ``u`` is a source: every maximal path
    starts at a source, so its edge weights sum to the node durations along it."""
    indeg = np.bincount(s.dst, minlength=s.n)
    w = dur[s.dst] + np.where(indeg[s.src] == 0, dur[s.src], 0.0)
    g = rx.PyDiGraph()
    g.add_nodes_from([None] * s.n)
    g.extend_from_weighted_edge_list(list(zip(s.src.tolist(), s.dst.tolist(), w.tolist(), strict=True)))
    lone = (indeg == 0) & (np.bincount(s.src, minlength=s.n) == 0)  # paths of one node
    return g, float(dur[lone].max()) if lone.any() else 0.0


def rx_unit_graph(s: Shape) -> Any:
    g = rx.PyDiGraph()
    g.add_nodes_from([None] * s.n)
    g.extend_from_edge_list(s.edges)
    return g


# ------------------------------------------------------------------------------------------ the bench


@dataclass
class Row:
    shape: str
    n: int
    m: int
    note: str
    times: dict[str, float | None] = field(default_factory=dict)
    cp: dict[str, float | None] = field(default_factory=dict)
    mem: dict[str, float] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)


def layers_scales(small: Shape) -> bool:
    """Whether ``rx.layers`` is worth timing at full size: on some shapes (a wide fan-in) it is
    quadratic, so it is probed on a 50x smaller graph first and skipped when already 3x slower than
    ``topological_generations`` there."""
    small.edges = list(zip(small.src.tolist(), small.dst.tolist(), strict=True))
    t_gen, _ = best_of(3, lambda: run_rx_generations(small))
    t_lay, _ = best_of(3, lambda: run_rx_layers(small))
    return t_lay < 3 * t_gen


def bench_shape(s: Shape, small: Callable[[], Shape], args: argparse.Namespace) -> Row:
    big = s.m >= 1_000_000
    reps = 1 if args.quick is False and big else 3
    reps_fast = 3 if big else 5
    row = Row(s.name, s.n, s.m, s.note)
    s.edges = list(zip(s.src.tolist(), s.dst.tolist(), strict=True))

    row.times["kjob"], plan = best_of(reps_fast, lambda: run_kjob(s))
    if rx is not None:
        t_gen, gens = best_of(reps_fast, lambda: run_rx_generations(s))
        row.times["rustworkx generations"] = t_gen
        row.times["rustworkx"] = t_gen
        if layers_scales(small()):
            t_lay, _ = best_of(reps_fast, lambda: run_rx_layers(s))
            row.times["rustworkx layers"] = t_lay
            row.times["rustworkx"] = min(t_gen, t_lay)
        else:
            row.times["rustworkx layers"] = None
        sizes = np.bincount(plan.level, minlength=plan.levels).tolist()
        if [len(x) for x in gens] != sizes:
            row.checks.append("MISMATCH: level sizes differ from rustworkx")
        del gens
    if nx is not None and not args.skip_networkx:
        row.times["networkx"], gens = best_of(reps, lambda: run_networkx(s))
        if len(gens) != plan.levels:
            row.checks.append("MISMATCH: level count differs from networkx")
        del gens
    if not args.skip_graphlib:
        row.times["graphlib"], _ = best_of(reps, lambda: run_graphlib(s))

    # Critical path on random durations.
    dur = np.random.default_rng(7).random(s.n)

    def cold() -> tuple[float, Any]:
        fresh = run_kjob(s)
        with no_gc():
            t0 = time.perf_counter()
            out = fresh.critical_path(dur)
            return time.perf_counter() - t0, out

    runs = [cold() for _ in range(reps_fast)]
    row.cp["kjob first call"] = min(t for t, _ in runs)
    length, path = runs[-1][1]
    row.cp["kjob later calls"], _ = best_of(reps_fast, lambda: plan.critical_path(dur))
    if rx is not None:
        g, lone = rx_weighted_graph(s, dur)
        t, rlen = best_of(reps_fast, lambda: rx.dag_weighted_longest_path_length(g, lambda a, b, w: w))
        row.cp["rustworkx weighted"] = t
        if not math.isclose(max(rlen, lone), length, rel_tol=1e-9):
            row.checks.append(f"MISMATCH: critical path {length} vs rustworkx {max(rlen, lone)}")
        del g
        g = rx_unit_graph(s)
        row.cp["rustworkx unit"], ulen = best_of(reps_fast, lambda: rx.dag_longest_path_length(g))
        ulen_k, _ = plan.critical_path(np.ones(s.n))
        if int(ulen) + 1 != round(ulen_k):
            row.checks.append(f"MISMATCH: unit critical path {ulen_k} vs rustworkx {ulen} edges")
        row.cp["kjob unit"], _ = best_of(reps_fast, lambda: plan.critical_path(np.ones(s.n)))
        del g
    if not math.isclose(float(dur[path].sum()), length, rel_tol=1e-9):
        row.checks.append("MISMATCH: path durations do not sum to the length")

    # Memory: the peak traced while planning / first critical path, per edge.
    del plan
    gc.collect()
    peak, plan = traced_peak(lambda: run_kjob(s))
    row.mem["plan_edges"] = peak / max(s.m, 1)
    peak, _ = traced_peak(lambda: plan.critical_path(dur))
    row.mem["critical_path"] = peak / max(s.m, 1)
    s.edges = []
    return row


# ------------------------------------------------------------------------------------------- printing


def fmt_s(t: float | None) -> str:
    if t is None:
        return "-"
    return f"{t:.3f}" if t >= 0.1 else f"{t * 1e3:.1f}ms"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.1f}x"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for r in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)


def report(rows: list[Row]) -> tuple[str, list[tuple[str, bool, str]]]:
    lines = ["", "build + levels + cycle check (seconds; ratios are baseline time / kjob time)"]
    lines.append(
        table(
            ["shape", "kjob", "networkx", "rustworkx", "graphlib", "nx/kjob", "rx/kjob", "graphlib/kjob"],
            [
                [
                    r.shape,
                    fmt_s(r.times.get("kjob")),
                    fmt_s(r.times.get("networkx")),
                    fmt_s(r.times.get("rustworkx")),
                    fmt_s(r.times.get("graphlib")),
                    ratio(r.times.get("networkx"), r.times.get("kjob")),
                    ratio(r.times.get("rustworkx"), r.times.get("kjob")),
                    ratio(r.times.get("graphlib"), r.times.get("kjob")),
                ]
                for r in rows
            ],
        )
    )
    lines.append(
        "  rustworkx = faster of topological_generations and layers(index_output=True) + cycle check: "
        + "; ".join(
            f"{r.shape}: gen {fmt_s(r.times.get('rustworkx generations'))}, "
            f"layers {fmt_s(r.times['rustworkx layers']) if r.times.get('rustworkx layers') else 'skipped'}"
            for r in rows
        )
    )
    lines += ["", "critical path (seconds)"]
    lines.append(
        table(
            [
                "shape",
                "kjob 1st",
                "kjob next",
                "rx weighted",
                "rx/kjob 1st",
                "kjob unit",
                "rx unit",
                "rx/kjob unit",
            ],
            [
                [
                    r.shape,
                    fmt_s(r.cp.get("kjob first call")),
                    fmt_s(r.cp.get("kjob later calls")),
                    fmt_s(r.cp.get("rustworkx weighted")),
                    ratio(r.cp.get("rustworkx weighted"), r.cp.get("kjob first call")),
                    fmt_s(r.cp.get("kjob unit")),
                    fmt_s(r.cp.get("rustworkx unit")),
                    ratio(r.cp.get("rustworkx unit"), r.cp.get("kjob unit")),
                ]
                for r in rows
            ],
        )
    )
    lines.append(
        "  kjob 1st = first call on a fresh Plan (builds predecessor lists); rx weighted = "
        "dag_weighted_longest_path_length (float weights, a Python weight_fn per edge); unit = every "
        "node costs 1 (rx: dag_longest_path_length without weight_fn, no Python callback)"
    )
    lines += ["", "extra memory: tracemalloc peak per edge (bytes; input arrays not counted)"]
    lines.append(
        table(
            ["shape", "plan_edges", "critical_path"],
            [[r.shape, f"{r.mem['plan_edges']:.1f}", f"{r.mem['critical_path']:.1f}"] for r in rows],
        )
    )
    goals: list[tuple[str, bool, str]] = []
    big = rows[0]

    def goal(name: str, value: float | None, target: float, unit: str = "x", higher: bool = True) -> None:
        if value is None:
            return
        ok = value >= target if higher else value <= target
        goals.append((name, ok, f"{value:.1f}{unit} (goal {'>=' if higher else '<='} {target:g}{unit})"))

    def r(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or not b else a / b

    goal(f"{big.shape}: networkx / kjob", r(big.times.get("networkx"), big.times.get("kjob")), 40)
    goal(f"{big.shape}: rustworkx / kjob", r(big.times.get("rustworkx"), big.times.get("kjob")), 4)
    for row in rows:
        goal(
            f"{row.shape}: kjob / rustworkx, levels",
            r(row.times.get("kjob"), row.times.get("rustworkx")),
            1.5,
            higher=False,
        )
        goal(
            f"{row.shape}: kjob / rustworkx, critical path",
            r(row.cp.get("kjob first call"), row.cp.get("rustworkx weighted")),
            1.5,
            higher=False,
        )
    for row in rows:
        goal(
            f"{row.shape}: rustworkx / kjob, critical path",
            r(row.cp.get("rustworkx weighted"), row.cp.get("kjob first call")),
            10,
        )
    for row in rows:
        worst = max(row.mem.values())
        goal(f"{row.shape}: extra memory per edge", worst, 64, unit=" B", higher=False)
    lines += ["", "goals"]
    for name, ok, text in goals:
        lines.append(f"  {'met   ' if ok else 'MISSED'}  {name}: {text}")
    for row in rows:
        for c in row.checks:
            lines.append(f"  CHECK {row.shape}: {c}")
    return "\n".join(lines), goals


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small graphs, for a smoke run")
    ap.add_argument("--skip-networkx", action="store_true", help="do not run networkx (slow, memory hungry)")
    ap.add_argument("--skip-graphlib", action="store_true", help="do not run graphlib.TopologicalSorter")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--only", metavar="TEXT", help="run only the shapes whose name contains TEXT")
    ap.add_argument(
        "--extra",
        action="store_true",
        help="also run deep, narrow shapes that are not unary chains (beyond the issue's goals)",
    )
    args = ap.parse_args(argv)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"rustworkx {getattr(rx, '__version__', '-')}, networkx {getattr(nx, '__version__', '-')}, "
        f"{platform.machine()}"
    )
    rows: list[Row] = []
    for s, small in shapes(args.quick) + (extra_shapes(args.quick) if args.extra else []):
        if args.only and args.only not in s.name:
            continue
        print(f"... {s.name} ({s.note})", flush=True)
        row = bench_shape(s, small, args)
        print(f"    {json.dumps({'times': row.times, 'cp': row.cp, 'mem': row.mem})}", flush=True)
        rows.append(row)
    text, goals = report(rows)
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "quick": args.quick,
                    "numpy": np.__version__,
                    "rows": [r.__dict__ for r in rows],
                    "goals": [{"goal": g, "met": ok, "value": v} for g, ok, v in goals],
                },
                indent=2,
                default=float,
            )
        )
    return 1 if any(c for r in rows for c in r.checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
