"""Where each box of a DAG drawing goes: columns by the planner's levels, rows by barycentre ordering.

The input is a list of :class:`Box` (one per task; a fan-out or a nested template is one box) and the
edges between them.  Levels come from :func:`kjob.plan.named.plan_names`, so the picture shows the
same levels ``kjob plan`` prints.  Within a level, boxes are ordered by the mean row of their
neighbours, sweeping down and up a few times (the barycentre heuristic: few crossings, cheap).  A
level taller than :data:`ROWS_PER_COLUMN` wraps into several columns, so a 2,000-task level is a
block, not a 100,000-pixel strip.

Many edges between two sets of boxes (a ``steps`` group waits for the whole previous group) are drawn
through one junction per distinct set of predecessors: 100 x 100 edges become 200 segments.

Pure functions: nothing here reads a file or a run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kjob.plan.named import plan_names

BOX_WIDTH = 200
BOX_HEIGHT = 42
GAP_X = 64
GAP_Y = 10
PAD = 16
ROWS_PER_COLUMN = 40
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Box:
    """One box: ``id`` (the node id, kept in ``data-node``), the ``label`` drawn in bold, a ``detail``
    line (the template, or what a fan-out expands to) and its ``kind``: ``task``, ``group`` (a
    fan-out), ``nested`` (a template holding tasks) or ``exit`` (the exit handler)."""

    id: str
    label: str
    detail: str = ""
    kind: str = "task"


@dataclass(frozen=True, slots=True)
class Placed:
    box: Box
    level: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A line from the right side of one place to the left side of another (box or junction)."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True, slots=True)
class Layout:
    """Boxes with their places, the edge segments, the drawing's size and ``shape``: a short hash of
    the boxes and edges (a page redraws when the shape of a run's DAG changes, not when states do)."""

    boxes: tuple[Placed, ...]
    segments: tuple[Segment, ...]
    width: float
    height: float
    levels: int
    shape: str


def layout(boxes: Sequence[Box], edges: Iterable[tuple[str, str]]) -> Layout:
    """Place ``boxes``; ``edges`` are ``(before, after)`` pairs of box ids (unknown ids are ignored)."""
    ids = [b.id for b in boxes]
    preds = _predecessors(ids, edges)
    planned = plan_names(ids, preds)
    levels = planned.levels
    rank = _order(levels, preds)
    place: dict[str, tuple[float, float]] = {}
    level_of: dict[str, int] = {}
    x = float(PAD)
    left: list[float] = []
    tallest = max((min(len(names), ROWS_PER_COLUMN) for names in levels), default=0)
    for number, names in enumerate(levels):
        ordered = sorted(names, key=rank.__getitem__)
        left.append(x)
        rows = min(len(ordered), ROWS_PER_COLUMN)
        top = PAD + (tallest - rows) * (BOX_HEIGHT + GAP_Y) / 2
        for index, name in enumerate(ordered):
            column, row = divmod(index, ROWS_PER_COLUMN)
            place[name] = (x + column * (BOX_WIDTH + GAP_X / 2), top + row * (BOX_HEIGHT + GAP_Y))
            level_of[name] = number
        columns = -(-len(ordered) // ROWS_PER_COLUMN)
        x += columns * BOX_WIDTH + (columns - 1) * GAP_X / 2 + GAP_X
    by_id = {b.id: b for b in boxes}
    placed = tuple(Placed(by_id[i], level_of[i], *place[i]) for i in ids)
    segments = _segments(preds, place)
    width = x - GAP_X + PAD if levels else 2 * PAD
    height = 2 * PAD + tallest * (BOX_HEIGHT + GAP_Y) - (GAP_Y if tallest else 0)
    return Layout(placed, segments, width, height, len(levels), _shape(ids, preds))


def shape_of(boxes: Sequence[Box], edges: Iterable[tuple[str, str]]) -> str:
    """The :attr:`Layout.shape` that :func:`layout` would give, without laying anything out."""
    ids = [b.id for b in boxes]
    return _shape(ids, _predecessors(ids, edges))


def _predecessors(ids: list[str], edges: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    known = set(ids)
    preds: dict[str, list[str]] = {i: [] for i in ids}
    seen: set[tuple[str, str]] = set()
    for a, b in edges:
        if a in known and b in known and a != b and (a, b) not in seen:
            seen.add((a, b))
            preds[b].append(a)
    return preds


def _order(levels: list[list[str]], preds: dict[str, list[str]]) -> dict[str, float]:
    """Each box's rank within its level after a few barycentre sweeps (down by predecessors, up by
    successors); ties keep the order the boxes were given, so the result is deterministic."""
    succs: dict[str, list[str]] = {name: [] for names in levels for name in names}
    for node, before in preds.items():
        for p in before:
            succs[p].append(node)
    rank: dict[str, float] = {}
    for names in levels:
        for i, name in enumerate(names):
            rank[name] = float(i)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        sequence = levels[1:] if down else levels[-2::-1]
        neighbours = preds if down else succs
        for names in sequence:
            keyed = []
            for i, name in enumerate(names):
                near = neighbours[name]
                centre = sum(rank[n] for n in near) / len(near) if near else rank[name]
                keyed.append((centre, rank[name], i, name))
            keyed.sort()
            for position, (_, _, _, name) in enumerate(keyed):
                rank[name] = float(position)
    return rank


def _segments(preds: dict[str, list[str]], place: dict[str, tuple[float, float]]) -> tuple[Segment, ...]:
    """Edge segments; boxes that wait for the same several boxes share a junction when that draws
    fewer lines."""
    by_set: dict[tuple[str, ...], list[str]] = {}
    for node, before in preds.items():
        if before:
            by_set.setdefault(tuple(sorted(before)), []).append(node)
    out: list[Segment] = []
    for sources, after in by_set.items():
        before = list(sources)
        if len(before) > 1 and len(after) > 1 and len(before) + len(after) < len(before) * len(after):
            jx = min(place[a][0] for a in after) - GAP_X / 2
            jy = sum(place[a][1] for a in after) / len(after) + BOX_HEIGHT / 2
            out.extend(_line(place[p], (jx, jy), into_box=False) for p in before)
            out.extend(_line_from(jx, jy, place[a]) for a in after)
        else:
            out.extend(_line(place[p], place[a][0:2], into_box=True) for a in after for p in before)
    return tuple(out)


def _line(src: tuple[float, float], dst: tuple[float, float], *, into_box: bool) -> Segment:
    y2 = dst[1] + BOX_HEIGHT / 2 if into_box else dst[1]
    return Segment(src[0] + BOX_WIDTH, src[1] + BOX_HEIGHT / 2, dst[0], y2)


def _line_from(x: float, y: float, dst: tuple[float, float]) -> Segment:
    return Segment(x, y, dst[0], dst[1] + BOX_HEIGHT / 2)


def _shape(ids: list[str], preds: dict[str, list[str]]) -> str:
    digest = hashlib.sha256()
    for name in ids:
        digest.update(name.encode("utf-8", "surrogatepass") + b"\0")
        for p in preds[name]:
            digest.update(b"<" + p.encode("utf-8", "surrogatepass") + b"\0")
        digest.update(b"\1")
    return digest.hexdigest()[:16]
