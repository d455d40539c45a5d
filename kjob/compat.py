"""How much of a directory of Argo workflow files kjob accepts (``kjob compat DIR``).

Every ``*.yaml``/``*.yml`` file under the directory is linted as ``kjob lint`` would, with the
WorkflowTemplates and ClusterWorkflowTemplates found anywhere under it as the library for ``templateRef``
and ``workflowTemplateRef``.  Each file gets one outcome (:class:`Outcome`): accepted; unsupported (its
only errors are features "not supported by kjob yet", which are counted); rejected as Argo rejects it
too (:data:`ARGO_REJECTS`); wrongly rejected (any other error: a kjob bug to fix); not a workflow (a
ConfigMap, a WorkflowEventBinding, ...: skipped); unreadable; or crashed (an exception that is not a
:class:`~kjob.errors.KjobError`: always a kjob bug).
"""

from __future__ import annotations

import enum
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kjob.errors import KjobError, SpecError, SpecErrors
from kjob.spec.loader import load_text, read_text
from kjob.spec.resolve_refs import TEMPLATE_KINDS, TemplateLibrary
from kjob.spec.templates_dir import library_of_texts, workflow_documents, yaml_files

UNSUPPORTED = "not supported by kjob yet"

# Mistakes that Argo refuses as well, each with where Argo refuses it: a file whose every error is one
# of these (or unsupported) is not counted against kjob.
ARGO_REJECTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^invalid YAML: found duplicate key"),
        "argo lint and argo submit decode YAML strictly by default (--strict): a duplicate key is an error",
    ),
    (
        re.compile(r"^missing metadata\.name or metadata\.generateName$"),
        "the Kubernetes API server refuses to create it: name or generateName is required",
    ),
)


class Outcome(enum.Enum):
    """What kjob made of one file; the value names it in JSON, the label in text."""

    NOT_WORKFLOW = "not-workflow"
    ACCEPTED = "accepted"
    UNSUPPORTED = "unsupported"
    ARGO_REJECTS = "argo-rejects"
    WRONGLY_REJECTED = "wrongly-rejected"
    CRASHED = "crashed"
    UNREADABLE = "unreadable"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.NOT_WORKFLOW: "not workflows",
    Outcome.ACCEPTED: "accepted",
    Outcome.UNSUPPORTED: "unsupported",
    Outcome.ARGO_REJECTS: "rejected as Argo",
    Outcome.WRONGLY_REJECTED: "wrongly rejected",
    Outcome.CRASHED: "crashed",
    Outcome.UNREADABLE: "unreadable",
}


