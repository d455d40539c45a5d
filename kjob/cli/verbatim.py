"""Lines whose text someone else wrote (a task's log, its message) on stdout, shown exactly as written:
off a terminal they are written as they are; on one they go through the console with only kjob's own
parts styled, never read as markup or emoji codes (``[bold]``, ``:100:`` stay text)."""

from __future__ import annotations

from kjob.cli import console

Part = str | tuple[str, str]  # text, or (text, rich style) for kjob's own words


class Verbatim:
    def __init__(self) -> None:
        self.out = console.out
        self.plain = not self.out.is_terminal

    def line(self, *parts: Part) -> None:
        if self.plain:
            self.out.file.write("".join(p if isinstance(p, str) else p[0] for p in parts) + "\n")
            return
        from rich.text import Text

        self.out.print(Text.assemble(*parts), markup=False, highlight=False, emoji=False)

    def flush(self) -> None:
        self.out.file.flush()
