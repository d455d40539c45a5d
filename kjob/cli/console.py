"""The one console all of kjob's output goes through (rich), plus the error renderer.

Output for people goes to stdout; notices and errors to stderr.  ``NO_COLOR`` and ``COLUMNS`` are
honoured, and nothing is coloured or animated when the stream is not a terminal.  What a task or a
user wrote is printed as written: never read as rich markup (it is escaped, or given as ``Text``) nor
as emoji codes (the consoles have emoji off).

rich is loaded only when it draws something: a line written to a pipe or a file is just the text
(what rich would write there too), so ``kjob lint`` in a script or CI does not wait for it.  ``out`` and
``err`` are rich consoles made on first use.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import TYPE_CHECKING, TextIO, cast

from kjob.errors import KjobError

if TYPE_CHECKING:
    from rich.console import Console


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


_streams: dict[str, TextIO] = {}
_consoles: dict[str, Console] = {}


def reset() -> None:
    """Rebind both consoles to the current sys.stdout/stderr (the CLI entry point calls it, so tests
    that capture output see everything)."""
    _streams["out"] = _tolerant(sys.stdout)
    _streams["err"] = _tolerant(sys.stderr)
    _consoles.clear()


def __getattr__(name: str) -> Console:
    """``console.out`` and ``console.err``: the rich consoles, made (and rich imported) on first use."""
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    made = _consoles.get(name)
    if made is None:
        from rich.console import Console

        width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
        # emoji=False: a task's ":100:" is text, not 💯 (markup is escaped where text is printed)
        made = Console(
            file=_stream(name),
            stderr=name == "err",
            highlight=False,
            soft_wrap=True,
            width=width,
            emoji=False,
        )
        _consoles[name] = made
    return made


def _stream(name: str) -> TextIO:
    if name not in _streams:
        _streams[name] = _tolerant(sys.stdout if name == "out" else sys.stderr)
    return _streams[name]


def _tolerant(stream: TextIO) -> TextIO:
    return cast(TextIO, _ClosedTolerant(stream))


def _is_terminal(stream: TextIO) -> bool:
    """Whether rich would style what goes to ``stream`` (its own rules: ``TTY_COMPATIBLE``,
    ``FORCE_COLOR``, then ``isatty``)."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    forced = os.environ.get("FORCE_COLOR")
    if forced is not None:
        return forced != ""
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def animated(name: str = "err") -> bool:
    """Whether a progress bar or live view may be drawn on stream ``name``: a terminal (rich's
    rules) that can move its cursor (not ``TERM=dumb``), not a pipe or a file."""
    return _is_terminal(_stream(name)) and os.environ.get("TERM", "").lower() not in ("dumb", "unknown")


def _say(name: str, text: str, style: str | None) -> None:
    """One line for people: plain text where rich would add nothing, else through rich."""
    stream = _stream(name)
    if name in _consoles or _is_terminal(stream):
        from rich.markup import escape

        console: Console = __getattr__(name)
        console.print(escape(text), style=style)
        return
    stream.write(text + "\n")
    stream.flush()


def notice(message: str) -> None:
    _say("err", message, "yellow")


def error(exc: KjobError) -> None:
    _say("err", exc.render(), "red")


def line(text: str = "", style: str | None = None) -> None:
    _say("out", text, style)


def failure(text: str) -> None:
    """A closing line that says something went wrong (on stderr, red on a terminal)."""
    _say("err", text, "red")


def data(text: str) -> None:
    """Machine-readable output (YAML, JSON) on stdout exactly as given: no markup, wrapping or tab
    expansion, so it can be piped."""
    stream = _stream("out")
    stream.write(text)
    stream.flush()
