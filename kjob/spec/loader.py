"""Loading workflow files: the entry points, reading every document and checking every workflow.

``load_text`` runs the steps in order: :class:`~kjob.spec.source.Source` parses the YAML into positioned
trees (:mod:`kjob.spec.yamlnodes`), :func:`kjob.spec.build_workflow.build` turns each document into the
frozen :mod:`kjob.spec.model` through a :class:`~kjob.spec.reader.Reader`, and
:func:`kjob.spec.validate.validate` checks what needs the whole workflow.  Mistakes are collected in one
:class:`~kjob.spec.diagnostics.Diagnostics`, not raised, so that one run shows them all.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from kjob.errors import KjobError, SpecError, SpecErrors
from kjob.limits import FILE_CHARS
from kjob.spec.advice import advise
from kjob.spec.build_workflow import ARGO_API, build
from kjob.spec.diagnostics import Diagnostics, SpecWarning
from kjob.spec.loaded import LoadedWorkflow
from kjob.spec.model import Mark, Workflow, frozen_map
from kjob.spec.reader import Reader
from kjob.spec.resolve_refs import EMPTY, TemplateLibrary, needs_library, resolve, with_documents
from kjob.spec.source import Source
from kjob.spec.validate import validate


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The workflows of one file, in document order, and what was read past (``lenient``) or doubted."""

    workflows: tuple[Workflow, ...]
    warnings: tuple[SpecWarning, ...]
    # the text of each template source given (``templates``): a workflow's ``template_sources`` index it
    template_texts: Mapping[str, str] = field(default_factory=frozen_map)

    def carried_templates(self, workflow: Workflow) -> str:
        """The templates ``workflow`` uses from elsewhere, as one multi-document YAML text for a run
        to carry (so that it can be resumed, or driven in a cluster, without the directory); ``""``
        when it uses none."""
        return "".join(
            f"# from {path}\n{self.template_texts[path].rstrip()}\n---\n"
            for path in workflow.template_sources
            if path in self.template_texts
        )


def load_file(
    path: str | os.PathLike[str], *, lenient: bool = False, templates: TemplateLibrary | None = None
) -> LoadResult:
    """Load and validate every workflow document of the file at ``path``.

    ``templates`` holds the WorkflowTemplates its ``templateRef``s and ``workflowTemplateRef`` name.
    Raises :class:`~kjob.errors.SpecErrors` (always that, even for one mistake) listing every mistake
    found, or a :class:`~kjob.errors.KjobError` when the file cannot be read.
    """
    return load_text(read_text(path), path=os.fspath(path), lenient=lenient, templates=templates)


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of a workflow file, or a :class:`~kjob.errors.KjobError` saying why it cannot be read."""
    name = os.fspath(path)
    most = FILE_CHARS.value
    try:
        with open(name, encoding="utf-8") as file:
            text = file.read(most + 1)  # no more than the limit lets through (a pipe may never end)
    except FileNotFoundError:
        raise KjobError(f"cannot read {name}: no such file", hint="check the path") from None
    except IsADirectoryError:
        raise KjobError(
            f"cannot read {name}: it is a directory", hint="give the path of a YAML file"
        ) from None
    except PermissionError:
        raise KjobError(f"cannot read {name}: permission denied") from None
    except UnicodeDecodeError as error:
        raise KjobError(
            f"cannot read {name}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except OSError as error:
        raise KjobError(f"cannot read {name}: {error.strerror or error}") from None
    if len(text) > most:
        message = FILE_CHARS.problem(len(text), "this file", at_least=True)
        raise SpecErrors([SpecError(message or "", path=name, line=1, col=1)])
    return text


def load_text(
    text: str, *, path: str = "<string>", lenient: bool = False, templates: TemplateLibrary | None = None
) -> LoadResult:
    """Load and validate every workflow document of ``text`` (``path`` is used in messages only)."""
    diag = Diagnostics(lenient=lenient)
    loaded: list[LoadedWorkflow] = []
    with _collector_paused():
        documents = build_documents(text, path, diag, loaded)
        if any(needs_library(w) for w in loaded):
            library = with_documents(templates or EMPTY, loaded)
            loaded = [resolve(w, library, diag) if needs_library(w) else w for w in loaded]
        if not documents and not diag.errors:
            diag.error(
                "no workflow in this file",
                Mark(path, 1, 1),
                hint=f"a workflow document starts with `apiVersion: {ARGO_API}` and `kind: Workflow`",
            )
        for workflow in loaded:
            validate(workflow, diag)
        if not diag.errors:
            for workflow in loaded:
                advise(workflow, diag)
    if diag.errors:
        raise SpecErrors(diag.capped_errors())
    warnings = sorted(diag.warnings, key=lambda w: (w.mark.path, w.mark.line, w.mark.col))
    texts = templates.sources if templates is not None else frozen_map()
    return LoadResult(tuple(w.workflow for w in loaded), tuple(warnings), texts)


def build_documents(text: str, path: str, diag: Diagnostics, into: list[LoadedWorkflow]) -> list[object]:
    """Build every document of ``text`` into ``into``; the documents' trees (mistakes go to ``diag``)."""
    source = Source(path, text)
    documents = source.documents(diag)
    for root in documents:
        workflow = build(Reader(source, diag), root)
        if workflow is not None:
            into.append(workflow)
    return list(documents)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is read.

    A large file makes hundreds of thousands of small objects that all stay alive (nodes, then the
    tree, then the model), so the collections their allocation triggers find nothing, and each full one
    walks everything made so far: for a 5,000-task dag that was over half of the loading time, and the
    share grows with the file.  Nothing is lost by waiting: what garbage there is gets collected once
    the collector runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
