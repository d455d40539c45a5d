"""The collector every check reports into: errors and warnings of one file, in the order found.

The loader, its builders and :mod:`kjob.spec.validate` all report through one :class:`Diagnostics`, so
that one run shows every mistake of a file; :meth:`Diagnostics.capped_errors` orders and caps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import overload

from kjob.errors import SpecError
from kjob.spec.model import Mark

MAX_ERRORS = 50
QUOTED_CHARS = 60  # of a name, path or value a message quotes; the rest is cut
_LONG_QUOTE = re.compile(f"(['\"`])([^'\"`\\n]{{{QUOTED_CHARS + 1},}})\\1")


@overload
def shorten(text: str) -> str: ...
@overload
def shorten(text: None) -> None: ...
def shorten(text: str | None) -> str | None:
    """``text`` with each long quoted part cut: a file can hold a name or a value of any length, and
    a message quotes it whole wherever it is written."""
    if text is None or len(text) <= 2 * QUOTED_CHARS:
        return text

    def cut(match: re.Match[str]) -> str:
        quote, inner = match.group(1), match.group(2)
        return f"{quote}{inner[: QUOTED_CHARS - 3]}...{quote}"

    return _LONG_QUOTE.sub(cut, text)


def listing(names: list[str], most: int = 10) -> str:
    """``a, b, c`` for a message: at most ``most`` names, each cut like a quoted one, then how many
    more there are; ``none`` for no names."""
    shown = [n if len(n) <= QUOTED_CHARS else n[: QUOTED_CHARS - 3] + "..." for n in names[:most]]
    if len(names) > most:
        shown.append(f"and {len(names) - most:,} more")
    return ", ".join(shown) or "none"


@dataclass(frozen=True, slots=True)
class SpecWarning:
    """Something kjob reads past (with ``lenient=True``) or that is probably a mistake."""

    message: str
    mark: Mark
    hint: str | None = None

    def render(self) -> str:
        text = f"{self.mark}: warning: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class Diagnostics:
    """Errors and warnings found in one file, in the order they were found."""

    def __init__(self, *, lenient: bool = False) -> None:
        self.lenient = lenient
        self.errors: list[SpecError] = []
        self.warnings: list[SpecWarning] = []
        # what was said where: a text read for several objects (templateDefaults) is reported once
        self._said: set[tuple[str, Mark, str | None]] = set()

    def _new(self, message: str, mark: Mark, hint: str | None) -> bool:
        said = (message, mark, hint)
        if said in self._said:
            return False
        self._said.add(said)
        return True

    def error(self, message: str, mark: Mark, *, hint: str | None = None, detail: str | None = None) -> None:
        message, hint = shorten(message), shorten(hint)
        if not self._new(message, mark, hint):
            return
        self.errors.append(
            SpecError(message, path=mark.path, line=mark.line, col=mark.col, hint=hint, detail=detail)
        )

    def warn(self, message: str, mark: Mark, *, hint: str | None = None) -> None:
        if not self._new(message, mark, hint):
            return
        self.warnings.append(SpecWarning(shorten(message), mark, shorten(hint)))

    def unsupported(self, message: str, mark: Mark, *, hint: str | None = None) -> None:
        """An Argo feature kjob cannot run yet: an error, or a warning when loading leniently."""
        if self.lenient:
            self.warn(message, mark, hint=hint)
        else:
            self.error(message, mark, hint=hint)

    def capped_errors(self) -> list[SpecError]:
        """At most :data:`MAX_ERRORS` errors in file order, and a last one saying how many were left out."""
        ordered = sorted(self.errors, key=lambda e: (e.path, e.line, e.col))
        if len(ordered) <= MAX_ERRORS:
            return ordered
        kept = ordered[:MAX_ERRORS]
        last = kept[-1]
        more = len(ordered) - MAX_ERRORS
        kept.append(SpecError(f"{more} more errors not shown", path=last.path, line=last.line, col=last.col))
        return kept
