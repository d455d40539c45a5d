"""The one console all of kjob's output goes through (rich), plus the error renderer.

Output for people goes to stdout; notices and errors to stderr.  ``NO_COLOR`` and ``COLUMNS`` are
honoured, and nothing is coloured or animated when the stream is not a terminal.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape

from kjob.errors import KjobError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def reset() -> None:
    """Rebind both consoles to the current sys.stdout/stderr (the CLI entry point calls it, so tests
    that capture output see everything)."""
    global out, err
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True, width=width)
    err = Console(file=sys.stderr, highlight=False, soft_wrap=True, width=width)


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
