"""One exception root for everything a user can cause.

The CLI renders these; nothing else prints them.  Every error that comes from a file carries the place
(``path:line:col``) and, where we know one, a hint that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence


class KjobError(Exception):
    """Base of every error kjob raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The one-line form the CLI prints (plus an optional hint line)."""
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(KjobError):
    """A mistake in a workflow file, at a known place (1-based line and column)."""

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int,
        col: int,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.line = line
        self.col = col
        self.detail = detail

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def render(self) -> str:
        text = f"{self.where}: error: {self.message}"
        if self.detail:
            text += "\n" + self.detail
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class TemplateError(KjobError):
    """An expression (template, ``when`` or ``depends``) that does not parse or evaluate.

    ``column`` is 0-based within ``text``; ``context()`` draws the text with a caret under it.
    """

    def __init__(self, message: str, *, text: str, column: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.text = text
        self.column = column

    def context(self) -> str:
        line = self.text.replace("\n", " ")
        return f"    {line}\n    {' ' * self.column}^"

    def render(self) -> str:
        text = f"error: {self.message}\n{self.context()}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return f"{self.message} (column {self.column + 1} of {self.text!r})"


class CycleError(KjobError):
    """The dependency graph has a cycle; ``nodes`` lists it, first node repeated at the end."""

    def __init__(self, nodes: Sequence[object], message: str | None = None) -> None:
        self.nodes = list(nodes)
        cycle = " -> ".join(str(n) for n in self.nodes)
        super().__init__(message or f"dependency cycle: {cycle}")


class ClusterError(KjobError):
    """The cluster (or its API) refused or failed something kjob asked of it."""

    exit_code = 1


class NotFoundError(KjobError):
    """What a command was asked about does not exist (a stored template, a run): exit 1, as
    ``kubectl get`` of a missing object."""

    exit_code = 1


class AccessError(ClusterError):
    """The cluster does not let this identity do what a run needs (RBAC): a configuration to fix
    before anything runs, so exit 2 like any bad input."""

    exit_code = 2


class SpecErrors(KjobError):
    """Several mistakes found in one pass over a file; ``errors`` in source order."""

    def __init__(self, errors: Sequence[SpecError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.path, e.line, e.col))
        first = self.errors[0].message if self.errors else "invalid workflow"
        super().__init__(first)

    def render(self) -> str:
        return "\n".join(e.render() for e in self.errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def raise_found(found: Sequence[SpecError]) -> None:
    """Raise the mistakes found: one as itself, several as :class:`SpecErrors`; none, nothing."""
    if len(found) == 1:
        raise found[0]
    if found:
        raise SpecErrors(found)
