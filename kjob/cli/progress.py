"""Live progress of a run: a table that updates in place on a terminal, one line per change
otherwise; and the summary table at the end."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from kjob.engine.engine import RunResult
from kjob.engine.state import Node, Phase

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


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _status(node: Node) -> str:
    label = node.phase.value
    if node.phase is Phase.RUNNING and node.retry_at is not None:
        label = "Retrying"
    return f"[{STYLE[node.phase]}]{SYMBOL[node.phase]} {label}[/]"


def _table(nodes: list[Node], *, now: float | None = None) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    with_messages = any(n.message for n in nodes)
    for name in ("TASK", "STATUS", "DURATION", "ATTEMPTS", "MESSAGE")[: 5 if with_messages else 4]:
        table.add_column(name, no_wrap=name != "MESSAGE")
    for node in nodes:
        attempts = str(len(node.attempts)) if node.attempts else ""
        took = node.duration
        if now is not None and node.phase is Phase.RUNNING and node.started_at is not None:
            took = now - node.started_at
        row = [escape(node.id), _status(node), seconds(took), attempts, escape(node.message)]
        table.add_row(*row[: 5 if with_messages else 4])
    return table


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

    visible = [n for n in nodes if n.id != root or n.template.container is not None]
    return sorted(visible, key=key)


class _LiveView:
    """Rebuilt at every refresh, so running tasks' durations tick."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __rich__(self) -> Table:
        p = self.progress
        return _table(shown(list(p._nodes.values()), p.root), now=p.clock())


class Progress:
    """An engine observer that shows each node's state as it changes."""

    def __init__(self, console: Console, *, root: str | None, clock: Callable[[], float]) -> None:
        self.console = console
        self.root = root
        self.clock = clock
        self._nodes: dict[str, Node] = {}
        self._seen: dict[str, tuple[Phase, bool, str]] = {}
        self._live: Live | None = None
        if console.is_terminal:
            self._live = Live(_LiveView(self), console=console, refresh_per_second=4, transient=True)
            self._live.start()

    def node_changed(self, node: Node) -> None:
        if node.id == self.root and node.template.container is None:
            return
        self._nodes[node.id] = node
        if self._live is not None:
            return
        held_up = node.message if node.phase is Phase.RUNNING and node.message.startswith("waiting") else ""
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
        self.console.print(escape(text), style=STYLE[node.phase])

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def summary(self, result: RunResult) -> None:
        self.console.print()
        self.console.print(_table(shown(result.nodes, self.root)))
        self.console.print()
        took = seconds(result.finished_at - result.started_at)
        style = "green" if result.succeeded else "red"
        text = f"Workflow {result.run_id} {result.phase.value} in {took}"
        if result.message and not result.succeeded:
            text += f": {result.message}"
        self.console.print(escape(text), style=f"bold {style}")
