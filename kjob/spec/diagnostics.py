"""The collector every check reports into: errors and warnings of one file, in the order found.

The loader, its builders and :mod:`kjob.spec.validate` all report through one :class:`Diagnostics`, so
that one run shows every mistake of a file; :meth:`Diagnostics.capped_errors` orders and caps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kjob.errors import SpecError
from kjob.spec.model import Mark

MAX_ERRORS = 50


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

    def error(self, message: str, mark: Mark, *, hint: str | None = None, detail: str | None = None) -> None:
        self.errors.append(
            SpecError(message, path=mark.path, line=mark.line, col=mark.col, hint=hint, detail=detail)
        )

    def warn(self, message: str, mark: Mark, *, hint: str | None = None) -> None:
        self.warnings.append(SpecWarning(message, mark, hint))

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
