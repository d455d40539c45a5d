"""A timeline (Gantt chart) of a run's attempts as SVG: one row per task, one bar per attempt from its
start to its end (or to ``now`` while it runs), coloured by how it ended; a retried task shows each
try side by side.  Rows shrink as they grow many (a 2,000-task run stays a few thousand pixels tall)
and drop their labels when too thin to read; each bar has a ``<title>`` with the task and times (up to
:data:`TITLED_ROWS` rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from kjob.render.svg_style import clip, num, state_class, style_element

LABEL_WIDTH = 220
CHART_WIDTH = 760
AXIS_HEIGHT = 22
PAD = 8
_LABEL_CHARS = 34
TITLED_ROWS = 500
"""Up to this many rows each bar has a hover text; beyond, a click on a row shows its task."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One attempt: ``start`` and ``end`` in seconds since the run started (``end`` ``None`` while it
    runs) and the phase it ended in (or ``Running``)."""

    start: float
    end: float | None
    phase: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    node: str
    bars: tuple[Bar, ...]


def gantt_svg(rows: Sequence[Row], *, now: float) -> str:
    """The chart of ``rows`` with a time axis from 0 to ``now`` seconds (or the last end)."""
    span = max([now, *(b.end or b.start for r in rows for b in r.bars)], default=0.0) or 1.0
    row_height = max(3.0, min(18.0, 1200.0 / max(len(rows), 1)))
    labelled = row_height >= 11
    titled = len(rows) <= TITLED_ROWS
    height = AXIS_HEIGHT + PAD + len(rows) * row_height + PAD
    width = LABEL_WIDTH + CHART_WIDTH + 2 * PAD + 40  # room for the last tick's label
    scale = CHART_WIDTH / span
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kjob kjob-gantt" width="{num(width)}" '
        f'height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}">',
        style_element(),
    ]
    step = _tick_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        x = LABEL_WIDTH + PAD + tick * scale
        parts.append(
            f'<line class="axis" x1="{num(x)}" y1="{AXIS_HEIGHT - 4}" x2="{num(x)}" y2="{num(height)}"/>'
            f'<text class="tick" x="{num(x + 2)}" y="12">{_seconds(tick)}</text>'
        )
        tick += step
    for index, row in enumerate(rows):
        y = AXIS_HEIGHT + PAD + index * row_height
        parts.append(f'<g class="row" data-node="{escape(row.node)}">')
        if labelled:
            parts.append(
                f'<text class="row-label" x="{PAD}" y="{num(y + row_height - 4)}">'
                f"{escape(clip(row.label, _LABEL_CHARS))}</text>"
            )
        for bar in row.bars:
            end = now if bar.end is None else bar.end
            x = LABEL_WIDTH + PAD + bar.start * scale
            w = max(1.5, (end - bar.start) * scale)
            times = f"{_seconds(bar.start)} → {_seconds(end) if bar.end is not None else 'running'}"
            note = f" · {bar.note}" if bar.note else ""
            title = f"<title>{escape(f'{row.label}: {bar.phase}, {times}{note}')}</title>" if titled else ""
            parts.append(
                f'<rect class="bar {state_class(bar.phase)}" x="{num(x)}" y="{num(y + 1)}" '
                f'width="{num(w)}" height="{num(max(1.0, row_height - 2))}">{title}</rect>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _tick_step(span: float) -> float:
    """A round step giving at most about ten ticks."""
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600):
        if span / step <= 10:
            return float(step)
    return 86400.0 * max(1, round(span / 86400 / 10))


def _seconds(value: float) -> str:
    if value >= 3600:
        return f"{int(value // 3600)}h{int(value % 3600 // 60):02d}m"
    if value >= 60:
        return f"{int(value // 60)}m{int(value % 60):02d}s"
    return f"{value:.1f}s" if value < 10 and value != int(value) else f"{int(value)}s"
