"""YAML -> model: read a workflow file with ruamel.yaml, keep every position, build the frozen model.

Each document goes through :class:`_Document`, which checks the fields of every mapping against
:mod:`kjob.spec.fields`, converts values (numbers to Argo's string form, durations to seconds) and builds
:mod:`kjob.spec.model` objects with their marks.  Mistakes are collected, not raised, so that one run
shows them all; :mod:`kjob.spec.validate` then checks what needs the whole workflow.
"""

from __future__ import annotations

import datetime
import os
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kjob.errors import KjobError, SpecErrors
from kjob.spec import fields as F
from kjob.spec.durations import HINT as DURATION_HINT
from kjob.spec.durations import parse_duration
from kjob.spec.model import (
    IO,
    Artifact,
    Backoff,
    Container,
    ContinueOn,
    CronSpec,
    Dag,
    DagTask,
    EnvVar,
    Mark,
    Parameter,
    Resources,
    RetryPolicy,
    RetryStrategy,
    Sequence,
    Template,
    TemplateKind,
    Workflow,
    frozen_map,
)
from kjob.spec.validate import (
    Diagnostics,
    LoadedTemplate,
    LoadedWorkflow,
    Locator,
    Site,
    SiteKind,
    SpecWarning,
    TaskMarks,
    validate,
)

ARGO_API = "argoproj.io/v1alpha1"
KJOB_API = "kjob.dev/v1alpha1"
API_VERSIONS = (ARGO_API, KJOB_API)
KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")

_HEADER_HINT = f"add `apiVersion: {ARGO_API}` and `kind: Workflow` at the top of the document"
_NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")  # Argo's rule for template, task and step names
_PARAMETER_NAME = re.compile(r"[-a-zA-Z0-9_]+")  # and for parameter and artifact names
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*?/,\-LW#]+")
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The workflows of one file, in document order, and what was read past (``lenient``) or doubted."""

    workflows: tuple[Workflow, ...]
    warnings: tuple[SpecWarning, ...]


def load_file(path: str | os.PathLike[str], *, lenient: bool = False) -> LoadResult:
    """Load and validate every workflow document of the file at ``path``.

    Raises :class:`~kjob.errors.SpecErrors` (always that, even for one mistake) listing every mistake
    found, or a :class:`~kjob.errors.KjobError` when the file cannot be read.
    """
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
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
    return load_text(text, path=name, lenient=lenient)


def load_text(text: str, *, path: str = "<string>", lenient: bool = False) -> LoadResult:
    """Load and validate every workflow document of ``text`` (``path`` is used in messages only)."""
    diag = Diagnostics(lenient=lenient)
    source = _Source(path, text)
    loaded: list[LoadedWorkflow] = []
    documents = source.documents(diag)
    for root in documents:
        workflow = _Document(source, diag).build(root)
        if workflow is not None:
            loaded.append(workflow)
    if not documents and not diag.errors:
        diag.error(
            "no workflow in this file",
            Mark(path, 1, 1),
            hint=f"a workflow document starts with `apiVersion: {ARGO_API}` and `kind: Workflow`",
        )
    for workflow in loaded:
        validate(workflow, diag)
    if diag.errors:
        raise SpecErrors(diag.capped_errors())
    warnings = sorted(diag.warnings, key=lambda w: (w.mark.path, w.mark.line, w.mark.col))
    return LoadResult(tuple(w.workflow for w in loaded), tuple(warnings))


# --------------------------------------------------------------------------------------------------
# Source text and positions


class _Source:
    """The text of one file, its YAML documents and the marks of their nodes (1-based)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.splitlines()

    def documents(self, diag: Diagnostics) -> list[Any]:
        """The non-empty documents; a syntax error is reported and ends the reading."""
        yaml = YAML(typ="rt")
        found: list[Any] = []
        try:
            for document in yaml.load_all(self.text):
                if document is not None:
                    found.append(document)
        except MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            message = error.problem or "invalid YAML"
            context = error.context_mark
            if error.context and context is not None and mark is not None and context.line != mark.line:
                message = f"{message} ({error.context} that starts at line {context.line + 1})"
            elif error.context:
                message = f"{message} ({error.context})"
            diag.error(f"invalid YAML: {message}", Mark(self.path, line, col))
        except YAMLError as error:
            diag.error(f"invalid YAML: {error}", Mark(self.path, 1, 1))
        return found

    def mark(self, line: int, col: int) -> Mark:
        return Mark(self.path, line + 1, col + 1)

    def node(self, node: Any) -> Mark:
        lc = getattr(node, "lc", None)
        if lc is None or lc.line is None:
            return Mark(self.path, 1, 1)
        return self.mark(lc.line, lc.col)

    def key(self, node: CommentedMap, key: str) -> Mark:
        try:
            line, col = node.lc.key(key)
        except (KeyError, TypeError):
            return self.node(node)
        return self.mark(line, col)

    def value(self, node: CommentedMap, key: str) -> Mark:
        try:
            line, col = node.lc.value(key)
        except (KeyError, TypeError):
            return self.key(node, key)
        return self.mark(line, col)

    def item(self, node: CommentedSeq, index: int) -> Mark:
        try:
            line, col = node.lc.item(index)
        except (KeyError, TypeError, IndexError):
            return self.node(node)
        return self.mark(line, col)

    def locator(self, start: Mark, text: str) -> Locator:
        """Where each line of ``text`` (a scalar starting at ``start``) is in the file, when that is sure."""
        row, col = start.line - 1, start.col - 1
        if not 0 <= row < len(self.lines) or col >= len(self.lines[row]):
            return Locator(start)
        line = self.lines[row]
        first = line[col]
        if first == "|":
            return self._literal(start, text)
        if "\n" in text or first == ">":
            return Locator(start)
        skip = 1 if first in "\"'" else 0
        if line[col + skip : col + skip + len(text)] == text:
            return Locator(start, ((start.line, start.col + skip),))
        return Locator(start)

    def _literal(self, start: Mark, text: str) -> Locator:
        header = self.lines[start.line - 1][start.col - 1 :]
        if re.match(r"\|[-+]?[1-9]|\|[1-9]", header):
            return Locator(start)  # an explicit indentation indicator: rare, not worth mapping
        body = self.lines[start.line :]
        indent = next((len(b) - len(b.lstrip(" ")) for b in body if b.strip()), None)
        if indent is None:
            return Locator(start)
        positions: list[tuple[int, int]] = []
        for index, piece in enumerate(text.split("\n")):
            row = start.line + index  # 0-based row of this piece
            if piece and (row >= len(self.lines) or self.lines[row][indent:] != piece):
                return Locator(start)
            positions.append((row + 1, indent + 1))
        return Locator(start, tuple(positions))


