"""Cross-reference checks over a loaded workflow.

The loader builds the model and hands over, per template, the texts that hold references (``Site``:
command, args, source, env values, argument values, ``when``, ``withParam``, artifact ``from``) with a
way to map a column of the text back to the file.  This module checks what needs the whole workflow:
template names, task names and dependencies, cycles, arguments against inputs, and every reference
inside those texts against what kjob can resolve at run time.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kjob.errors import TemplateError
from kjob.expr import check_when, parse_depends, parse_template
from kjob.expr.checks import expression_refs, retry_expression_refs
from kjob.spec.diagnostics import Diagnostics, listing
from kjob.spec.fields import suggest
from kjob.spec.loaded import (
    LoadedTemplate,
    LoadedWorkflow,
    Locator,
    Site,
    SiteKind,
    TaskMarks,
    is_referenced_name,
    line_of,
)
from kjob.spec.model import (
    SCHEDULED_TIME_ANNOTATION,
    DagTask,
    LifecycleHook,
    Mark,
    Parameter,
    Template,
    TemplateKind,
)

CARET_WIDTH = 100  # characters of a long line shown around the caret


def caret(text: str, column: int) -> str:
    """The line of ``text`` holding ``column`` with a caret under it (like ``TemplateError.context``);
    of a line longer than :data:`CARET_WIDTH`, the part around the caret."""
    index, offset = line_of(text, column)
    line = text.split("\n")[index] if text else ""
    if len(line) > CARET_WIDTH:
        begin = max(0, min(offset - CARET_WIDTH // 2, len(line) - CARET_WIDTH))
        shown = line[begin : begin + CARET_WIDTH]
        before, after = ("..." if begin else ""), ("..." if begin + CARET_WIDTH < len(line) else "")
        line, offset = before + shown + after, offset - begin + len(before)
    return f"    {line}\n    {' ' * offset}^"


# --------------------------------------------------------------------------------------------------
# The checks


def validate(loaded: LoadedWorkflow, diag: Diagnostics) -> None:
    """Report every cross-reference mistake of ``loaded`` into ``diag``."""
    _Checker(loaded, diag).run()


_BODY_KINDS = (TemplateKind.CONTAINER, TemplateKind.SCRIPT, TemplateKind.CONTAINER_SET, TemplateKind.RESOURCE)
_TASK_ATTRIBUTES = "status, exitCode, ip, outputs.result, outputs.parameters.<name>, outputs.artifacts.<name>"
_ROOTS = ("inputs", "tasks", "steps", "item", "workflow", "retries")
_ARGO_ONLY_ROOTS = frozenset({"pod", "node", "lastRetry", "outputs", "cronworkflow"})
_ARGO_ONLY_TASK_ATTRIBUTES = frozenset(
    {
        "startedAt",
        "finishedAt",
        "id",
        "hostNodeName",
        "phase",
        "outputs.parameters",
        "outputs.artifacts",
    }
)
_WORKFLOW_SUPPORTED = frozenset(
    {"name", "namespace", "uid", "status", "creationTimestamp", "mainEntrypoint", "serviceAccountName"}
    | {"duration", "failures"}  # known once the entrypoint has ended: in the exit handler
)
_TEMPLATE_KINDS = ("WorkflowTemplate", "ClusterWorkflowTemplate")
_WORKFLOW_ARGO_ONLY = frozenset(
    {
        "priority",
        "outputs",
        "scheduledTime",
        "parameters",
    }
)


def _is_templated(text: str) -> bool:
    """Whether ``text`` holds a reference (``{{ }}`` or ``<< >>``), so it is known only at run time."""
    return "{{" in text or "<<" in text


@dataclass(frozen=True, slots=True)
class _Problem:
    message: str
    hint: str | None = None
    unsupported: bool = False


@dataclass(slots=True)
class _Graph:
    """Tasks of one dag or steps template, by name, with what each one may read."""

    tasks: dict[str, DagTask]
    group: dict[str, int]  # steps: index of the group a step is in
    deps: Mapping[str, Sequence[str]] | None  # dag: known dependencies (None after a cycle)


class _Checker:
    def __init__(self, loaded: LoadedWorkflow, diag: Diagnostics) -> None:
        self.loaded = loaded
        self.wf = loaded.workflow
        self.diag = diag
        self.templates: Mapping[str, Template] = self.wf.templates
        self.workflow_parameters = {p.name for p in self.wf.arguments.parameters}

    # -- workflow level ---------------------------------------------------------------------------

    def run(self) -> None:
        self.check_template_names()
        self.check_entry_points()
        self.check_hooks([h for h in self.wf.hooks if not h.is_exit])
        for site in self.loaded.sites:
            self.check_site(site, None, None)
        for loaded in self.loaded.templates:
            self.check_template(loaded)

    def defined(self) -> str:
        return listing(sorted(self.templates))

    def check_template_names(self) -> None:
        first: dict[str, Template] = {}
        for loaded in self.loaded.templates:
            template = loaded.template
            if not template.name:
                continue  # reported as a template without a name
            if template.name in first:
                earlier = first[template.name].mark
                self.diag.error(
                    f"duplicate template name '{template.name}'",
                    template.mark,
                    hint=f"the first one is at line {earlier.line}; rename one of them",
                )
            else:
                first[template.name] = template

    def check_entry_points(self) -> None:
        wf = self.wf
        for role, name, mark in (
            ("entrypoint", wf.entrypoint, self.loaded.entrypoint_mark),
            ("onExit template", wf.on_exit, self.loaded.on_exit_mark),
        ):
            if name is None or mark is None or not self.templates:
                continue
            template = self.templates.get(name)
            if template is None:
                self.diag.error(
                    f"unknown {role} '{name}' (defined: {self.defined()})",
                    mark,
                    hint=self.template_hint(name),
                )
                continue
            if wf.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
                continue  # its entrypoint's inputs are given when it is submitted (`kjob run -p`)
            exit_hook = next((h for h in wf.hooks if h.is_exit and role != "entrypoint"), None)
            passed = {p.name for p in exit_hook.arguments.parameters} if exit_hook else set()
            for parameter in template.inputs.parameters:
                if (
                    _required(parameter.value, parameter.default, _unread(parameter))
                    and parameter.name not in self.workflow_parameters
                    and parameter.name not in passed
                ):
                    self.diag.error(
                        f"{role} '{name}' needs input parameter '{parameter.name}', "
                        "which spec.arguments does not give",
                        mark,
                        hint=f"add `arguments: {{parameters: [{{name: {parameter.name}, value: ...}}]}}` "
                        "to the spec, or a default to the input",
                    )
        for parameter in wf.arguments.parameters:
            self.check_enum_value(
                parameter.value, parameter.enum, f"workflow parameter '{parameter.name}'", parameter.mark
            )

    def template_hint(self, name: str) -> str:
        hint = suggest(name, self.templates, noun="templates")
        if hint.startswith("did you mean"):
            return hint
        return f"add a template named '{name}' to spec.templates"

    # -- one template -----------------------------------------------------------------------------

    def check_template(self, loaded: LoadedTemplate) -> None:
        template = loaded.template
        for parameter in template.inputs.parameters:
            if parameter.default is not None:
                self.check_enum_value(
                    parameter.default, parameter.enum, f"default of '{parameter.name}'", parameter.mark
                )
            if parameter.value is not None:
                self.check_enum_value(
                    parameter.value, parameter.enum, f"value of '{parameter.name}'", parameter.mark
                )
        self.check_output_paths(template)
        graph: _Graph | None = None
        if template.kind is TemplateKind.DAG and template.dag is not None:
            graph = self.check_dag(template, loaded.task_marks, loaded.target)
        elif template.kind is TemplateKind.STEPS and template.steps is not None:
            graph = self.check_steps(template)
        for site in loaded.sites:
            self.check_site(site, template, graph)

    def check_output_paths(self, template: Template) -> None:
        """Warn when a script's output file is never mentioned: it probably prints the value instead."""
        container = template.container
        if container is None or container.source is None:
            return
        body = "\n".join((container.source, *container.command, *container.args))
        for parameter in template.outputs.parameters:
            path = parameter.value_from_path
            if path is None or "{{" in path or "<<" in path or path in body:
                continue
            self.diag.warn(
                f"output parameter '{parameter.name}' is read from {path}, "
                f"but the script of template '{template.name}' never mentions that path",
                parameter.mark,
                hint=f"write the value to {path}, or, if the script prints it, "
                "read it as {{tasks.<task>.outputs.result}} instead",
            )

    # -- dag and steps ----------------------------------------------------------------------------

    def check_dag(
        self, template: Template, task_marks: Sequence[TaskMarks], target: Locator | None
    ) -> _Graph:
        assert template.dag is not None
        dag = template.dag
        tasks = self.index_tasks(dag.tasks)
        names = listing(sorted(tasks))
        deps: dict[str, list[str]] = {name: [] for name in tasks}
        for position, task in enumerate(dag.tasks):
            marks = task_marks[position] if position < len(task_marks) else TaskMarks()
            known = deps[task.name] if tasks.get(task.name) is task else []
            for index, dependency in enumerate(task.dependencies):
                mark = marks.dependencies[index] if index < len(marks.dependencies) else task.mark
                if dependency in tasks:
                    known.append(dependency)
                else:
                    self.diag.error(
                        f"unknown dependency '{dependency}' of task '{task.name}'",
                        mark,
                        hint=_did_you_mean(dependency, tasks, f"tasks of dag '{template.name}': {names}"),
                    )
            if task.depends is not None:
                known.extend(self.check_depends(template, task, marks.depends, tasks, names))
            self.check_task(task)
        if dag.target is not None and _is_templated(dag.target):  # its tasks are known at run time
            where = target or Locator(template.mark)
            self.check_site(Site(dag.target, "target", SiteKind.TEXT, where), template, None)
        elif dag.target is not None:
            where = target or Locator(template.mark)
            for found in re.finditer(r"\S+", dag.target):
                if found.group() not in tasks:
                    self.diag.error(
                        f"unknown target task '{found.group()}' of dag '{template.name}'",
                        where.at(dag.target, found.start()),
                        hint=_did_you_mean(found.group(), tasks, f"tasks: {names}"),
                    )
        acyclic = self.check_cycles(tasks, deps)
        return _Graph(tasks, {}, deps if acyclic else None)

    def index_tasks(self, tasks: Iterable[DagTask]) -> dict[str, DagTask]:
        index: dict[str, DagTask] = {}
        for task in tasks:
            if task.name in index:
                self.diag.error(
                    f"duplicate task name '{task.name}'",
                    task.mark,
                    hint=f"the first one is at line {index[task.name].mark.line}; task names must be unique",
                )
            else:
                index[task.name] = task
        return index

    def check_depends(
        self,
        template: Template,
        task: DagTask,
        locator: Locator | None,
        tasks: Mapping[str, DagTask],
        names: str,
    ) -> list[str]:
        text = task.depends or ""
        where = locator or Locator(task.mark)
        try:
            parsed = parse_depends(text)
        except TemplateError as error:
            self.diag.error(
                f"invalid depends expression: {error.message}",
                where.at(text, error.column),
                hint=error.hint,
                detail=caret(text, error.column),
            )
            return []
        known: list[str] = []
        for name in sorted(parsed.tasks):
            if name in tasks:
                known.append(name)
                continue
            found = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
            column = found.start() if found else 0
            self.diag.error(
                f"unknown dependency '{name}' of task '{task.name}'",
                where.at(text, column),
                hint=_did_you_mean(name, tasks, f"tasks of dag '{template.name}': {names}"),
            )
        return known

    def check_cycles(self, tasks: Mapping[str, DagTask], deps: Mapping[str, Sequence[str]]) -> bool:
        # graphlib (the standard library's, pure Python) rather than the numpy planner: checking a file
        # must not wait for numpy to load (``kjob lint`` starts in a quarter of a second).
        try:
            graphlib.TopologicalSorter({name: deps.get(name, ()) for name in tasks}).prepare()
        except graphlib.CycleError as error:
            cycle = [str(node) for node in error.args[1]]
            first = tasks.get(cycle[0]) if cycle else None
            mark = first.mark if first is not None else next(iter(tasks.values())).mark
            self.diag.error(
                f"dependency cycle: {' -> '.join(cycle)}",
                mark,
                hint="a task cannot wait for itself: remove one of these dependencies",
            )
            return False
        return True

    def check_steps(self, template: Template) -> _Graph:
        assert template.steps is not None
        flat = [step for group in template.steps for step in group]
        tasks = self.index_tasks(flat)
        group: dict[str, int] = {}
        for number, steps in enumerate(template.steps):
            for step in steps:
                group.setdefault(step.name, number)
                self.check_task(step)
        return _Graph(tasks, group, None)

    # -- one task ---------------------------------------------------------------------------------

    def check_task(self, task: DagTask) -> None:
        self.check_hooks(task.hooks)
        if not task.template:
            return  # no template named (reported by the loader), or a templateRef
        target = self.templates.get(task.template)
        if target is None and is_referenced_name(task.template):
            return  # a templateRef that did not resolve (reported by kjob.spec.resolve_refs)
        if target is None:
            self.diag.error(
                f"unknown template '{task.template}' (defined: {self.defined()})",
                task.template_mark,
                hint=self.template_hint(task.template),
            )
            return
        self.check_arguments(task, target)

    def check_hooks(self, hooks: Sequence[LifecycleHook]) -> None:
        """Every hook names a template the workflow has, and passes the inputs it requires."""
        for hook in hooks:
            if not hook.template or not self.templates:
                continue
            target = self.templates.get(hook.template)
            if target is None:
                self.diag.error(
                    f"unknown template '{hook.template}' of hook '{hook.name}' (defined: {self.defined()})",
                    hook.mark,
                    hint=self.template_hint(hook.template),
                )
                continue
            passed = {p.name for p in hook.arguments.parameters}
            for parameter in target.inputs.parameters:
                if parameter.name not in passed and _required(parameter.value, parameter.default):
                    self.diag.error(
                        f"hook '{hook.name}' does not pass input parameter '{parameter.name}' "
                        f"required by template '{target.name}'",
                        hook.mark,
                        hint="pass it under the hook: "
                        f"`arguments: {{parameters: [{{name: {parameter.name}, value: ...}}]}}`",
                    )

    def check_arguments(self, task: DagTask, target: Template) -> None:
        passed = {p.name for p in task.arguments.parameters}
        for parameter in target.inputs.parameters:
            unread = _unread(parameter)
            if parameter.name not in passed and _required(parameter.value, parameter.default, unread):
                self.diag.error(
                    f"task '{task.name}' does not pass input parameter '{parameter.name}' "
                    f"required by template '{target.name}'",
                    task.mark,
                    hint=f"pass it: `arguments: {{parameters: [{{name: {parameter.name}, value: ...}}]}}`",
                )
        declared = [p.name for p in target.inputs.parameters]
        for argument in task.arguments.parameters:
            wanted = target.inputs.parameter(argument.name)
            if wanted is None:  # Argo passes only what the template declares
                self.diag.warn(
                    f"task '{task.name}' passes parameter '{argument.name}', which template "
                    f"'{target.name}' does not declare: it is ignored",
                    argument.mark,
                    hint=_did_you_mean(
                        argument.name, declared, f"its input parameters: {', '.join(declared)}"
                    )
                    if declared
                    else f"declare it under `inputs: {{parameters: [{{name: {argument.name}}}]}}` "
                    f"of template '{target.name}'",
                )
                continue
            self.check_enum_value(argument.value, wanted.enum, f"parameter '{argument.name}'", argument.mark)
        passed_artifacts = {a.name for a in task.arguments.artifacts}
        declared_artifacts = [a.name for a in target.inputs.artifacts]
        for artifact in target.inputs.artifacts:
            needed = not artifact.optional and artifact.from_ is None and artifact.repository is None
            needed = needed and artifact.raw is None and artifact.remote is None
            if artifact.name not in passed_artifacts and needed:
                self.diag.error(
                    f"task '{task.name}' does not pass input artifact '{artifact.name}' "
                    f"required by template '{target.name}'",
                    task.mark,
                    hint=f"pass it: `arguments: {{artifacts: [{{name: {artifact.name}, from: ...}}]}}`",
                )
        for given in task.arguments.artifacts:
            if target.inputs.artifact(given.name) is None:
                self.diag.warn(
                    f"task '{task.name}' passes artifact '{given.name}', which template "
                    f"'{target.name}' does not declare: it is ignored",
                    given.mark,
                    hint=_did_you_mean(
                        given.name,
                        declared_artifacts,
                        f"its input artifacts: {', '.join(declared_artifacts)}",
                    )
                    if declared_artifacts
                    else f"declare it under `inputs: {{artifacts: [{{name: {given.name}, path: ...}}]}}` "
                    f"of template '{target.name}'",
                )

    def check_enum_value(self, value: str | None, allowed: Sequence[str], what: str, mark: Mark) -> None:
        if value is None or not allowed or value in allowed or "{{" in value or "<<" in value:
            return
        self.diag.error(
            f"{what} is '{value}', which is not one of its enum values",
            mark,
            hint=f"use one of: {', '.join(allowed)}",
        )

    # -- references inside texts ------------------------------------------------------------------

    def check_site(self, site: Site, template: Template | None, graph: _Graph | None) -> None:
        text = site.text
        try:
            if site.kind is SiteKind.WHEN:
                refs = tuple(check_when(text, argo_braces=self.loaded.argo))
            elif site.kind is SiteKind.EXPRESSION:
                refs = expression_refs(text)
            elif site.kind is SiteKind.RETRY_EXPRESSION:
                refs = retry_expression_refs(text, argo_braces=self.loaded.argo)
            else:
                refs = tuple(parse_template(text, argo_braces=self.loaded.argo).refs)
        except TemplateError as error:
            self.diag.error(
                f"invalid {site.field}: {error.message}",
                site.locator.at(text, error.column),
                hint=error.hint,
                detail=caret(text, error.column),
            )
            return
        if site.kind is SiteKind.FROM:
            self.check_from(site, [r.path for r in refs])
        if site.kind is SiteKind.WITH_PARAM and parse_template(text, argo_braces=self.loaded.argo).is_literal:
            self.check_literal_list(site)
        for ref in refs:
            problem = self.check_ref(ref.path, site, template, graph)
            if problem is None:
                continue
            mark = site.locator.at(text, ref.column)
            if problem.unsupported:
                self.diag.unsupported(problem.message, mark, hint=problem.hint)
            else:
                self.diag.error(problem.message, mark, hint=problem.hint)

    def check_from(self, site: Site, paths: Sequence[str]) -> None:
        text = site.text.strip()
        opener, closer = ("{{", "}}") if self.loaded.argo else ("<<", ">>")
        single = len(paths) == 1 and text.startswith(opener) and text.endswith(closer)
        if single and ".artifacts." in f".{paths[0]}.":
            return
        self.diag.error(
            "'from' must be a single artifact reference",
            site.locator.start,
            hint=f'write `from: "{opener}tasks.<task>.outputs.artifacts.<name>{closer}"`',
        )

    def check_literal_list(self, site: Site) -> None:
        import json  # here: only a literal withParam needs it, and it costs start-up

        try:
            value = json.loads(site.text)
        except ValueError:
            value = None
        except RecursionError:  # how deep depends on the caller's stack: never a traceback
            self.diag.error("withParam is JSON nested too deep to read", site.locator.start)
            return
        if not isinstance(value, list):
            self.diag.error(
                "withParam must be a JSON list or a reference to one",
                site.locator.start,
                hint='write `withParam: "{{tasks.<task>.outputs.result}}"` or use withItems for a fixed list',
            )

    def show(self, path: str) -> str:
        return f"{{{{{path}}}}}" if self.loaded.argo else f"<<{path}>>"

    def check_ref(
        self, path: str, site: Site, template: Template | None, graph: _Graph | None
    ) -> _Problem | None:
        parts = path.split(".")
        root = parts[0]
        if root == "item":
            return self.check_item(parts, site)
        if root == "inputs":
            return self.check_inputs(parts, path, template)
        if root in ("tasks", "steps"):
            return self.check_task_ref(parts, path, site, template, graph)
        if root == "workflow":
            return self.check_workflow_ref(parts, path)
        if root == "retries" and len(parts) == 1:
            if template is not None and template.kind in _BODY_KINDS:
                return None
            return _Problem(
                f"'{self.show(path)}' is not supported by kjob here yet",
                "use it in a container or script",
                True,
            )
        if _reads_output_path(parts, template):
            return None  # the file an output is read from, inside the container
        if root in _ARGO_ONLY_ROOTS:
            return _Problem(f"'{self.show(path)}' is not supported by kjob yet", None, True)
        return _Problem(
            f"unknown variable '{path}' in {self.show(path)}",
            f"references start with one of: {', '.join(_ROOTS)}",
        )

    def check_item(self, parts: Sequence[str], site: Site) -> _Problem | None:
        if not site.item_allowed:
            if site.kind is SiteKind.WITH_PARAM:
                return _Problem(
                    f"'{self.show('item')}' has no value in withParam: the items come from withParam",
                    "refer to a task output or a workflow parameter holding a JSON list",
                )
            if site.task is not None:
                return _Problem(
                    f"'{self.show('item')}' is used in task '{site.task}', which does not fan out",
                    "add withItems, withParam or withSequence to the task",
                )
            return _Problem(
                f"'{self.show('item')}' is only defined in the arguments or `when` of a fanned-out task",
                "pass the item to this template as an input parameter and use "
                f"{self.show('inputs.parameters.<name>')}",
            )
        if len(parts) > 2:
            return _Problem(
                f"'{self.show('.'.join(parts))}' is not supported by kjob yet", "use item.<key>", True
            )
        return None

    def check_inputs(self, parts: Sequence[str], path: str, template: Template | None) -> _Problem | None:
        if template is None:
            return _Problem(
                f"'{self.show(path)}' has no template inputs here", "use workflow.parameters.<name>"
            )
        if len(parts) >= 3 and parts[1] == "parameters":
            name = ".".join(parts[2:])
            if template.inputs.parameter(name) is not None:
                return None
            declared = [p.name for p in template.inputs.parameters]
            return _Problem(
                f"template '{template.name}' has no input parameter '{name}'",
                _did_you_mean(name, declared, f"declared input parameters: {', '.join(declared)}")
                if declared
                else f"declare it: `inputs: {{parameters: [{{name: {name}}}]}}`",
            )
        if len(parts) in (3, 4) and parts[1] == "artifacts":
            name = parts[2]
            if template.inputs.artifact(name) is None:
                declared = [a.name for a in template.inputs.artifacts]
                return _Problem(
                    f"template '{template.name}' has no input artifact '{name}'",
                    _did_you_mean(name, declared, f"declared input artifacts: {', '.join(declared)}")
                    if declared
                    else f"declare it: `inputs: {{artifacts: [{{name: {name}, path: ...}}]}}`",
                )
            in_body = template.kind in _BODY_KINDS
            if in_body and len(parts) == 3:
                return _Problem(
                    f"'{self.show(path)}' has no value inside a container",
                    f"use {self.show(path + '.path')} for the file's location",
                )
            if not in_body and len(parts) == 4:
                return _Problem(f"'{self.show(path)}' is not supported by kjob yet", None, True)
            if len(parts) == 4 and parts[3] != "path":
                return _Problem(
                    f"unknown variable '{path}'", f"did you mean {self.show('.'.join(parts[:3]) + '.path')}?"
                )
            return None
        if parts == ["inputs", "parameters"] or parts == ["inputs", "artifacts"]:
            return _Problem(
                f"'{self.show(path)}' is not supported by kjob yet", "refer to one input by name", True
            )
        return _Problem(
            f"unknown variable '{path}'",
            "use inputs.parameters.<name> or inputs.artifacts.<name>",
        )

    def check_workflow_ref(self, parts: Sequence[str], path: str) -> _Problem | None:
        rest = parts[1:]
        if len(rest) == 1 and rest[0] in _WORKFLOW_SUPPORTED:
            return None
        scheduled = self.wf.cron is not None or SCHEDULED_TIME_ANNOTATION in self.wf.annotations
        if rest == ["scheduledTime"] and scheduled:
            return None  # a CronWorkflow's run's (or given, as Argo reads it, by the annotation)
        if len(rest) >= 2 and rest[0] == "parameters":
            name = ".".join(rest[1:])
            if name in self.workflow_parameters:
                return None
            if name == "json":  # all of them as a JSON list of {name, value}, as in Argo
                return None
            if self.wf.kind in _TEMPLATE_KINDS:
                return None  # a WorkflowTemplate's may also be given by the workflow that runs it
            declared = sorted(self.workflow_parameters)
            return _Problem(
                f"workflow parameter '{name}' is not declared",
                _did_you_mean(name, declared, f"declared: {', '.join(declared)}")
                if declared
                else f"declare it: `spec: {{arguments: {{parameters: [{{name: {name}, value: ...}}]}}}}`",
            )
        if rest in (["labels"], ["annotations"], ["labels", "json"], ["annotations", "json"]):
            return None  # all of them, as a JSON object
        if len(rest) == 3 and rest[0] == "outputs" and rest[1] in ("parameters", "artifacts"):
            return self.check_global_output(rest[1], rest[2])
        if len(rest) >= 2 and rest[0] in ("labels", "annotations"):
            return self.check_metadata_ref(rest[0], ".".join(rest[1:]))
        if rest and (rest[0] in _WORKFLOW_ARGO_ONLY or rest[0] == "creationTimestamp"):
            return _Problem(f"'{self.show(path)}' is not supported by kjob yet", None, True)
        return _Problem(
            f"unknown variable '{path}'",
            "workflow variables: name, namespace, uid, status, parameters.<name>, labels.<key>, "
            "annotations.<key>",
        )

    def check_global_output(self, kind: str, name: str) -> _Problem | None:
        """``workflow.outputs.<kind>.<name>``: some template's output must have that ``globalName``."""
        declared = sorted(
            {
                o.global_name
                for t in self.templates.values()
                for o in (t.outputs.parameters if kind == "parameters" else t.outputs.artifacts)
                if o.global_name
            }
        )
        if name in declared:
            return None
        noun = "parameter" if kind == "parameters" else "artifact"
        return _Problem(
            f"no output {noun} has globalName '{name}'",
            _did_you_mean(name, declared, f"globalNames: {', '.join(declared)}")
            if declared
            else f"give an output {noun} `globalName: {name}`",
        )

    def check_metadata_ref(self, kind: str, key: str) -> _Problem | None:
        """``workflow.labels.KEY`` / ``workflow.annotations.KEY``: a key of the workflow's metadata."""
        values = self.wf.labels if kind == "labels" else self.wf.annotations
        if key in values:
            return None
        defined = sorted(values)
        return _Problem(
            f"the workflow has no {kind[:-1]} '{key}'",
            _did_you_mean(key, defined, f"its {kind}: {', '.join(defined)}")
            if defined
            else f"set it under `metadata: {{{kind}: {{{key}: ...}}}}`",
        )

    def check_task_ref(
        self,
        parts: Sequence[str],
        path: str,
        site: Site,
        template: Template | None,
        graph: _Graph | None,
    ) -> _Problem | None:
        root = parts[0]
        if len(parts) == 2 and parts[1] == "name":
            # Argo's name of the task or step that called this template, in the template's body
            hint = "pass the name to the template as an input parameter"
            return _Problem(f"'{self.show(path)}' is not supported by kjob yet", hint, True)
        wanted = TemplateKind.DAG if root == "tasks" else TemplateKind.STEPS
        if template is None or graph is None or template.kind is not wanted:
            where = "a dag template" if root == "tasks" else "a steps template"
            other = "steps" if root == "tasks" else "tasks"
            if template is not None and template.kind in (TemplateKind.DAG, TemplateKind.STEPS):
                hint = f"this is a {template.kind.value} template: use {other}.<name>"
            else:
                hint = "pass the value to this template as an input parameter"
            return _Problem(f"'{self.show(path)}' can only be used in {where}", hint)
        if len(parts) < 2:
            return _Problem(f"unknown variable '{path}'", f"write {root}.<name>.outputs.result or similar")
        name = parts[1]
        task = graph.tasks.get(name)
        if task is None:
            noun = "task" if root == "tasks" else "step"
            names = listing(sorted(graph.tasks))
            return _Problem(
                f"unknown {noun} '{name}' in {self.show(path)}",
                _did_you_mean(name, graph.tasks, f"{noun}s of template '{template.name}': {names}"),
            )
        order = self.check_order(name, root, site, graph)
        if order is not None:
            return order
        return self.check_task_attribute(task, parts[2:], path, root)

    def check_order(self, name: str, root: str, site: Site, graph: _Graph) -> _Problem | None:
        """A task may only read tasks it (transitively) depends on; a step only earlier groups."""
        reader = site.task
        if reader is None:
            return None
        if root == "tasks":
            if graph.deps is None or reader not in graph.deps or _reaches(graph.deps, reader, name):
                return None
            if name == reader:
                return _Problem(
                    f"task '{reader}' reads its own outputs", "a task can only read tasks it depends on"
                )
            return _Problem(
                f"task '{reader}' uses tasks.{name} but does not depend on it",
                f"add '{name}' to the dependencies of '{reader}'",
            )
        mine, theirs = graph.group.get(reader), graph.group.get(name)
        if mine is None or theirs is None or theirs < mine:
            return None
        return _Problem(
            f"step '{reader}' uses steps.{name}, which does not run before it",
            f"move '{name}' to an earlier group of steps",
        )

    def check_task_attribute(
        self, task: DagTask, rest: Sequence[str], path: str, root: str
    ) -> _Problem | None:
        attribute = ".".join(rest)
        if attribute in ("status", "exitCode", "outputs.result"):
            return None
        if attribute == "outputs.parameters" and task.fans_out:
            return None  # a loop's outputs as one JSON array of {name: value} objects, one per item
        if attribute == "ip":
            return self.check_ip(task, path)
        if attribute in _ARGO_ONLY_TASK_ATTRIBUTES:
            return _Problem(f"'{self.show(path)}' is not supported by kjob yet", None, True)
        if len(rest) >= 3 and rest[0] == "outputs" and rest[1] in ("parameters", "artifacts"):
            return self.check_output(task, rest[1], ".".join(rest[2:]), root)
        return _Problem(f"unknown variable '{path}'", f"after {root}.{task.name} come: {_TASK_ATTRIBUTES}")

    def check_ip(self, task: DagTask, path: str) -> _Problem | None:
        """``tasks.X.ip``: the address of a daemon's pod, known while it runs; Argo's validator too
        knows it of a daemon only."""
        target = self.templates.get(task.template)
        if target is None or target.daemon:
            return None
        return _Problem(
            f"'{self.show(path)}' is known only for a daemon, and template '{target.name}' is not one",
            f"add `daemon: true` to template '{target.name}' (a pod that keeps running), as Argo requires",
        )

    def check_output(self, task: DagTask, kind: str, name: str, root: str) -> _Problem | None:
        target = self.templates.get(task.template)
        if target is None:
            return None  # reported as an unknown template already
        if kind == "parameters":
            declared = [p.name for p in target.outputs.parameters]
        else:
            declared = [a.name for a in target.outputs.artifacts]
        if name in declared:
            return None
        singular = kind[:-1]
        if declared:
            hint = _did_you_mean(name, declared, f"it declares output {kind}: {', '.join(declared)}")
        else:
            hint = f"template '{target.name}' declares no output {kind}"
            if kind == "parameters" and target.kind in _BODY_KINDS:
                result = self.show(f"{root}.{task.name}.outputs.result")
                hint += f"; to use what the task prints, write {result}"
        return _Problem(
            f"task '{task.name}' (template '{target.name}') has no output {singular} '{name}'", hint
        )


