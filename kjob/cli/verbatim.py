"""Lines whose text someone else wrote (a task's log, its message) on stdout, shown exactly as written:
off a terminal they are written as they are; on one they go through the console with only kjob's own
parts styled, never read as markup or emoji codes (``[bold]``, ``:100:`` stay text)."""

from __future__ import annotations

from kjob.cli import console

Part = str | tuple[str, str]  # text, or (text, rich style) for kjob's own words


class Verbatim:
    """Off a terminal, lines are gathered and written a thousand at a time (and at :meth:`flush`)."""

    def __init__(self) -> None:
        self.out = console.out
        self.plain = not self.out.is_terminal
        self._pending: list[str] = []

    def line(self, *parts: Part) -> None:
        if self.plain:
            self._pending.append("".join(p if isinstance(p, str) else p[0] for p in parts))
            if len(self._pending) >= 1000:
                self._write()
            return
        from rich.text import Text

        self.out.print(Text.assemble(*parts), markup=False, highlight=False, emoji=False)

    def flush(self) -> None:
        self._write()
        self.out.file.flush()

    def _write(self) -> None:
        if self._pending:
            self.out.file.write("\n".join(self._pending) + "\n")
            self._pending.clear()
