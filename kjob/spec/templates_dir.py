"""Reading WorkflowTemplates and ClusterWorkflowTemplates: a directory (``--templates DIR``), or texts
read elsewhere (ConfigMaps of a cluster, the templates a run carries).

Every ``*.yaml``/``*.yml`` file under the directory (its subdirectories too, in name order) is read;
its WorkflowTemplate and ClusterWorkflowTemplate documents are checked like any workflow and kept by
name, other kinds (Workflows, ConfigMaps, WorkflowEventBindings, ...) are skipped.  A name given twice
is an error naming both files; a template with mistakes is reported by the workflows that use it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from kjob.errors import KjobError, SpecError, SpecErrors
from kjob.spec.build_workflow import API_VERSIONS, KINDS
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
    texts: list[tuple[str, str]] = []
    for directory in directories:
        if not os.path.isdir(directory):
            what = "no such directory" if not os.path.exists(directory) else "not a directory"
            raise KjobError(
                f"--templates {directory}: {what}", hint="give a directory of WorkflowTemplate YAML files"
            )
        texts.extend((path, read_text(path)) for path in yaml_files(directory))
    return library_of_texts(texts, origin="--templates " + " ".join(directories), lenient=lenient)


def library_of_texts(
    texts: Sequence[tuple[str, str]], *, origin: str, lenient: bool = False
) -> TemplateLibrary:
    """The templates in ``texts``, pairs of (where a text came from, the YAML text): files of a
    directory, ConfigMaps of a cluster, or the templates a run carries.  ``origin`` names them all in
    messages ("--templates DIR")."""
    diag = Diagnostics(lenient=lenient)
    found: list[tuple[LoadedWorkflow, list[SpecError]]] = []
    for path, text in texts:
        documents = workflow_documents(text)
        if not any(kind is None or kind in TEMPLATE_KINDS for kind in documents.kinds):
            continue  # no templates here: workflows and other kinds of object are not read
        text = documents.text
        file_diag = Diagnostics(lenient=lenient)
        docs: list[LoadedWorkflow] = []
        build_documents(text, path, file_diag, docs)
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
    docs = [doc for doc, _ in seen.values()]
    sources = frozen_map({path: text for path, text in texts})
    library = with_documents(TemplateLibrary(frozen_map(), frozen_map(), origin, sources=sources), docs)
    problems: dict[tuple[str, str], tuple[SpecError, ...]] = {}
    for key, (doc, errors) in seen.items():
        checks = Diagnostics(lenient=lenient)
        validate(resolve(doc, library, checks), checks)
        if errors or checks.errors:
            problems[key] = tuple(errors) + tuple(checks.errors)
    return dataclasses.replace(library, problems=MappingProxyType(problems))


def carried_library(templates_text: str, where: str) -> TemplateLibrary | None:
    """The templates a run carries (:meth:`~kjob.spec.loader.LoadResult.carried_templates`), kept at
    ``where`` (its run directory's file, its run object's key); ``None`` if it carries none."""
    if not templates_text:
        return None
    return library_of_texts([(where, templates_text)], origin=f"the templates carried in {where}")


def yaml_files(directory: str) -> list[str]:
    paths: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(SUFFIXES))
    return sorted(paths)


@dataclass(frozen=True, slots=True)
class TemplateDocument:
    """One WorkflowTemplate or ClusterWorkflowTemplate document of a file, as its own YAML text."""

    kind: str
    name: str
    text: str
    path: str


def template_documents(path: str, text: str, *, lenient: bool = False) -> list[TemplateDocument]:
    """The template documents of the file ``path`` (text ``text``), each as a text of its own, for
    storing one by one (``kjob template apply``).  Every template is checked as a run would check it:
    any mistake fails the whole file (:class:`~kjob.errors.SpecErrors`, located in the file), so that
    nothing half-right is stored."""
    library = library_of_texts([(path, text)], origin=path, lenient=lenient)
    problems = [error for errors in library.problems.values() for error in errors]
    if problems:
        raise SpecErrors(problems)
    found: list[TemplateDocument] = []
    for chunk in split_documents(text):
        docs: list[LoadedWorkflow] = []
        build_documents(chunk, path, Diagnostics(lenient=True), docs)
        found.extend(
            TemplateDocument(d.workflow.kind, d.workflow.name or "", chunk, path)
            for d in docs
            if d.workflow.kind in TEMPLATE_KINDS
        )
    return found


def split_documents(text: str) -> list[str]:
    """The documents of a YAML stream as texts of their own: split at the ``---`` and ``...`` markers
    that begin a line (inside a block scalar a line is indented, so such a line is always a marker);
    documents that hold nothing but comments are dropped."""
    chunks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if _MARKER.match(line):
            chunks.append([])
            rest = line[3:].strip()
            if line.startswith("---") and rest:
                chunks[-1].append(rest + "\n")  # `--- {a: 1}`: the document starts on the marker's line
            continue
        chunks[-1].append(line)
    texts = ["".join(lines) for lines in chunks]
    return [t for t in texts if _has_content(t)]


def _has_content(text: str) -> bool:
    """Whether a document holds more than blank lines and comments."""
    return any(s.strip() and not s.lstrip().startswith("#") for s in text.splitlines())


_MARKER = re.compile(r"^(---|\.\.\.)(\s|$)")


# Kinds of argoproj.io objects that are not workflows (Argo's own, Argo Events', Rollouts', CD's).
OTHER_ARGO_KINDS = frozenset(
    {
        "WorkflowEventBinding",
        "WorkflowTaskSet",
        "WorkflowTaskResult",
        "WorkflowArtifactGCTask",
        "EventSource",
        "EventBus",
        "Sensor",
        "Rollout",
        "AnalysisTemplate",
        "Application",
        "AppProject",
    }
)
_KIND = re.compile(r"""^kind:[ \t]*["']?([A-Za-z0-9]+)""", re.MULTILINE)
_API_VERSION = re.compile(r"""^apiVersion:[ \t]*["']?([^\s"'#]+)""", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class WorkflowDocuments:
    """A YAML stream with only its workflow documents left: the others' lines are blanked, so that
    every line keeps its number.  ``kinds`` are the kept documents' (``None``: no ``kind:`` line),
    ``other_kinds`` the blanked ones', in order."""

    text: str
    kinds: tuple[str | None, ...]
    other_kinds: tuple[str, ...]


def workflow_documents(text: str) -> WorkflowDocuments:
    """Blank the documents of ``text`` that are other kinds of object (a ConfigMap, a
    PersistentVolumeClaim, a WorkflowEventBinding, ...) rather than workflows or workflow templates.

    A document's kind is read from its top-level ``kind:`` line; one without such a line, or of a kind
    kjob reads, or of an unknown ``argoproj.io`` kind (perhaps a misspelt ``Workflow``), is kept for
    the loader to check.
    """
    lines = text.splitlines(keepends=True)
    starts = [0] + [i + 1 for i, line in enumerate(lines) if _MARKER.match(line)]
    kinds: list[str | None] = []
    others: list[str] = []
    kept: list[str] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] - 1 if n + 1 < len(starts) else len(lines)
        chunk = "".join(lines[start:end])
        kind = _KIND.search(chunk)
        if kind is not None and _is_other_kind(kind.group(1), _API_VERSION.search(chunk)):
            others.append(kind.group(1))
            kept.extend("\n" for _ in range(start, end))
        else:
            if kind is not None or _has_content(chunk):
                kinds.append(kind.group(1) if kind is not None else None)
            kept.extend(lines[start:end])
        if end < len(lines):
            kept.append(lines[end])  # the marker
    if not others:
        return WorkflowDocuments(text, tuple(kinds), ())
    return WorkflowDocuments("".join(kept), tuple(kinds), tuple(others))


def _is_other_kind(kind: str, api_version: re.Match[str] | None) -> bool:
    if kind in KINDS:
        return False
    if api_version is None or api_version.group(1) not in API_VERSIONS:
        return True
    return kind in OTHER_ARGO_KINDS
