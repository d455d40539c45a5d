"""Reading a directory of WorkflowTemplates and ClusterWorkflowTemplates (``--templates DIR``).

Every ``*.yaml``/``*.yml`` file under the directory (its subdirectories too, in name order) is read;
its WorkflowTemplate and ClusterWorkflowTemplate documents are checked like any workflow and kept by
name, other kinds are skipped.  A name given twice is an error naming both files.
"""

from __future__ import annotations

import os

from kjob.errors import KjobError, SpecErrors
from kjob.spec.diagnostics import Diagnostics
from kjob.spec.loaded import LoadedWorkflow
from kjob.spec.loader import build_documents, read_text
from kjob.spec.model import frozen_map
from kjob.spec.resolve_refs import TEMPLATE_KINDS, TemplateLibrary, resolve, with_documents
from kjob.spec.validate import validate

SUFFIXES = (".yaml", ".yml")


def load_library(directory: str) -> TemplateLibrary:
    """The templates of ``directory``; :class:`~kjob.errors.SpecErrors` listing every mistake in them."""
    if not os.path.isdir(directory):
        what = "no such directory" if not os.path.exists(directory) else "not a directory"
        raise KjobError(
            f"--templates {directory}: {what}", hint="give a directory of WorkflowTemplate YAML files"
        )
    diag = Diagnostics()
    found: list[LoadedWorkflow] = []
    for path in _yaml_files(directory):
        docs: list[LoadedWorkflow] = []
        build_documents(read_text(path), path, diag, docs)
        found.extend(d for d in docs if d.workflow.kind in TEMPLATE_KINDS)
    origin = f"--templates {directory}"
    seen: dict[tuple[str, str], LoadedWorkflow] = {}
    for doc in found:
        key = (doc.workflow.kind, doc.workflow.name or "")
        first = seen.setdefault(key, doc)
        if first is not doc:
            diag.error(
                f"{doc.workflow.kind} '{key[1]}' is defined twice: here and at {first.workflow.mark}",
                doc.workflow.mark,
                hint="rename or remove one of them",
            )
    library = with_documents(TemplateLibrary(frozen_map(), frozen_map(), origin), list(seen.values()))
    for doc in seen.values():
        validate(resolve(doc, library, diag), diag)
    if diag.errors:
        raise SpecErrors(diag.capped_errors())
    return library


def _yaml_files(directory: str) -> list[str]:
    paths: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(SUFFIXES))
    return sorted(paths)