def _reads_output_path(parts: Sequence[str], template: Template | None) -> bool:
    """``outputs.parameters.NAME.path`` / ``outputs.artifacts.NAME.path`` of an output the container
    template declares."""
    if template is None or template.kind not in _BODY_KINDS or len(parts) != 4 or parts[3] != "path":
        return False
    return parts[0] == "outputs" and template.output_path(parts[1], parts[2]) is not None


def _unread(parameter: Parameter) -> str | None:
    """A source of the parameter's value kjob reads only at run time, or cannot read."""
    return parameter.value_from_unread or ("configMapKeyRef" if parameter.value_from_config_map else None)


def _required(value: str | None, default: str | None, unread: str | None = None) -> bool:
    """Whether a parameter needs a value given: it has none, nor a source kjob reports unsupported."""
    return value is None and default is None and unread is None


def _did_you_mean(word: str, choices: Iterable[str], otherwise: str) -> str:
    hint = suggest(word, choices)
    return f"{hint} ({otherwise})" if hint.startswith("did you mean") else otherwise


def _reaches(deps: Mapping[str, Sequence[str]], start: str, goal: str) -> bool:
    """Whether ``goal`` is among the transitive dependencies of ``start``."""
    direct = deps.get(start, ())
    if goal in direct:
        return True
    seen = set(direct)
    stack = list(direct)
    while stack:
        for dependency in deps.get(stack.pop(), ()):
            if dependency == goal:
                return True
            if dependency not in seen:
                seen.add(dependency)
                stack.append(dependency)
    return False
