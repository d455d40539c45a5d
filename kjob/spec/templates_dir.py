"""Reading a directory of WorkflowTemplates and ClusterWorkflowTemplates (``--templates DIR``).

Every ``*.yaml``/``*.yml`` file under the directory (its subdirectories too, in name order) is read;
its WorkflowTemplate and ClusterWorkflowTemplate documents are checked like any workflow and kept by
name, other kinds are skipped.  A name given twice is an error naming both files; a template with
mistakes is reported by the workflows that use it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from types import MappingProxyType

from kjob.errors import KjobError, SpecError, SpecErrors
from kjob.spec.diagnostics import Diagnostics
from kjob.spec.loaded import LoadedWorkflow
from kjob.spec.loader import build_documents, read_text
from kjob.spec.model import frozen_map
from kjob.spec.resolve_refs import TEMPLATE_KINDS, TemplateLibrary, resolve, with_documents
from kjob.spec.validate import validate

SUFFIXES = (".yaml", ".yml")


def load_library(directories: Sequence[str], *, lenient: bool = False) -> TemplateLibrary:
    """The templates of ``directories`` (``lenient``: what kjob does not support yet is a warning).

    A file kjob cannot read, or a name given twice, fails at once (:class:`~kjob.errors.SpecErrors`).
    A template with mistakes is kept with them: a workflow that refers to it reports them, located in
    the template's file, and one that does not is not held up by a template it never runs.
    """
    diag = Diagnostics(lenient=lenient)
    found: list[tuple[LoadedWorkflow, list[SpecError]]] = []
    for directory in directories:
        if not os.path.isdir(directory):
            what = "no such directory" if not os.path.exists(directory) else "not a directory"
            raise KjobError(
                f"--templates {directory}: {what}", hint="give a directory of WorkflowTemplate YAML files"
            )
        for path in _yaml_files(directory):
            file_diag = Diagnostics(lenient=lenient)
            docs: list[LoadedWorkflow] = []
            build_documents(read_text(path), path, file_diag, docs)
            if file_diag.errors and not docs:
                diag.errors.extend(file_diag.errors)  # unread: it may hold the template a run needs
            found.extend((d, file_diag.errors) for d in docs if d.workflow.kind in TEMPLATE_KINDS)
    seen: dict[tuple[str, str], tuple[LoadedWorkflow, list[SpecError]]] = {}
    for doc, errors in found:
        key = (doc.workflow.kind, doc.workflow.name or "")
        first = seen.setdefault(key, (doc, errors))[0]
        if first is not doc:
            diag.error(
                f"{doc.workflow.kind} '{key[1]}' is defined twice: here and at {first.workflow.mark}",
                doc.workflow.mark,
                hint="rename or remove one of them",
            )
    if diag.errors:
        raise SpecErrors(diag.capped_errors())
    origin = "--templates " + " ".join(directories)
    docs = [doc for doc, _ in seen.values()]
    library = with_documents(TemplateLibrary(frozen_map(), frozen_map(), origin), docs)
    problems: dict[tuple[str, str], tuple[SpecError, ...]] = {}
    for key, (doc, errors) in seen.items():
        checks = Diagnostics(lenient=lenient)
        validate(resolve(doc, library, checks), checks)
        if errors or checks.errors:
            problems[key] = tuple(errors) + tuple(checks.errors)
    return dataclasses.replace(library, problems=MappingProxyType(problems))


def _yaml_files(directory: str) -> list[str]:
    paths: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(SUFFIXES))
    return sorted(paths)
