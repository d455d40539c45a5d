"""Live progress of a run: on a terminal the live view (:mod:`kjob.cli.liveview`) updates in place;
otherwise one line per change; and the summary at the end.  ``--quiet`` shows no progress at all, only
the summary; ``--expand TASK`` lists a fan-out's items instead of counting them."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.text import Text

from kjob.cli import liveview
from kjob.cli.livestate import Bulk, LiveState, NodeTracker
from kjob.cli.viewoptions import chosen_view
from kjob.engine.engine import RunResult
from kjob.engine.state import Node, Phase

if TYPE_CHECKING:  # rich's live display and tables are imported only for a terminal's table
    from rich.live import Live
    from rich.table import Table

STYLE, SYMBOL, seconds = liveview.STYLE, liveview.SYMBOL, liveview.seconds

COLUMNS = ("TASK", "STATUS", "DURATION", "ATTEMPTS", "MESSAGE")


def _rows(nodes: list[Node], now: float | None) -> tuple[int, list[tuple[Node, list[str]]]]:
    """How many columns to show, and each node's cells as plain text (the status without markup)."""
    width = 5 if any(n.message for n in nodes) else 4
    rows = []
    for node in nodes:
        attempts = str(len(node.attempts)) if node.attempts else ""
        took = node.duration
        if now is not None and node.phase is Phase.RUNNING and node.started_at is not None:
            took = now - node.started_at
        label = "Retrying" if node.phase is Phase.RUNNING and node.retry_at is not None else node.phase.value
        status = f"{SYMBOL[node.phase]} {label}"
        rows.append((node, [node.id, status, seconds(took), attempts, node.message][:width]))
    return width, rows


def _table(nodes: list[Node], *, now: float | None = None) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    width, rows = _rows(nodes, now)
    for name in COLUMNS[:width]:
        table.add_column(name, no_wrap=name != "MESSAGE")
    for node, cells in rows:
        cells[1] = f"[{STYLE[node.phase]}]{escape(cells[1])}[/]"
        table.add_row(escape(cells[0]), cells[1], *(escape(c) for c in cells[2:]))
    return table


def plain_table(nodes: list[Node]) -> str:
    """:func:`_table` as rich lays it out with no colours, written directly: a run of thousands of
    tasks prints its summary in milliseconds instead of seconds."""
    width, rows = _rows(nodes, None)
    lines = [list(COLUMNS[:width]), *(cells for _, cells in rows)]
    widths = [max(cell_len(line[i]) for line in lines) for i in range(width)]
    return "\n".join(
        "  ".join(cell + " " * (w - cell_len(cell)) for cell, w in zip(line, widths, strict=True))
        for line in lines
    )


def shown(nodes: list[Node], root: str | None) -> list[Node]:
    """The nodes a person wants to see, in reading order: every task and item (items right under
    their task, a nested template's tasks under it), not the workflow's own root node."""
    created = {id(n): i for i, n in enumerate(nodes)}

    def key(node: Node) -> tuple[int, ...]:
        if node.parent is not None:
            return (*key(node.parent), created[id(node)])
        owner = node.scope.owner
        if owner is not None and id(owner) in created:
            return (*key(owner), created[id(node)])
        return (created[id(node)],)

    visible = [n for n in nodes if n.id != root or n.template.is_leaf]
    return sorted(visible, key=key)


class _LiveView:
    """Drawn again at every refresh (so running tasks' durations tick), as tall as the terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        state = self.progress.state()
        yield liveview.on_terminal(state, console, options)


class Progress:
    """An engine observer that shows each node's state as it changes."""

    def __init__(
        self,
        console: Console,
        *,
        root: str | None,
        clock: Callable[[], float],
        run: str = "",
        expand: Collection[str] | None = None,
        quiet: bool | None = None,
    ) -> None:
        """``expand`` and ``quiet`` default to the command's ``--expand`` and ``--quiet``."""
        chosen = chosen_view()
        self.console = console
        self.root = root
        self.clock = clock
        self.run = run
        self.expand = frozenset(chosen.expand if expand is None else expand)
        self.quiet = chosen.quiet if quiet is None else quiet
        self.started = clock()
        self._tracker = NodeTracker(root)
        self._bulk: Bulk | None = None
        self._seen: dict[str, tuple[Phase, bool, str]] = {}
        self._live: Live | None = None
        self._plain = console.color_system is None and not console.is_terminal
        if console.is_terminal and not console.is_dumb_terminal and not self.quiet:
            from rich.live import Live

            self._live = Live(_LiveView(self), console=console, refresh_per_second=4, transient=True)
            self._live.start()

    def state(self, phase: str = "Running") -> LiveState:
        """The run as the live view shows it now."""
        state = self._tracker.state(
            run=self.run, phase=phase, now=self.clock(), started=self.started, expand=self.expand
        )
        return replace(state, bulk=self._bulk)

    def bulk(self, what: str, done: int, total: int) -> None:
        """A long step (a fan-out's items being made and handed over): a bar on a terminal, nothing
        otherwise."""
        if self._live is not None:
            self._bulk = Bulk(what, done, total) if done < total else None

    def node_changed(self, node: Node) -> None:
        if self._live is not None:  # (the summary takes in every node at the end)
            self._tracker.changed(node)
            return
        if self.quiet or (node.id == self.root and not node.template.is_leaf):
            return
        # held up (waiting for a node, a lock) or suspended (how to resume it): said while it runs
        said = node.phase is Phase.RUNNING and node.message.startswith(("waiting", "suspended"))
        held_up = node.message if said else ""
        key = (node.phase, node.retry_at is not None, held_up)
        if node.phase is Phase.PENDING or self._seen.get(node.id) == key:
            return
        self._seen[node.id] = key
        text = f"{SYMBOL[node.phase]} {node.id} {node.phase.value}"
        if node.retry_at is not None:
            text += " (retrying)"
        if node.phase.finished and node.duration is not None and node.phase is not Phase.SKIPPED:
            text += f" in {seconds(node.duration)}"
        if node.message and (node.phase.finished or held_up):
            text += f": {node.message}"
        if self._plain:  # what rich would write anyway, without rendering it (a line per change)
            self.console.file.write(text + "\n")
        else:
            self.console.print(Text(text, style=STYLE[node.phase]))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def summary(self, result: RunResult) -> None:
        self.console.print()
        if self._plain:
            self.console.file.write(plain_table(shown(result.nodes, self.root)) + "\n")
        elif self.console.is_terminal:  # the live view's rows, every one, fan-outs counted
            for node in result.nodes:
                self._tracker.changed(node)
            final = replace(
                self.state(result.phase.value),
                started=result.started_at,
                finished=result.finished_at,
                now=result.finished_at,
            )
            self.console.print(liveview.render(final, width=self.console.width))
        else:
            self.console.print(_table(shown(result.nodes, self.root)))
        self.console.print()
        took = result.finished_at - result.started_at
        self.console.print(liveview.outcome(result.run_id, result.phase.value, took, result.message))
