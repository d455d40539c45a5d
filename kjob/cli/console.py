"""The one console all of kjob's output goes through (rich), plus the error renderer.

Output for people goes to stdout; notices and errors to stderr.  ``NO_COLOR`` and ``COLUMNS`` are
honoured, and nothing is coloured or animated when the stream is not a terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import TextIO, cast

from rich.console import Console
from rich.markup import escape

from kjob.errors import KjobError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _ClosedTolerant(io.TextIOBase):
    """A text stream whose reader may go away (``kjob run ... | head -1``): once the pipe is broken,
    what is written is dropped and the stream is pointed at /dev/null, so the run goes on and records
    its end instead of dying of a ``BrokenPipeError``."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.broken = True
        with contextlib.suppress(OSError, ValueError):  # so the interpreter's own flush at exit is quiet
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", "utf-8"))


def reset() -> None:
    """Rebind both consoles to the current sys.stdout/stderr (the CLI entry point calls it, so tests
    that capture output see everything)."""
    global out, err
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    out = Console(file=_tolerant(sys.stdout), highlight=False, soft_wrap=True, width=width)
    err = Console(file=_tolerant(sys.stderr), highlight=False, soft_wrap=True, width=width)


def _tolerant(stream: TextIO) -> TextIO:
    return cast(TextIO, _ClosedTolerant(stream))


def notice(message: str) -> None:
    err.print(escape(message), style="yellow")


def error(exc: KjobError) -> None:
    err.print(escape(exc.render()), style="red")


def line(text: str = "", style: str | None = None) -> None:
    out.print(escape(text), style=style)


def data(text: str) -> None:
    """Machine-readable output (YAML, JSON) on stdout exactly as given: no markup, wrapping or tab
    expansion, so it can be piped."""
    out.file.write(text)
    out.file.flush()
