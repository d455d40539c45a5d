"""The live view of a run, drawn from a :class:`~kjob.cli.livestate.LiveState` alone: a header that
stays on top (run, phase, elapsed, tasks done), a bar for a long step under way, then one line per
row, as many as fit.

When there are more rows than lines, failing and running ones are kept first, then pending ones, and a
last line counts the rest by phase.  Every line is cut to the width, never wrapped, so the view is
exactly as tall as it says.  Names and messages are :class:`rich.text.Text`: what a task or a user
wrote is shown as written, never read as markup or emoji.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.text import Text

from kjob.cli.livestate import RETRYING, Bulk, Kind, LiveState, Row, Tally
from kjob.engine.state import Phase

STYLE = {
    Phase.PENDING: "dim",
    Phase.RUNNING: "cyan",
    Phase.SUCCEEDED: "green",
    Phase.FAILED: "red",
    Phase.ERROR: "red",
    Phase.SKIPPED: "yellow",
    Phase.OMITTED: "dim",
}
SYMBOL = {
    Phase.PENDING: "◷",
    Phase.RUNNING: "●",
    Phase.SUCCEEDED: "✔",
    Phase.FAILED: "✖",
    Phase.ERROR: "⚠",
    Phase.SKIPPED: "○",
    Phase.OMITTED: "-",
}
RETRY_SYMBOL = "↻"
COLUMNS = ("TASK", "STATUS", "DURATION", "TRIES", "MESSAGE")
GAP = "  "
# How a tally reads, in this order ("done" is succeeded): only the phases it has are named.
TALLY_WORDS = (
    ("Running", "running"),
    ("Succeeded", "done"),
    ("Failed", "failed"),
    ("Error", "errored"),
    (RETRYING, "retrying"),
    ("Skipped", "skipped"),
    ("Omitted", "omitted"),
    ("Pending", "pending"),
)


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    value = max(0.0, value)
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def tally_text(tally: Tally) -> str:
    """``12 running · 40 done · 2 failed``."""
    return " · ".join(f"{tally[key]:,} {word}" for key, word in TALLY_WORDS if tally[key])


def outcome(run_id: str, phase: str, took: float | None, message: str) -> Text:
    """The closing line: ``Workflow hello-x7k2p Failed in 3.2s: fanout failed``."""
    succeeded = phase == "Succeeded"
    text = f"Workflow {run_id} {phase}"
    if took is not None:
        text += f" in {seconds(took)}"
    if message and not succeeded:
        text += f": {message}"
    return Text(text, style=f"bold {'green' if succeeded else 'red'}")


def render(state: LiveState, *, width: int, height: int | None = None) -> RenderableType:
    """The view, ``width`` cells wide and at most ``height`` lines tall (``None``: every row)."""
    lines = [_header(state, width)]
    if state.bulk is not None:
        lines.append(_bulk(state.bulk, width))
    room = None if height is None else max(1, height - len(lines) - 1)
    rows, hidden = _fitting(state.rows, room)
    table = _table(rows, state.now, width)
    lines.extend(table)
    if hidden:
        more = Text(f"… {len(hidden):,} more: {tally_text(_tally_of(hidden))}", style="dim")
        lines.append(_cut(more, width))
    return Group(*lines)


def on_terminal(state: LiveState, console: Console, options: ConsoleOptions) -> RenderableType:
    """:func:`render` for rich's live display: one line shorter than the terminal, because the
    display ends with a newline, and a view as tall as the terminal would scroll its header away."""
    return render(state, width=options.max_width, height=max(3, (options.height or console.height) - 1))


def render_text(state: LiveState, *, width: int, height: int | None = None) -> str:
    """:func:`render` as plain text (no colours): what tests compare."""
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        color_system=None,
        emoji=False,
        markup=False,
        highlight=False,
        legacy_windows=False,
    )
    console.print(render(state, width=width, height=height))
    return out.getvalue()


# ------------------------------------------------------------------------------------ pieces
def _header(state: LiveState, width: int) -> Text:
    phase = _phase(state.phase)
    end = state.finished if state.finished is not None else state.now
    took = seconds(end - state.started) if state.started is not None else ""
    tasks = state.tasks
    text = Text.assemble(
        (state.run, "bold"),
        GAP,
        (f"{SYMBOL[phase]} {state.phase}", STYLE[phase]),
        GAP,
        took,
        GAP,
        f"{tasks.finished:,}/{tasks.total:,} done",
    )
    busy = Tally({k: tasks[k] for k in ("Running", RETRYING, "Failed", "Error") if tasks[k]})
    if busy.total:
        text.append(" · " + tally_text(busy))
    return _cut(text, width)


def _bulk(bulk: Bulk, width: int) -> Text:
    counts = f"{bulk.done:,}/{bulk.total:,}"
    bar_width = max(10, width - cell_len(bulk.what) - cell_len(counts) - 2 * len(GAP))
    filled = bar_width if bulk.total <= 0 else min(bar_width, bar_width * bulk.done // bulk.total)
    text = Text.assemble(
        bulk.what, GAP, ("█" * filled, "magenta"), ("░" * (bar_width - filled), "dim"), GAP, counts
    )
    return _cut(text, width)


def _rank(row: Row) -> int:
    """Which rows stay when not all fit: failing, then running, then pending, then finished."""
    items = row.items
    if row.phase.failed_or_error or row.retry_at is not None or (items is not None and items.failed):
        return 0
    if row.phase is Phase.RUNNING:
        return 1
    return 2 if row.phase is Phase.PENDING else 3


def _fitting(rows: Sequence[Row], room: int | None) -> tuple[list[Row], list[Row]]:
    """The rows to show (in reading order) and the rows left out."""
    if room is None or len(rows) <= room:
        return list(rows), []
    keep = max(0, room - 1)  # one line says what is left out
    by_rank: list[list[int]] = [[], [], [], []]
    for i, row in enumerate(rows):
        by_rank[_rank(row)].append(i)
    chosen: list[int] = []
    for indices in by_rank:
        chosen.extend(indices[: keep - len(chosen)])
    kept = set(chosen)
    return [rows[i] for i in sorted(chosen)], [r for i, r in enumerate(rows) if i not in kept]


def _tally_of(rows: list[Row]) -> Tally:
    counts: dict[str, int] = {}
    for row in rows:
        key = RETRYING if row.retry_at is not None and row.phase is Phase.RUNNING else row.phase.value
        counts[key] = counts.get(key, 0) + 1
    return Tally(counts)


def _cells(row: Row, now: float) -> dict[str, Text]:
    """The row's cell per column; a fan-out's name says how many items it has, its message counts
    them by phase."""
    marker = {Kind.FANOUT: "▾ " if row.expanded else "▸ "}.get(row.kind, "")
    name = "  " * row.depth + marker + " ".join(row.id.split())
    message = row.message
    if row.items is not None and row.items.total:
        name += f" ({row.items.total:,})"
        message = tally_text(row.items)
    if row.retry_at is not None and row.phase is Phase.RUNNING:
        status = Text(f"{RETRY_SYMBOL} retry in {seconds(row.retry_at - now)}", style="yellow")
    else:
        status = Text(f"{SYMBOL[row.phase]} {row.phase.value}", style=STYLE[row.phase])
    end = row.finished if row.finished is not None else now if row.phase is Phase.RUNNING else row.started
    took = seconds(end - row.started) if row.started is not None and end is not None else ""
    return {
        "TASK": Text(name),
        "STATUS": status,
        "DURATION": Text(took),
        "TRIES": Text(str(row.attempts) if row.attempts else ""),
        "MESSAGE": Text(" ".join(message.split())),
    }


def _table(rows: list[Row], now: float, width: int) -> list[Text]:
    """The column heads and one line per row.  TRIES is shown once a task was tried again, MESSAGE
    once one has something to say; the message keeps at least 40% of what the other columns leave
    (20 cells or more), the task name takes the rest, and longer ones are cut with ``…``."""
    cells = [_cells(row, now) for row in rows]
    names = [
        name
        for name in COLUMNS
        if (name != "TRIES" or any(r.attempts > 1 for r in rows))
        and (name != "MESSAGE" or any(c["MESSAGE"] for c in cells))
    ]
    widths = {name: max([cell_len(name), *(c[name].cell_len for c in cells)]) for name in names}
    left = (
        width
        - sum(w for n, w in widths.items() if n not in ("TASK", "MESSAGE"))
        - len(GAP) * (len(names) - 1)
    )
    if "MESSAGE" in widths:
        left -= min(widths["MESSAGE"], max(20, left * 2 // 5))
    widths["TASK"] = max(len("TASK"), min(widths["TASK"], left))
    head = {name: Text(name) for name in names}
    lines = []
    for line_cells in (head, *cells):
        line = Text()
        for name in names:
            cell = line_cells[name].copy()
            if name != names[-1]:
                cell.truncate(widths[name], overflow="ellipsis", pad=True)
                cell.append(GAP)
            line.append_text(cell)
        line.rstrip()
        lines.append(_cut(line, width))
    return lines


def _cut(text: Text, width: int) -> Text:
    """One line, at most ``width`` cells, ending in ``…`` if it was cut."""
    text.no_wrap = True
    text.overflow = "ellipsis"
    text.truncate(width, overflow="ellipsis")
    return text


def _phase(name: str) -> Phase:
    try:
        return Phase(name)
    except ValueError:
        return Phase.RUNNING