# --------------------------------------------------------------------------------------------------
# Plain values


def plain(value: Any) -> Any:
    """A YAML value as plain Python: dict, list, str, int, float, bool or None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def argo_string(value: Any) -> str | None:
    """A scalar in the string form Argo gives it (``1000`` -> "1000", ``true`` -> "true")."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        number = float(value)
        return str(int(number)) if number.is_integer() and abs(number) < 1e16 else repr(number)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | datetime.date) or value is None


# --------------------------------------------------------------------------------------------------
# One document


class _Document:
    """Builds one workflow document; reports mistakes into ``diag`` and keeps going."""

    def __init__(self, source: _Source, diag: Diagnostics) -> None:
        self.src = source
        self.diag = diag
        self.argo = True
        self.sites: list[Site] = []
        self.current_task: str | None = None  # the task whose texts are being read
        self.item_allowed = False  # whether those texts may use ``item``

    # -- generic readers --------------------------------------------------------------------------

    def fields(self, node: CommentedMap, fields: F.FieldSet, where: str | None = None) -> None:
        keys = [str(k) for k in node]
        for issue in F.check_keys(keys, fields, where):
            # Unknown and unsupported fields alike: errors, or warnings when loading leniently.
            self.diag.unsupported(issue.message, self.src.key(node, issue.key), hint=issue.hint)

    def wrong_type(self, node: CommentedMap, key: str, expected: str, hint: str | None = None) -> None:
        self.diag.error(
            f"'{key}' must be {expected}, not {describe(node[key])}",
            self.src.value(node, key),
            hint=hint,
        )

    def mapping(self, node: CommentedMap, key: str) -> CommentedMap | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, CommentedMap):
            return value
        self.wrong_type(node, key, "a mapping")
        return None

    def sequence(self, node: CommentedMap, key: str, hint: str | None = None) -> CommentedSeq | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, CommentedSeq):
            return value
        self.wrong_type(node, key, "a list", hint)
        return None

    def string(self, node: CommentedMap, key: str) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return str(value)
        if isinstance(value, int | float | datetime.date) and not isinstance(value, bool):
            return argo_string(value)  # YAML read it as a number or a date; the field wants its text
        self.wrong_type(node, key, "a string")
        return None

    def text(self, node: CommentedMap, key: str, label: str, kind: SiteKind = SiteKind.TEXT) -> str | None:
        """A string that may hold references: read it and remember it for the reference checks."""
        value = self.string(node, key)
        if value is not None:
            self.site(value, label, self.src.value(node, key), kind)
        return value

    def site(self, text: str, label: str, start: Mark, kind: SiteKind = SiteKind.TEXT) -> None:
        locator = self.src.locator(start, text)
        self.sites.append(Site(text, label, kind, locator, self.current_task, self.item_allowed))

    def boolean(self, node: CommentedMap, key: str) -> bool | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        self.wrong_type(node, key, "true or false")
        return None

    def integer(self, node: CommentedMap, key: str, *, minimum: int = 0, strings: bool = False) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        mark = self.src.value(node, key)
        if isinstance(value, str) and strings:
            if "{{" in value or "<<" in value:
                self.diag.unsupported(f"a templated '{key}' is not supported by kjob yet", mark)
                return None
            if re.fullmatch(r"\s*[+-]?\d+\s*", value):
                value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(node, key, "a whole number")
            return None
        if value < minimum:
            self.diag.error(f"'{key}' must be at least {minimum}, not {value}", mark)
            return None
        return int(value)

    def duration(self, node: CommentedMap, key: str, *, positive: bool = False) -> float | None:
        value = node.get(key)
        if value is None:
            return None
        mark = self.src.value(node, key)
        if isinstance(value, str) and ("{{" in value or "<<" in value):
            self.diag.unsupported(f"a templated '{key}' is not supported by kjob yet", mark)
            return None
        try:
            seconds = parse_duration(value)
        except KjobError as error:
            self.diag.error(f"{error.message} for '{key}'", mark, hint=error.hint)
            return None
        if positive and seconds <= 0:
            self.diag.error(f"'{key}' must be more than zero", mark, hint=DURATION_HINT)
            return None
        return seconds

    def string_map(self, node: CommentedMap, key: str) -> Mapping[str, str]:
        value = self.mapping(node, key)
        if value is None:
            return frozen_map()
        result: dict[str, str] = {}
        for name, item in value.items():
            if not _is_scalar(item):
                self.diag.error(
                    f"'{key}.{name}' must be a string, not {describe(item)}",
                    self.src.value(value, name),
                )
                continue
            result[str(name)] = argo_string(item) or ""
        return frozen_map(result)

    def items(self, seq: CommentedSeq, what: str) -> Iterator[tuple[CommentedMap, Mark]]:
        """The mappings of a list of objects with their marks; anything else is reported."""
        for index, item in enumerate(seq):
            mark = self.src.item(seq, index)
            if isinstance(item, CommentedMap):
                yield item, mark
            else:
                self.diag.error(f"each {what} must be a mapping, not {describe(item)}", mark)

    def name(self, node: CommentedMap, mark: Mark, what: str, *, pattern: re.Pattern[str] = _NAME) -> str:
        value = self.string(node, "name")
        if value is None:
            if node.get("name") is None:
                self.diag.error(f"{what} has no name", mark, hint="add `name: ...`")
            return ""
        if not pattern.fullmatch(value):
            if pattern is _PARAMETER_NAME:
                hint = "use letters, digits, '-' and '_'"
            else:
                hint = "use letters, digits and '-', starting with a letter or digit"
            self.diag.error(f"invalid {what} name '{value}'", self.src.value(node, "name"), hint=hint)
        return value

    # -- the document -----------------------------------------------------------------------------

    def build(self, root: Any) -> LoadedWorkflow | None:
        if not isinstance(root, CommentedMap):
            self.diag.error(
                f"a workflow document must be a mapping, not {describe(root)}",
                self.src.node(root),
                hint=_HEADER_HINT,
            )
            return None
        here = self.src.node(root)
        self.fields(root, F.ROOT)
        api_version, kind = self.header(root, here)
        self.argo = api_version != KJOB_API
        meta = self.metadata(root, here, kind)
        spec = self.mapping(root, "spec")
        spec_mark = self.src.key(root, "spec") if "spec" in root else here
        if spec is None:
            if root.get("spec") is None:
                self.diag.error(
                    "missing spec", spec_mark, hint="add `spec:` with an entrypoint and templates"
                )
            return None
        cron: CronSpec | None = None
        what = "spec"
        if kind == "CronWorkflow":
            cron, workflow_spec = self.cron(spec, spec_mark)
            if workflow_spec is None:
                workflow_spec = CommentedMap()
            elif "workflowSpec" in spec:
                spec_mark = self.src.key(spec, "workflowSpec")
                what = "spec.workflowSpec"
            spec = workflow_spec
        return self.workflow(spec, spec_mark, what, api_version, kind, meta, cron, here)

    def header(self, root: CommentedMap, here: Mark) -> tuple[str, str]:
        api_version = self.string(root, "apiVersion")
        if api_version is None:
            if "apiVersion" not in root or root["apiVersion"] is None:
                self.diag.error("missing apiVersion", here, hint=_HEADER_HINT)
            api_version = ""
        elif api_version not in API_VERSIONS:
            self.diag.error(
                f"unsupported apiVersion '{api_version}'",
                self.src.value(root, "apiVersion"),
                hint=f"use {ARGO_API} (or kjob's own {KJOB_API})",
            )
        kind = self.string(root, "kind")
        if kind is None:
            if "kind" not in root or root["kind"] is None:
                self.diag.error(
                    "missing kind",
                    here,
                    hint="add `kind: Workflow` (or WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow)",
                )
            kind = ""
        elif kind not in KINDS:
            self.diag.error(
                f"unsupported kind '{kind}'",
                self.src.value(root, "kind"),
                hint=F.suggest(kind, KINDS, noun="kinds kjob reads"),
            )
        return api_version, kind

    def metadata(self, root: CommentedMap, here: Mark, kind: str) -> dict[str, Any]:
        meta = self.mapping(root, "metadata")
        node = meta if meta is not None else CommentedMap()
        if meta is not None:
            self.fields(meta, F.METADATA)
        name = self.string(node, "name")
        generate = self.string(node, "generateName")
        needs_plain_name = kind in ("WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
        if name is None and (generate is None or needs_plain_name):
            where = self.src.key(root, "metadata") if meta is not None else here
            if needs_plain_name:
                self.diag.error("missing metadata.name", where, hint="add `metadata: {name: my-workflow}`")
            else:
                self.diag.error(
                    "missing metadata.name or metadata.generateName",
                    where,
                    hint="add `metadata: {generateName: my-workflow-}`",
                )
        for key, value, suffix in (("name", name, ""), ("generateName", generate, "x")):
            if value is not None and not (_K8S_NAME.fullmatch(value + suffix) and len(value) <= 253):
                self.diag.error(
                    f"invalid metadata.{key} '{value}'",
                    self.src.value(node, key),
                    hint="use lower-case letters, digits, '-' and '.'; start and end with a letter or digit",
                )
        return {
            "name": name,
            "generate_name": generate,
            "namespace": self.string(node, "namespace"),
            "labels": self.string_map(node, "labels"),
            "annotations": self.string_map(node, "annotations"),
        }

    def cron(self, spec: CommentedMap, spec_mark: Mark) -> tuple[CronSpec, CommentedMap | None]:
        self.fields(spec, F.CRON_SPEC, "CronWorkflow spec")
        schedules: list[str] = []
        one = self.string(spec, "schedule")
        many = self.sequence(spec, "schedules")
        if one is not None and many is not None:
            self.diag.error(
                "CronWorkflow has both schedule and schedules",
                self.src.key(spec, "schedules"),
                hint="use one of schedule or schedules",
            )
        if one is not None:
            self.check_schedule(one, self.src.value(spec, "schedule"))
            schedules.append(one)
        for index, item in enumerate(many or ()):
            mark = self.src.item(many, index) if many is not None else spec_mark
            if not isinstance(item, str):
                self.diag.error(f"each schedule must be a string, not {describe(item)}", mark)
                continue
            self.check_schedule(str(item), mark)
            schedules.append(str(item))
        if one is None and many is None:
            self.diag.error(
                "CronWorkflow has no schedule",
                spec_mark,
                hint='add `schedule: "0 2 * * *"` (minute hour day-of-month month day-of-week)',
            )
        timezone = self.string(spec, "timezone")
        if timezone is not None:
            self.check_timezone(timezone, self.src.value(spec, "timezone"))
        policy = self.string(spec, "concurrencyPolicy") or "Allow"
        if policy not in CONCURRENCY_POLICIES:
            self.diag.error(
                f"unknown concurrencyPolicy '{policy}'",
                self.src.value(spec, "concurrencyPolicy"),
                hint=f"use one of: {', '.join(CONCURRENCY_POLICIES)}",
            )
        workflow_meta = self.mapping(spec, "workflowMetadata")
        labels: Mapping[str, str] = frozen_map()
        annotations: Mapping[str, str] = frozen_map()
        if workflow_meta is not None:
            self.fields(workflow_meta, F.WORKFLOW_METADATA)
            labels = self.string_map(workflow_meta, "labels")
            annotations = self.string_map(workflow_meta, "annotations")
        workflow_spec = self.mapping(spec, "workflowSpec")
        if "workflowSpec" not in spec or spec["workflowSpec"] is None:
            self.diag.error(
                "CronWorkflow has no workflowSpec",
                spec_mark,
                hint="add `workflowSpec:` with the entrypoint and templates of the workflow to run",
            )
        cron = CronSpec(
            schedules=tuple(schedules),
            timezone=timezone,
            concurrency_policy=policy,
            starting_deadline_seconds=self.integer(spec, "startingDeadlineSeconds"),
            successful_jobs_history_limit=self.integer(spec, "successfulJobsHistoryLimit"),
            failed_jobs_history_limit=self.integer(spec, "failedJobsHistoryLimit"),
            suspend=bool(self.boolean(spec, "suspend")),
            mark=spec_mark,
            workflow_labels=labels,
            workflow_annotations=annotations,
        )
        return cron, workflow_spec

    def check_schedule(self, schedule: str, mark: Mark) -> None:
        text = schedule.strip()
        if text in _CRON_MACROS or text.startswith("@every "):
            return
        parts = text.split()
        if len(parts) == 5 and all(_CRON_FIELD.fullmatch(p) for p in parts):
            return
        self.diag.error(
            f"invalid schedule '{schedule}'",
            mark,
            hint='use five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"',
        )

    def check_timezone(self, timezone: str, mark: Mark) -> None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            known = zoneinfo.available_timezones()
            if not known:
                return  # no time zone database here: leave the check to the cluster
            self.diag.error(
                f"unknown timezone '{timezone}'",
                mark,
                hint=_did_you_mean(timezone, known, "use an IANA name such as America/Los_Angeles or UTC"),
            )

    def workflow(
        self,
        spec: CommentedMap,
        spec_mark: Mark,
        what: str,
        api_version: str,
        kind: str,
        meta: dict[str, Any],
        cron: CronSpec | None,
        here: Mark,
    ) -> LoadedWorkflow:
        self.fields(spec, F.WORKFLOW_SPEC, what)
        arguments = self.io(spec, "arguments", F.ARGUMENTS, "spec", None)
        templates = self.templates(spec, spec_mark, what)
        entrypoint = self.string(spec, "entrypoint")
        entry_mark = self.src.value(spec, "entrypoint") if entrypoint is not None else None
        if entrypoint is None and kind not in ("WorkflowTemplate", "ClusterWorkflowTemplate") and templates:
            self.diag.error(f"missing {what}.entrypoint", spec_mark, hint=_entrypoint_hint(templates))
        if not templates:
            named = f" named '{entrypoint}'" if entrypoint else ""
            self.diag.error(
                f"no templates in {what}",
                spec_mark,
                hint=f"add `templates:` with at least one template{named}",
            )
        on_exit = self.string(spec, "onExit")
        pod_extra = {
            F.WORKFLOW_POD_RENAMES.get(key, key): plain(spec[key])
            for key in map(str, spec)
            if key in F.WORKFLOW_POD_FIELDS
        }
        by_name: dict[str, Template] = {}
        for loaded in templates:
            if loaded.template.name:
                by_name.setdefault(loaded.template.name, loaded.template)
        workflow = Workflow(
            api_version=api_version,
            kind=kind,
            name=meta["name"],
            generate_name=meta["generate_name"],
            namespace=meta["namespace"],
            entrypoint=entrypoint,
            templates=frozen_map(by_name),
            arguments=arguments,
            parallelism=self.integer(spec, "parallelism", minimum=1),
            on_exit=on_exit,
            active_deadline_seconds=self.duration(spec, "activeDeadlineSeconds", positive=True),
            service_account_name=self.string(spec, "serviceAccountName"),
            labels=meta["labels"],
            annotations=meta["annotations"],
            cron=cron,
            pod_extra=frozen_map(pod_extra),
            path=self.src.path,
            mark=here,
        )
        return LoadedWorkflow(
            workflow=workflow,
            templates=tuple(templates),
            argo=self.argo,
            entrypoint_mark=entry_mark,
            on_exit_mark=self.src.value(spec, "onExit") if on_exit is not None else None,
            sites=tuple(self.take_sites()),
        )

    def take_sites(self) -> list[Site]:
        sites, self.sites = self.sites, []
        return sites

    # -- templates --------------------------------------------------------------------------------

    def templates(self, spec: CommentedMap, spec_mark: Mark, what: str) -> list[LoadedTemplate]:
        seq = self.sequence(spec, "templates", hint="write `templates:` followed by `- name: ...` entries")
        if seq is None:
            return []
        outer = self.take_sites()  # workflow-level texts read so far
        loaded = [self.template(node, mark) for node, mark in self.items(seq, "template")]
        self.sites = outer
        return loaded

    def template(self, node: CommentedMap, mark: Mark) -> LoadedTemplate:
        name = self.name(node, mark, "template")
        where = f"template '{name}'" if name else "template"
        self.fields(node, F.TEMPLATE, where)
        present = [key for key in map(str, node) if key in F.TEMPLATE_BODIES and node[key] is not None]
        kind = self.body_kind(node, present, name, mark)
        inputs = self.io(node, "inputs", F.INPUTS, where, kind)
        outputs = self.io(node, "outputs", F.OUTPUTS, where, kind)
        container: Container | None = None
        dag: Dag | None = None
        steps: tuple[tuple[DagTask, ...], ...] | None = None
        task_marks: list[TaskMarks] = []
        target: Locator | None = None
        if kind in (TemplateKind.CONTAINER, TemplateKind.SCRIPT):
            container = self.container(node, kind, where)
        elif kind is TemplateKind.DAG:
            dag, target = self.dag(node, where, task_marks)
        elif kind is TemplateKind.STEPS:
            steps = self.steps(node, where)
        retry = self.retry(node)
        pod_extra = {key: plain(node[key]) for key in map(str, node) if key in F.TEMPLATE.passthrough}
        template = Template(
            name=name,
            kind=kind or TemplateKind.CONTAINER,
            dag=dag,
            steps=steps,
            container=container,
            inputs=inputs,
            outputs=outputs,
            retry_strategy=retry,
            active_deadline_seconds=self.duration(node, "activeDeadlineSeconds", positive=True),
            timeout=self.duration(node, "timeout", positive=True),
            parallelism=self.integer(node, "parallelism", minimum=1),
            pod_extra=frozen_map(pod_extra),
            mark=mark,
        )
        return LoadedTemplate(template, tuple(self.take_sites()), tuple(task_marks), target)

    def body_kind(self, node: CommentedMap, present: list[str], name: str, mark: Mark) -> TemplateKind | None:
        label = f"template '{name}'" if name else "template"
        if len(present) > 1:
            self.diag.error(
                f"{label} has both {present[0]} and {present[1]}",
                self.src.key(node, present[1]),
                hint="a template has exactly one of container, script, dag, steps: split it in two",
            )
        if present:
            return TemplateKind(present[0])
        unsupported = [key for key in map(str, node) if key in F.UNSUPPORTED_BODIES]
        if unsupported:
            if self.diag.lenient:  # the field itself became a warning, but there is nothing to run
                self.diag.error(
                    f"{label} has no body kjob can run ('{unsupported[0]}' is not supported yet)",
                    mark,
                    hint="add one of container, script, dag, steps",
                )
            return None
        self.diag.error(f"{label} has no body: add one of container, script, dag, steps", mark)
        return None

    def retry(self, node: CommentedMap) -> RetryStrategy | None:
        retry = self.mapping(node, "retryStrategy")
        if retry is None:
            return None
        mark = self.src.key(node, "retryStrategy")
        self.fields(retry, F.RETRY_STRATEGY)
        limit = self.integer(retry, "limit", strings=True)
        policy = RetryPolicy.ON_FAILURE
        name = self.string(retry, "retryPolicy")
        if name is not None:
            choices = [p.value for p in RetryPolicy]
            if name in choices:
                policy = RetryPolicy(name)
            else:
                self.diag.error(
                    f"unknown retryPolicy '{name}'",
                    self.src.value(retry, "retryPolicy"),
                    hint=f"use one of: {', '.join(choices)}",
                )
        backoff: Backoff | None = None
        backoff_node = self.mapping(retry, "backoff")
        if backoff_node is not None:
            backoff = self.backoff(backoff_node)
        return RetryStrategy(limit=limit, policy=policy, backoff=backoff, mark=mark)

    def backoff(self, node: CommentedMap) -> Backoff:
        self.fields(node, F.BACKOFF)
        factor = 1.0
        raw = node.get("factor")
        if raw is not None:
            mark = self.src.value(node, "factor")
            number: float | None = None
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                number = float(raw)
            elif isinstance(raw, str):
                try:
                    number = float(raw)
                except ValueError:
                    number = None
            if number is None:
                self.diag.error(f"'factor' must be a number, not {describe(raw)}", mark)
            elif number <= 0:
                self.diag.error(f"'factor' must be more than zero, not {argo_string(raw)}", mark)
            else:
                factor = number
        return Backoff(
            duration=self.duration(node, "duration") or 0.0,
            factor=factor,
            max_duration=self.duration(node, "maxDuration"),
            cap=self.duration(node, "cap"),
        )

    # -- container and script ---------------------------------------------------------------------

    def container(self, node: CommentedMap, kind: TemplateKind, where: str) -> Container | None:
        key = kind.value
        body = self.mapping(node, key)
        if body is None:
            return None
        mark = self.src.key(node, key)
        self.fields(body, F.SCRIPT if kind is TemplateKind.SCRIPT else F.CONTAINER, f"{key} of {where}")
        image = self.text(body, "image", "image")
        if image is None and body.get("image") is None:
            self.diag.error(
                f"{key} of {where} has no image", mark, hint="add `image: <image>`, e.g. python:3.12"
            )
        source: str | None = None
        if kind is TemplateKind.SCRIPT:
            source = self.text(body, "source", "source")
            if source is None and body.get("source") is None:
                self.diag.error(
                    f"script of {where} has no source", mark, hint="add `source: |` and the script"
                )
        extra = {k: plain(body[k]) for k in map(str, body) if k in F.CONTAINER.passthrough}
        return Container(
            image=image or "",
            command=self.words(body, "command"),
            args=self.words(body, "args"),
            env=self.env(body),
            working_dir=self.text(body, "workingDir", "workingDir"),
            resources=self.resources(body),
            source=source if kind is TemplateKind.SCRIPT else None,
            extra=frozen_map(extra),
            mark=mark,
        )

    def words(self, node: CommentedMap, key: str) -> tuple[str, ...]:
        seq = self.sequence(node, key, hint=f'write `{key}: [a, b]` or one item per line ("- a")')
        if seq is None:
            return ()
        words: list[str] = []
        for index, item in enumerate(seq):
            mark = self.src.item(seq, index)
            if isinstance(item, Mapping | list) or item is None:
                self.diag.error(f"each item of '{key}' must be a string, not {describe(item)}", mark)
                continue
            word = argo_string(item) or ""
            self.site(word, f"{key}[{index}]", mark)
            words.append(word)
        return tuple(words)

    def env(self, node: CommentedMap) -> tuple[EnvVar, ...]:
        seq = self.sequence(node, "env")
        if seq is None:
            return ()
        variables: list[EnvVar] = []
        for item, mark in self.items(seq, "env entry"):
            self.fields(item, F.ENV_VAR, "env entry")
            name = self.string(item, "name")
            if name is None:
                self.diag.error("env entry has no name", mark, hint="add `name: MY_VARIABLE`")
                continue
            raw = item.get("value")
            value: str | None = None
            if raw is not None:
                if not _is_scalar(raw):
                    self.wrong_type(item, "value", "a string")
                else:
                    value = argo_string(raw)
                    if value is not None:
                        self.site(value, f"env {name}", self.src.value(item, "value"))
            source = self.mapping(item, "valueFrom")
            if value is not None and source is not None:
                self.diag.error(
                    f"env {name} has both value and valueFrom",
                    self.src.key(item, "valueFrom"),
                    hint="use one of them",
                )
            variables.append(EnvVar(name, value, frozen_map(plain(source)) if source is not None else None))
        return tuple(variables)

    def resources(self, node: CommentedMap) -> Resources:
        body = self.mapping(node, "resources")
        if body is None:
            return Resources()
        self.fields(body, F.RESOURCES)
        return Resources(requests=self.quantities(body, "requests"), limits=self.quantities(body, "limits"))

    def quantities(self, node: CommentedMap, key: str) -> Mapping[str, str]:
        values = self.string_map(node, key)
        table = node.get(key)
        for name, value in values.items():
            if not _QUANTITY.fullmatch(value):
                mark = (
                    self.src.value(table, name)
                    if isinstance(table, CommentedMap)
                    else self.src.key(node, key)
                )
                self.diag.error(
                    f"invalid quantity '{value}' for {key}.{name}",
                    mark,
                    hint="use Kubernetes quantities such as 500m or 2 (cpu), 512Mi or 4Gi (memory)",
                )
        return values

    # -- dag and steps ----------------------------------------------------------------------------

    def dag(
        self, node: CommentedMap, where: str, task_marks: list[TaskMarks]
    ) -> tuple[Dag | None, Locator | None]:
        """The dag body, filling ``task_marks`` per task; with where its ``target`` text is."""
        body = self.mapping(node, "dag")
        if body is None:
            return None, None
        self.fields(body, F.DAG, f"dag of {where}")
        tasks: list[DagTask] = []
        seq = self.sequence(body, "tasks")
        if not seq:
            self.diag.error(f"dag of {where} has no tasks", self.src.key(node, "dag"), hint="add `tasks:`")
        for item, mark in self.items(seq or CommentedSeq(), "task"):
            task, marks = self.task(item, mark, F.DAG_TASK)
            tasks.append(task)
            task_marks.append(marks)
        fail_fast = self.boolean(body, "failFast")
        target = self.string(body, "target")
        dag = Dag(tasks=tuple(tasks), fail_fast=True if fail_fast is None else fail_fast, target=target)
        if target is None:
            return dag, None
        return dag, self.src.locator(self.src.value(body, "target"), target)

    def steps(self, node: CommentedMap, where: str) -> tuple[tuple[DagTask, ...], ...] | None:
        seq = self.sequence(node, "steps", hint="write `steps:` followed by groups: `- - name: a`")
        if seq is None:
            return None
        if not seq:
            self.diag.error(f"steps of {where} are empty", self.src.key(node, "steps"), hint="add a step")
        groups: list[tuple[DagTask, ...]] = []
        for index, group in enumerate(seq):
            mark = self.src.item(seq, index)
            if not isinstance(group, CommentedSeq):
                self.diag.error(
                    f"each entry of steps must be a list of parallel steps, not {describe(group)}",
                    mark,
                    hint="write `- - name: a` (two dashes) for a step in a group of its own",
                )
                continue
            groups.append(tuple(self.task(item, m, F.STEP)[0] for item, m in self.items(group, "step")))
        return tuple(groups)

    def task(self, node: CommentedMap, mark: Mark, fields: F.FieldSet) -> tuple[DagTask, TaskMarks]:
        noun = "task" if fields is F.DAG_TASK else "step"
        name = self.name(node, mark, noun)
        where = f"{noun} '{name}'" if name else noun
        self.fields(node, fields, where)
        template = self.string(node, "template")
        template_mark = self.src.value(node, "template") if "template" in node else mark
        if node.get("template") is None and not any(k in node for k in ("templateRef", "inline")):
            self.diag.error(f"{where} has no template", mark, hint="add `template: <name of a template>`")
        dependencies, dependency_marks = self.dependencies(node)
        depends = self.string(node, "depends")
        depends_locator = None
        if depends is not None:
            depends_locator = self.src.locator(self.src.value(node, "depends"), depends)
            if "dependencies" in node:
                marks = {k: self.src.key(node, k) for k in ("depends", "dependencies")}
                second = max(marks, key=lambda k: (marks[k].line, marks[k].col))
                self.diag.error(
                    f"{where} has both depends and dependencies",
                    self.src.key(node, second),
                    hint="use one of depends or dependencies",
                )
        with_items, sequence = self.fan_out(node, where)
        self.current_task = name
        self.item_allowed = (
            with_items is not None or sequence is not None or node.get("withParam") is not None
        )
        arguments = self.io(node, "arguments", F.ARGUMENTS, where, None)
        when = self.text(node, "when", "when", SiteKind.WHEN)
        self.item_allowed = False
        with_param = self.text(node, "withParam", "withParam", SiteKind.WITH_PARAM)
        self.current_task = None
        task = DagTask(
            name=name,
            template=template or "",
            dependencies=dependencies,
            depends=depends,
            arguments=arguments,
            when=when,
            with_items=with_items,
            with_param=with_param,
            with_sequence=sequence,
            continue_on=self.continue_on(node),
            mark=mark,
            template_mark=template_mark,
        )
        return task, TaskMarks(dependency_marks, depends_locator)

    def dependencies(self, node: CommentedMap) -> tuple[tuple[str, ...], tuple[Mark, ...]]:
        raw = node.get("dependencies")
        if isinstance(raw, str):
            self.wrong_type(node, "dependencies", "a list of task names", f"write `dependencies: [{raw}]`")
            return (), ()
        seq = self.sequence(node, "dependencies")
        names: list[str] = []
        marks: list[Mark] = []
        for index, item in enumerate(seq or ()):
            mark = self.src.item(seq, index) if seq is not None else self.src.node(node)
            if not isinstance(item, str):
                self.diag.error(f"each dependency must be a task name, not {describe(item)}", mark)
                continue
            names.append(str(item))
            marks.append(mark)
        return tuple(names), tuple(marks)

    def fan_out(self, node: CommentedMap, where: str) -> tuple[tuple[Any, ...] | None, Sequence | None]:
        present = [k for k in ("withItems", "withParam", "withSequence") if node.get(k) is not None]
        if len(present) > 1:
            self.diag.error(
                f"{where} has more than one of withItems, withParam, withSequence",
                self.src.key(node, present[1]),
                hint="use one of them",
            )
        items: tuple[Any, ...] | None = None
        seq = self.sequence(node, "withItems")
        if seq is not None:
            items = tuple(plain(item) for item in seq)
        sequence = None
        body = self.mapping(node, "withSequence")
        if body is not None:
            sequence = self.sequence_of(body, self.src.key(node, "withSequence"))
        return items, sequence

    def sequence_of(self, node: CommentedMap, mark: Mark) -> Sequence:
        self.fields(node, F.SEQUENCE)
        values: dict[str, str | None] = {}
        for key in ("count", "start", "end"):
            raw = node.get(key)
            if raw is not None and (not _is_scalar(raw) or isinstance(raw, bool)):
                self.wrong_type(node, key, "a number")
                raw = None
            values[key] = argo_string(raw)
        if values["count"] is not None and values["end"] is not None:
            self.diag.error("withSequence has both count and end", mark, hint="use count, or start and end")
        if values["count"] is None and values["end"] is None:
            self.diag.error(
                "withSequence needs count or end", mark, hint="add `count: 5` or `start: 1` and `end: 5`"
            )
        return Sequence(
            count=values["count"],
            start=values["start"],
            end=values["end"],
            format=self.string(node, "format"),
            mark=mark,
        )

    def continue_on(self, node: CommentedMap) -> ContinueOn:
        body = self.mapping(node, "continueOn")
        if body is None:
            return ContinueOn()
        self.fields(body, F.CONTINUE_ON)
        return ContinueOn(failed=bool(self.boolean(body, "failed")), error=bool(self.boolean(body, "error")))

    # -- inputs, outputs, arguments ---------------------------------------------------------------

    def io(
        self, node: CommentedMap, key: str, fields: F.FieldSet, where: str, kind: TemplateKind | None
    ) -> IO:
        body = self.mapping(node, key)
        if body is None:
            return IO()
        self.fields(body, fields, f"{key} of {where}")
        parameters = self.collect(
            body, "parameters", key, where, lambda n, m: self.parameter(n, m, key, where)
        )
        artifacts = self.collect(
            body, "artifacts", key, where, lambda n, m: self.artifact(n, m, key, where, kind)
        )
        return IO(parameters=tuple(parameters), artifacts=tuple(artifacts))

    def collect(
        self,
        body: CommentedMap,
        key: str,
        role: str,
        where: str,
        build: Callable[[CommentedMap, Mark], T | None],
    ) -> list[T]:
        seq = self.sequence(body, key, hint=f"write `{key}:` followed by `- name: ...` entries")
        built: list[T] = []
        seen: dict[str, Mark] = {}
        for item, mark in self.items(seq or CommentedSeq(), key[:-1]):
            value = build(item, mark)
            if value is None:
                continue
            name = str(getattr(value, "name", ""))
            if name in seen:
                self.diag.error(
                    f"duplicate {key[:-1]} '{name}' in {role} of {where}",
                    mark,
                    hint=f"the first one is at line {seen[name].line}",
                )
                continue
            seen[name] = mark
            built.append(value)
        return built

    def scalar_string(self, node: CommentedMap, key: str, label: str) -> str | None:
        raw = node.get(key)
        if raw is None:
            return None
        if not _is_scalar(raw):
            self.wrong_type(
                node, key, "a string, number or boolean", "quote it to pass JSON: value: '[1, 2]'"
            )
            return None
        value = argo_string(raw)
        if value is not None:
            self.site(value, label, self.src.value(node, key))
        return value

    def parameter(self, node: CommentedMap, mark: Mark, role: str, where: str) -> Parameter | None:
        name = self.name(node, mark, "parameter", pattern=_PARAMETER_NAME)
        if not name:
            return None
        self.fields(node, F.PARAMETER, f"parameter '{name}'")
        label = f"argument '{name}'" if role == "arguments" else f"{role} parameter '{name}'"
        value = self.scalar_string(node, "value", label)
        default = self.scalar_string(node, "default", f"default of '{name}'")
        enum: list[str] = []
        for option in self.sequence(node, "enum") or ():
            if not _is_scalar(option) or option is None:
                self.diag.error(f"each enum value must be a string, not {describe(option)}", mark)
                continue
            enum.append(argo_string(option) or "")
        value_from = self.mapping(node, "valueFrom")
        path: str | None = None
        fallback: str | None = None
        if value_from is not None:
            self.fields(value_from, F.VALUE_FROM, f"valueFrom of '{name}'")
            path = self.text(value_from, "path", f"path of '{name}'")
            fallback = self.scalar_string(value_from, "default", f"default of '{name}'")
            if path is not None and role != "outputs":
                self.diag.error(
                    f"valueFrom.path of {role} parameter '{name}' has no meaning",
                    self.src.key(value_from, "path"),
                    hint="valueFrom.path is for output parameters: the file the value is read from",
                )
        if role == "outputs" and value is None and path is None:
            unsupported_source = value_from is not None and any(
                str(k) in F.VALUE_FROM.unsupported for k in value_from
            )
            if not unsupported_source:
                self.diag.error(
                    f"output parameter '{name}' of {where} has no source",
                    mark,
                    hint=f"add `valueFrom: {{path: /tmp/{name}}}` and write the value to that file",
                )
        return Parameter(
            name=name,
            value=value,
            default=default,
            enum=tuple(enum),
            value_from_path=path,
            value_from_default=fallback,
            description=self.string(node, "description"),
            mark=mark,
        )

    def artifact(
        self, node: CommentedMap, mark: Mark, role: str, where: str, kind: TemplateKind | None
    ) -> Artifact | None:
        name = self.name(node, mark, "artifact", pattern=_PARAMETER_NAME)
        if not name:
            return None
        self.fields(node, F.ARTIFACT, f"artifact '{name}'")
        path = self.text(node, "path", f"path of artifact '{name}'")
        source = self.text(node, "from", "from", SiteKind.FROM)
        has_other_source = any(str(k) in F.ARTIFACT.unsupported for k in node)
        runs = kind in (TemplateKind.CONTAINER, TemplateKind.SCRIPT)
        if role in ("inputs", "outputs") and runs and path is None:
            self.diag.error(
                f"{role[:-1]} artifact '{name}' of {where} has no path",
                mark,
                hint="add `path:` with where the file is in the container",
            )
        if role == "outputs" and not runs and kind is not None and source is None and not has_other_source:
            self.diag.error(
                f"output artifact '{name}' of {where} has no source",
                mark,
                hint='add `from: "{{tasks.<task>.outputs.artifacts.<name>}}"`',
            )
        if role == "arguments" and source is None and not has_other_source:
            self.diag.error(
                f"artifact argument '{name}' has no source",
                mark,
                hint='add `from: "{{tasks.<task>.outputs.artifacts.<name>}}"`',
            )
        return Artifact(
            name=name,
            path=path,
            from_=source,
            optional=bool(self.boolean(node, "optional")),
            mark=mark,
        )


def _entrypoint_hint(templates: list[LoadedTemplate]) -> str:
    names = [t.template.name for t in templates if t.template.name]
    if not names:
        return "add `entrypoint: <name of the template to start with>`"
    drivers = [
        t.template.name for t in templates if t.template.kind in (TemplateKind.DAG, TemplateKind.STEPS)
    ]
    first = (drivers or names)[0]
    return f"add `entrypoint: {first}` (the template to start with)"


def _did_you_mean(word: str, choices: Iterable[str], otherwise: str) -> str:
    hint = F.suggest(word, choices)
    return hint if hint.startswith("did you mean") else otherwise
