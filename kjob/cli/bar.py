"""A progress bar for a long step (a simulation's runs, a sweep's points), on stderr while it lasts.

Drawn only on a terminal and without ``--quiet``: piped, redirected or quiet, the step runs silent,
and rich is not even loaded for it.  The bar goes away when the step ends (what it did is printed
after, on stdout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kjob.cli import console
from kjob.cli.viewoptions import chosen_view

Advance = Callable[[int], None]


def _nothing(_steps: int) -> None:
    return None


@contextmanager
def progress_bar(what: str, total: int | None) -> Iterator[Advance]:
    """Show ``what`` with a bar of ``total`` steps (``None``: a step of unknown length, shown as a
    pulse with the time spent); yields ``advance(steps)``."""
    if chosen_view().quiet or not console.animated("err"):
        yield _nothing
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn()]
    if total is not None:
        columns.append(MofNCompleteColumn())
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console.err, transient=True) as bar:
        task = bar.add_task(what, total=total)

        def advance(steps: int) -> None:
            bar.advance(task, steps)

        yield advance


@contextmanager
def step_bar() -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar for an engine's bulk steps (:data:`kjob.engine.bulk.BulkReport`): yields the callback
    that moves it (each report names its step and total), or ``None`` where no bar is drawn."""
    if chosen_view().quiet or not console.animated("err"):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console.err, transient=True) as bar:
        task = bar.add_task("", total=None, visible=False)

        def report(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total, visible=done < total)

        yield report