@dataclass(frozen=True, slots=True)
class FileResult:
    """What kjob made of one file: its outcome, the unsupported features it uses, and its first error
    that is not about an unsupported feature (or why it crashed, or what kinds it holds instead)."""

    path: str
    outcome: Outcome
    features: tuple[str, ...] = ()
    first_error: str | None = None
    why: str | None = None  # for ARGO_REJECTS: where Argo refuses the file too

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"path": self.path, "outcome": self.outcome.value}
        if self.features:
            found["features"] = list(self.features)
        if self.first_error is not None:
            found["first_error"] = self.first_error
        if self.why is not None:
            found["argo"] = self.why
        return found


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of every file under ``directory``, in path order."""

    directory: str
    files: tuple[FileResult, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for f in self.files if f.outcome is outcome)

    def with_outcome(self, outcome: Outcome) -> list[FileResult]:
        return [f for f in self.files if f.outcome is outcome]

    @property
    def workflow_files(self) -> int:
        """Files that hold a workflow (or a template), readable or not."""
        return len(self.files) - self.count(Outcome.NOT_WORKFLOW)

    def features(self) -> list[tuple[str, int]]:
        """Each unsupported feature with the number of files that use it, most used first."""
        counts = Counter(feature for f in self.files for feature in f.features)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    @property
    def failed(self) -> bool:
        """Whether something went wrong in kjob or with the files: a crash, or a file not read."""
        return bool(self.count(Outcome.CRASHED) or self.count(Outcome.UNREADABLE))

    def as_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "files": len(self.files),
            "counts": {outcome.value: self.count(outcome) for outcome in Outcome},
            "features": [{"feature": name, "files": n} for name, n in self.features()],
            "results": [f.as_json() for f in self.files],
        }


def check_directory(directory: str) -> Report:
    """Lint every YAML file under ``directory`` (see the module's docstring)."""
    if not os.path.isdir(directory):
        what = "no such directory" if not os.path.exists(directory) else "not a directory"
        raise KjobError(f"{directory}: {what}", hint="give a directory of Argo workflow YAML files")
    texts: list[tuple[str, str]] = []
    results: dict[str, FileResult] = {}
    for path in yaml_files(directory):
        try:
            texts.append((path, read_text(path)))
        except SpecErrors as error:  # too big
            results[path] = FileResult(path, Outcome.UNREADABLE, first_error=str(error.errors[0]))
        except KjobError as error:
            results[path] = FileResult(path, Outcome.UNREADABLE, first_error=error.message)  # names path
    library, library_errors = _library(texts, origin=directory)
    for path, text in texts:
        if path in library_errors:
            results[path] = _rejected(path, [library_errors[path]])
        else:
            results[path] = check_text(path, text, library)
    return Report(directory, tuple(results[path] for path in sorted(results)))


def check_text(path: str, text: str, library: TemplateLibrary | None) -> FileResult:
    """The outcome of one file's ``text``, its templateRefs looked up in ``library``."""
    documents = workflow_documents(text)
    if documents.other_kinds and not documents.kinds:
        return FileResult(path, Outcome.NOT_WORKFLOW, first_error=", ".join(documents.other_kinds))
    try:
        load_text(documents.text, path=path, templates=library)
    except SpecErrors as error:
        return _rejected(path, error.errors)
    except KjobError as error:
        return _rejected(path, [error])
    except Exception as error:  # a crash is a kjob bug: report it, and go on with the other files
        return FileResult(path, Outcome.CRASHED, first_error=f"{path}: {type(error).__name__}: {error}")
    return FileResult(path, Outcome.ACCEPTED)


def _rejected(path: str, errors: Sequence[KjobError]) -> FileResult:
    features: list[str] = []
    others: list[KjobError] = []
    for error in errors:
        if UNSUPPORTED in error.message:
            feature = _feature(error.message)
            if feature not in features:
                features.append(feature)
        else:
            others.append(error)
    if not others:
        return FileResult(path, Outcome.UNSUPPORTED, tuple(features))
    first = _one_line(others[0])
    reasons = [_argo_rejects(error.message) for error in others]
    if all(reasons):
        return FileResult(path, Outcome.ARGO_REJECTS, tuple(features), first, reasons[0])
    wrong = next(error for error, reason in zip(others, reasons, strict=True) if reason is None)
    return FileResult(path, Outcome.WRONGLY_REJECTED, tuple(features), _one_line(wrong))


def _feature(message: str) -> str:
    """The feature an unsupported-message names: its first quoted word (a reference with its task's,
    step's or parameter's name left out, so that one feature counts once), else the message."""
    quoted = re.search(r"'([^']+)'", message)
    if quoted is None:
        return message.replace(f" is {UNSUPPORTED}", "")
    feature = quoted.group(1)
    for pattern, general in _NAMED_REFERENCES:
        feature = pattern.sub(general, feature)
    return feature


_NAMED_REFERENCES = (
    (re.compile(r"^\{\{(tasks|steps)\.(?!name\}\})[^.}]+\."), r"{{\1.<name>."),
    (
        re.compile(r"^\{\{((?:workflow\.)?(?:inputs|outputs)\.(?:parameters|artifacts))\.[^.}]+"),
        r"{{\1.<name>",
    ),
    (re.compile(r"^\{\{workflow\.creationTimestamp\.[^}]+\}\}$"), "{{workflow.creationTimestamp.<format>}}"),
)


def _argo_rejects(message: str) -> str | None:
    return next((why for pattern, why in ARGO_REJECTS if pattern.search(message)), None)


def _one_line(error: KjobError) -> str:
    text = str(error) if isinstance(error, SpecError) else error.message
    return text.splitlines()[0] if text else type(error).__name__


def _library(
    texts: Sequence[tuple[str, str]], *, origin: str
) -> tuple[TemplateLibrary | None, dict[str, SpecError]]:
    """The templates of the files that hold any, and the mistake of each file left out of them.

    A file whose templates cannot be kept (a name given twice, YAML that does not parse) is left out,
    and its mistake reported as its own; the other files' templates still make the library.
    """
    candidates = [
        (path, text)
        for path, text in texts
        if any(kind in TEMPLATE_KINDS for kind in workflow_documents(text).kinds)
    ]
    if not candidates:
        return None, {}
    try:
        return library_of_texts(candidates, origin=origin), {}
    except SpecErrors:
        pass
    kept: list[tuple[str, str]] = []
    left_out: dict[str, SpecError] = {}
    for candidate in candidates:
        try:
            library_of_texts([*kept, candidate], origin=origin)
        except SpecErrors as error:
            left_out[candidate[0]] = error.errors[0]
            continue
        kept.append(candidate)
    return (library_of_texts(kept, origin=origin) if kept else None), left_out
