"""A DAG as SVG, drawn by kjob (no Graphviz): one ``<g class="node">`` per box, carrying ``data-node``
(its id) and a state class (``st-running``), and every edge in one ``<path>``.

A page changes a task's colour by changing its group's class, and a fan-out's counts by changing one
``<text>``: nothing is drawn again while a run goes.  Every text a user wrote (task names, templates,
items) is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from kjob.render.dag_layout import BOX_HEIGHT, BOX_WIDTH, Layout, Segment
from kjob.render.svg_style import clip, num, state_class, style_element

_LABEL_CHARS = 28
_DETAIL_CHARS = 34


@dataclass(frozen=True, slots=True)
class BoxState:
    """What a box shows of a run: its ``phase`` and, for a collapsed box, its ``counts`` line
    (``12 running · 40 done · 2 failed``) in place of the detail."""

    phase: str = "Pending"
    counts: str = ""


def dag_svg(drawing: Layout, states: Mapping[str, BoxState] | None = None, *, title: str = "") -> str:
    """The SVG document of ``drawing``; boxes without a state draw as pending."""
    states = states or {}
    width, height = round(drawing.width), round(drawing.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kjob kjob-dag" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" data-shape="{drawing.shape}">',
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    parts.append(style_element())
    parts.append(f'<path class="edges" d="{_edges_path(drawing.segments)}"/>')
    for placed in drawing.boxes:
        box = placed.box
        state = states.get(box.id, BoxState())
        detail = state.counts or box.detail
        parts.append(
            f'<g class="node kind-{box.kind} {state_class(state.phase)}" data-node="{escape(box.id)}" '
            f'transform="translate({num(placed.x)},{num(placed.y)})">'
            f"{_title(box.id, box.label)}"
            f'<rect width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6"/>'
            f'<text class="label" x="8" y="17">{escape(clip(box.label, _LABEL_CHARS))}</text>'
            f'<text class="detail" x="8" y="33">{escape(clip(detail, _DETAIL_CHARS))}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _title(node_id: str, label: str) -> str:
    """A hover text with the whole id, where the box does not show it whole (a 2,000-box drawing
    carries no 2,000 titles that repeat the labels)."""
    if node_id == label and len(label) <= _LABEL_CHARS:
        return ""
    return f"<title>{escape(node_id)}</title>"


def _edges_path(segments: tuple[Segment, ...]) -> str:
    """All edges as one path of cubic curves (one element, however many edges)."""
    out = []
    for s in segments:
        bend = max(16.0, (s.x2 - s.x1) / 2)
        out.append(
            f"M{num(s.x1)} {num(s.y1)}C{num(s.x1 + bend)} {num(s.y1)} {num(s.x2 - bend)} {num(s.y2)} "
            f"{num(s.x2)} {num(s.y2)}"
        )
    return "".join(out)
