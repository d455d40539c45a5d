"""What the loader hands over to the whole-workflow checks of :mod:`kjob.spec.validate`.

Besides the model, the checks need to know where things were in the file: every text that may hold
references (:class:`Site`) with a :class:`Locator` mapping its columns back to the file, the marks of
each task's dependencies, and every template as loaded (duplicates included).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kjob.spec.model import Mark, Template, Workflow


@dataclass(frozen=True, slots=True)
class Locator:
    """Maps a 0-based column of a text back to the file.

    ``lines`` holds the file position (1-based line, column) of the first character of each line of the
    text when the loader could work it out (plain or quoted one-line scalars, literal blocks); otherwise
    every column maps to ``start``, the beginning of the value.
    """

    start: Mark
    lines: tuple[tuple[int, int], ...] = ()

    def at(self, text: str, column: int) -> Mark:
        if not self.lines:
            return self.start
        index, offset = line_of(text, column)
        if index >= len(self.lines):
            return self.start
        line, col = self.lines[index]
        return Mark(self.start.path, line, col + offset)


class SiteKind(enum.Enum):
    TEXT = "text"  # a template string: substituted, then used as is
    WHEN = "when"  # a when expression: only its template part is checked here
    WITH_PARAM = "withParam"  # a JSON list, or a reference to one
    FROM = "from"  # an artifact source: exactly one artifact reference
    EXPRESSION = "expression"  # an Argo expression (valueFrom.expression, fromExpression)
    RETRY_EXPRESSION = "retryExpression"  # a template text that is an expression once rendered


@dataclass(frozen=True, slots=True)
class Site:
    """A text that may hold references, where it is, and whose it is."""

    text: str
    field: str  # how a message names it: "args[1]", "when", "argument 'entity'"
    kind: SiteKind
    locator: Locator
    task: str | None = None  # the task or step it belongs to; None for the template body
    item_allowed: bool = False  # ``item`` may be used (a fanned-out task's arguments or when)


@dataclass(frozen=True, slots=True)
class TaskMarks:
    """Marks of a task's dependency list entries and of its ``depends`` text."""

    dependencies: tuple[Mark, ...] = ()
    depends: Locator | None = None


@dataclass(frozen=True, slots=True)
class LoadedTemplate:
    """A template as loaded, with its reference texts and, per task in order, the dependency marks."""

    template: Template
    sites: tuple[Site, ...] = ()
    task_marks: tuple[TaskMarks, ...] = ()
    target: Locator | None = None  # where a dag's ``target`` text is


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """A ``templateRef`` (``template`` is None) or ``workflowTemplateRef``: a template of a
    WorkflowTemplate (``cluster``: a ClusterWorkflowTemplate) kept elsewhere, resolved by
    :mod:`kjob.spec.resolve_refs`."""

    name: str
    template: str | None
    cluster: bool
    mark: Mark

    @property
    def local_name(self) -> str:
        """The name the template has in the workflow that uses it: ``W.T``, or ``W:T`` for a
        ClusterWorkflowTemplate (a template's own name holds neither '.' nor ':')."""
        return f"{self.name}{':' if self.cluster else '.'}{self.template}"


def is_referenced_name(name: str) -> bool:
    """Whether a task's template name is a :attr:`TemplateRef.local_name`."""
    return "." in name or ":" in name


@dataclass(frozen=True, slots=True)
class LoadedWorkflow:
    """A workflow as loaded: the model, every template (duplicates included) and where things are."""

    workflow: Workflow
    templates: tuple[LoadedTemplate, ...]
    argo: bool  # ``{{ }}`` references (Argo apiVersion) rather than kjob's ``<< >>``
    entrypoint_mark: Mark | None = None
    on_exit_mark: Mark | None = None
    sites: tuple[Site, ...] = field(default=())  # workflow-level texts (spec.arguments)
    template_refs: tuple[TemplateRef, ...] = ()  # the tasks' templateRefs, in file order
    workflow_template_ref: TemplateRef | None = None  # spec.workflowTemplateRef


def line_of(text: str, column: int) -> tuple[int, int]:
    """(line index, column within that line) of a 0-based column of ``text``."""
    before = text[:column]
    index = before.count("\n")
    return index, column - (before.rfind("\n") + 1)
