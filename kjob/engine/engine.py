"""The run state machine: dispatches tasks as soon as their dependencies allow, applies ``when``,
fan-out, retries with backoff, parallelism limits, failFast, continueOn, deadlines and the exit handler,
and passes outputs on.  It never talks to a cluster: a :class:`~kjob.backends.base.Backend` runs the
attempts and owns the clock, so the same engine runs in virtual time under test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import itertools
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from kjob.backends.base import (
    AttemptEvent,
    AttemptFinished,
    AttemptPhase,
    AttemptReady,
    AttemptSpec,
    AttemptStarted,
    AttemptWaiting,
    Backend,
    InputArtifact,
    OutputArtifactSpec,
    OutputParameterSpec,
    ResourceOutputSpec,
)
from kjob.backends.coordination import Locks, MemoCache, MemoryLocks, MemoryMemo
from kjob.engine.aggregate import aggregate
from kjob.engine.bulk import BulkReport, collector_paused, reported
from kjob.engine.failures import workflow_failures
from kjob.engine.gate import Gate
from kjob.engine.hooks import hook_due, supplied_outputs, task_env, workflow_env
from kjob.engine.inprocess import HttpRequest, InProcess, decode_body
from kjob.engine.inputs import ConfigMaps, InputSource, config_map_value, input_sources
from kjob.engine.lookup import (
    Lookup,
    WorkflowInfo,
    container_lookup,
    item_text,
    own_lookup,
    scope_lookup,
    template_lookup,
)
from kjob.engine.metrics import MetricsLog, node_lookup
from kjob.engine.outputs import expression_value, scope_outputs
from kjob.engine.queue import AttemptQueue
from kjob.engine.remote_inputs import remote_input, rendered
from kjob.engine.rerun import Rerun
from kjob.engine.retry import LastRetry, decide_retry, retry_expression_holds
from kjob.engine.skip_reason import depends_false, when_false
from kjob.engine.state import NO_ITEM, AttemptRecord, Node, Phase, Scope
from kjob.engine.substitute import (
    AttemptFill,
    PartsFill,
    compile_attempt,
    compile_pod_parts,
    compile_resource,
    render_tree,
)
from kjob.errors import KjobError, TemplateError
from kjob.expr import evaluate_when, parse_depends, render
from kjob.graph import task_graph
from kjob.limits import FAN_OUT_ITEMS, NESTING, RENDERED_CHARS
from kjob.spec.durations import parse_duration
from kjob.spec.model import (
    IO,
    SCHEDULED_TIME_ANNOTATION,
    Container,
    DagTask,
    LifecycleHook,
    Parameter,
    Resource,
    Template,
    Workflow,
    pod_fields,
)

_NO_CONTAINER = Container(image="")  # a resource template's attempts run no container


class Observer(Protocol):
    """Told about every change of a node's phase or message (progress display, run record)."""

    def node_changed(self, node: Node) -> None: ...


class IdleObserver(Observer, Protocol):
    """An observer also told, about once a second while nothing happens, that the run is idle (the run
    record writes then what changed since its last write)."""

    def idle(self) -> None: ...


@dataclass
class RunResult:
    """How a run ended.  ``phase`` is Succeeded, Failed or Error; ``nodes`` in creation order."""

    run_id: str
    phase: Phase
    message: str
    nodes: list[Node]
    started_at: float
    finished_at: float
    interrupted: bool = False
    detached: bool = False  # interrupted, with its running attempts left running (to resume later)
    # the outputs given a ``globalName``: {"parameters": {...}, "artifacts": {...}}
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    # the custom metrics (``metrics.prometheus``) as evaluated, as the run record lists them
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.phase is Phase.SUCCEEDED


# A poll that brings more events than this (a fan-out's batch ending) is taken in with the cycle
# collector paused (see kjob.engine.bulk).
_BULK_EVENTS = 1000

MAX_WAIT = 3600.0  # seconds the engine asks a backend to wait at most, then asks again
CONTROL_EVERY = 1.0  # seconds between looks at EngineOptions.control while nothing happens


@dataclass
class EngineOptions:
    parameters: Mapping[str, str] = field(default_factory=dict)
    parallelism: int | None = None
    namespace: str = "default"
    uid: str = ""
    # Asked on an interrupt: True leaves the running attempts running (the run can be resumed), False
    # stops them.  None: always stop.
    detach_on_interrupt: Callable[[], bool] | None = None
    # Asked between steps (about once a second when idle): ``"stop"`` (no new tasks, running ones
    # stopped, the exit handler runs) or ``"terminate"`` (the same without the exit handler), else None.
    control: Callable[[], str | None] | None = None
    # ``kjob retry``: which nodes run again (see kjob.engine.rerun); None: replay nothing again.
    rerun: Rerun | None = None
    # A resumed run's nodes that had an attempt before (and the nodes around them): under a stop they
    # are still submitted, so the backend replays how they ended (or stops what still runs), instead
    # of being recorded as never started.
    started_before: Collection[str] = frozenset()
    # Told how far a fan-out's items are made and handed over (what, done, total): a progress bar.
    on_bulk: BulkReport | None = None
    # ``kjob resume RUN --node NAME``: the requests made so far, by request id: (node, values for its
    # supplied outputs).  Read between steps while a node is suspended; each request applies once.
    resumes: Callable[[], Mapping[str, tuple[str, Mapping[str, str]]]] | None = None
    # The value of a Secret's key (name, key), for an http template's secretKeyRef headers (None: no
    # cluster to read it from).
    secrets: Callable[[str, str], str] | None = None
    # A ConfigMap's key (name, key), for valueFrom.configMapKeyRef parameters: None if it is not there
    # (None: no cluster to read it from)
    config_maps: ConfigMaps | None = None
    # A dry run: http requests are not sent and suspends do not wait (they succeed at once, their
    # outputs ``<run-time: ...>`` placeholders).
    rehearsal: bool = False
    # Where ``synchronization`` locks and ``memoize`` caches are kept (the backend's); None: in this
    # process only (locks shared by nothing but this run).
    locks: Locks | None = None
    memo: MemoCache | None = None
    # workflow.scheduledTime of a CronWorkflow's run made by a CronJob (None: the run's start)
    scheduled_time: str | None = None


@dataclass
class _Slots:
    """The parallelism slots one submission holds: 1 for an attempt, up to the batch's parallelism
    for a fan-out handed over whole."""

    slots: int
    unfinished: int


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What every attempt of one template shares: its container and pod fields parsed, its output
    specs, its input artifacts' paths, its deadline.  A fan-out works them out once, not once an item."""

    template: Template
    fill: AttemptFill
    output_parameters: tuple[OutputParameterSpec, ...]
    output_artifacts: tuple[OutputArtifactSpec, ...]
    artifact_paths: dict[str, str]
    deadline: float | None
    parts: PartsFill
    resource: Callable[[Lookup, int], Resource] | None = None
    resource_outputs: tuple[ResourceOutputSpec, ...] = ()

    @classmethod
    def of(
        cls,
        template: Template,
        workflow_pod_fields: Mapping[str, Any],
        *,
        argo: bool,
        workflow_patch: str | None = None,
    ) -> _Prepared:
        assert template.is_leaf
        return cls(
            template=template,
            fill=compile_attempt(
                template.container or _NO_CONTAINER,
                pod_fields(workflow_pod_fields, template.pod_extra),
                argo=argo,
            ),
            output_parameters=tuple(
                OutputParameterSpec(p.name, p.value_from_path, p.value_from_default)
                for p in template.outputs.parameters
                if p.value_from_path is not None
            ),
            output_artifacts=tuple(
                OutputArtifactSpec(a.name, a.path or "", a.optional) for a in template.outputs.artifacts
            ),
            artifact_paths={a.name: a.path or "" for a in template.inputs.artifacts},
            deadline=template.deadline,
            parts=compile_pod_parts(template, workflow_patch, argo=argo),
            resource=compile_resource(template.resource, argo=argo) if template.resource else None,
            resource_outputs=tuple(
                ResourceOutputSpec(
                    p.name, p.value_from_json_path, p.value_from_jq_filter, p.value_from_default
                )
                for p in template.outputs.parameters
                if p.value_from_json_path is not None or p.value_from_jq_filter is not None
            ),
        )


class Engine:
    """Runs one workflow to the end on one backend."""

    def __init__(
        self,
        workflow: Workflow,
        backend: Backend,
        *,
        run_id: str,
        options: EngineOptions | None = None,
        observers: Iterable[Observer] = (),
    ) -> None:
        self.workflow = workflow
        self.backend = backend
        self.run_id = run_id
        self.options = options or EngineOptions()
        self.observers = list(observers)
        self._idlers = [cast(IdleObserver, o) for o in self.observers if callable(getattr(o, "idle", None))]
        self.nodes: list[Node] = []
        self.info = WorkflowInfo(
            name=run_id,
            namespace=self.options.namespace,
            uid=self.options.uid,
            main_entrypoint=workflow.entrypoint or "",
            service_account_name=workflow.service_account_name or "",
            parameters=resolve_workflow_parameters(
                workflow, self.options.parameters, self.options.config_maps or _NO_CLUSTER
            ),
            labels=workflow.labels,
            annotations=workflow.annotations,
        )
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, str, Node | None]] = []
        self._queue = AttemptQueue()
        self._inproc = InProcess(self.backend.now)  # http and suspend attempts, run by kjob itself
        self._hook_owner: dict[Node, Node | None] = {}  # hook node -> its task's node (None: workflow's)
        self._hooks_started: set[tuple[int, str]] = set()  # (id of the owner node, or 0, hook name)
        self._holding: set[Node] = set()  # ended nodes whose exit hooks run before they count as ended
        self._firing = False
        # running nodes with hooks whose expression has not held yet: looked at again every step, as
        # Argo evaluates them at every reconciliation (an expression may read other tasks' state)
        self._watching: dict[Node, None] = {}
        self._resumes_done: set[str] = set()
        self._running: dict[str, Node] = {}  # attempt id -> node
        # daemons that are ready (their node succeeded) and still run: attempt id -> node
        self._daemons: dict[str, Node] = {}
        self._held: dict[str, _Slots] = {}  # attempt id -> the slots its submission holds
        self._occupied = 0  # slots held against the workflow-wide parallelism limit
        # dag/steps nodes that hold one of their scope's parallelism slots while they run
        self._nested_running: set[Node] = set()
        self._unbatchable: set[tuple[int, int]] = set()  # (id(group), attempt) the backend refused
        self._limit = self.options.parallelism or workflow.parallelism
        # Argo files also use {{ ref }}; kjob's own files only << ref >> (so {{ }} stays Helm's).
        self.argo = is_argo(workflow)
        self._stop_reason = ""
        self._stopped = ""  # why a stop request ended the run, once its exit handler may run
        self._no_exit_handler = False  # terminated: the exit handler does not run
        self._rerun = self.options.rerun
        self._interrupted = False
        self._detached = False
        self._exit_node: Node | None = None
        self._root: Node | None = None
        self._prepared_templates: dict[str, _Prepared] = {}  # by template name
        # id(task) -> (the task, the template it calls, its input parameters' sources)
        self._sources: dict[int, tuple[DagTask, Template, list[InputSource]]] = {}
        # The longest text a reference may render to: read from the environment once per step of
        # the run, not once per text (a fan-out renders a few texts an item).
        self._max_chars = RENDERED_CHARS.value
        self._metrics = MetricsLog(self._render, argo=self.argo)
        self._started = self.backend.now()
        self._gate = Gate(
            self.options.locks or MemoryLocks(), self.options.memo or MemoryMemo(), self.info.namespace
        )
        self._lock_waiters: dict[Node, None] = {}  # nodes waiting for their locks, oldest first
        self._locks_freed = False  # a lock was given back (or it is time to try again): wake waiters
        self._memo_keys: dict[Node, str] = {}  # a memoized node that runs -> its rendered key
        self._run_locked = not workflow.synchronization  # the workflow's own locks are held
        self._waits = 0  # how many times a node was refused a lock (see _wake_waiters)

    def _scheduled_time(self, created: str) -> str | None:
        """``workflow.scheduledTime``: as Argo reads it from the Workflow's annotation (a CronWorkflow
        sets it as it fires; ``argo submit --from cronwf`` to the time of submission)."""
        given = self.workflow.annotations.get(SCHEDULED_TIME_ANNOTATION)
        if given is not None:
            return given
        if self.workflow.cron is None:
            return None
        return self.options.scheduled_time or created

    def _render(self, text: str, lookup: Lookup) -> str:
        return render(text, lookup, argo_braces=self.argo, max_chars=self._max_chars)

    # ----------------------------------------------------------------------------------------- run
    def run(self) -> RunResult:
        """Run the workflow until every node has finished, and return how it ended."""
        started = self._started = self.backend.now()
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._wall(started)))  # a monotonic clock
        self.info = dataclasses.replace(self.info, created=created)  # workflow.creationTimestamp
        self.info = dataclasses.replace(self.info, scheduled=self._scheduled_time(created))
        if self.workflow.active_deadline_seconds is not None:
            self._add_timer(started + self.workflow.active_deadline_seconds, "deadline", None)
        self._start_root(self._entrypoint())
        try:
            self._loop()
        except KeyboardInterrupt:
            ask = self.options.detach_on_interrupt
            if ask is not None and ask():
                self._interrupted = self._detached = True
            else:
                self.interrupt("interrupted by user")
                self._loop()
        phase, message = self._final_phase()
        if not self._detached:
            self._gate.leave_all()
            self._workflow_metrics(phase, started)
        return RunResult(
            run_id=self.run_id,
            phase=phase,
            message=message,
            nodes=list(self.nodes),
            started_at=started,
            finished_at=self.backend.now(),
            interrupted=self._interrupted,
            detached=self._detached,
            outputs=_global_outputs(self.info),
            metrics=self._metrics.records(),
        )

    def _workflow_metrics(self, phase: Phase, started: float) -> None:
        """``spec.metrics``, as the run ends: over its entrypoint's node and the final workflow values."""
        if not self.workflow.metrics or self._root is None:
            return
        now = self.backend.now()
        info = dataclasses.replace(self.info, status=_workflow_status(phase), duration=f"{now - started:f}")
        self._metrics.emit(self.workflow.metrics, node_lookup(self._root, info, now, started), "")

    def _loop(self) -> None:
        control = self.options.control
        while not self._done():
            self._max_chars = RENDERED_CHARS.value
            if self.workflow.hooks and self._root is not None and not self._root.phase.finished:
                self._fire_workflow_hooks()
            for watched in list(self._watching):
                self._fire_task_hooks(watched, ended=False)
            if self.options.resumes is not None and self._inproc.busy:
                self._take_resumes()
            if control is not None:
                self._obey(control())
            if self._lock_waiters and (self._locks_freed or self._stop_reason):
                self._wake_waiters()
            self._dispatch()
            if self._done():
                break
            timeout = self._poll_timeout()
            if timeout is None and not self._running and not self._daemons:
                stuck = ", ".join(n.id for n in self.nodes if not n.phase.finished)
                raise KjobError(f"internal error: the run stalled with nothing running (waiting: {stuck})")
            if control is not None or self._idlers:
                timeout = CONTROL_EVERY if timeout is None else min(timeout, CONTROL_EVERY)
            if self._inproc.busy:
                hint = self._inproc.wait_hint(self.backend.now())
                hint = CONTROL_EVERY if hint is None else min(hint, CONTROL_EVERY)
                timeout = hint if timeout is None else min(timeout, hint)
            self._handle(self.backend.poll(timeout))
            self._handle_in_process(self._inproc.events())
            self._fire_timers()
            for idler in self._idlers:
                idler.idle()

    def _obey(self, request: str | None) -> None:
        if request == "stop":
            self.stop()
        elif request == "terminate":
            self.terminate()

    def interrupt(self, reason: str = "interrupted") -> None:
        """Stop: no new attempts, running ones cancelled; :meth:`run` returns once they have ended."""
        self._interrupted = True
        self._stop_all(reason)

    def stop(self, reason: str = "stopped") -> None:
        """``kjob stop``: no new attempts, running ones cancelled, then the exit handler runs; the run
        ends Failed with ``reason``.  An exit handler already running is left to finish."""
        if self._stopped or self._no_exit_handler:
            return
        self._stopped = reason
        if self._exit_node is None:
            self._stop_all(reason)

    def terminate(self, reason: str = "terminated") -> None:
        """``kjob terminate``: as :meth:`stop`, but the exit handler does not run (or is stopped)."""
        if self._no_exit_handler:
            return
        self._no_exit_handler = True
        self._stopped = reason
        self._stop_reason = ""  # stops what runs now, the exit handler's attempts too
        self._stop_all(reason)

    # ---------------------------------------------------------------------------------- structure
    def _entrypoint(self) -> str:
        entry = self.workflow.entrypoint
        if entry is None:
            raise KjobError(
                f"{self.workflow.path}: the workflow has no entrypoint",
                hint="set spec.entrypoint to the template to run",
            )
        return entry

    def _start_root(self, template_name: str) -> None:
        # spec.arguments.artifacts are the entrypoint's, as Argo passes them
        node = self._top_node(template_name, template_name, IO(artifacts=self.workflow.arguments.artifacts))
        lookup = template_lookup({}, {}, self.info)  # an input's own value may read workflow.* ({{= }} too)
        try:
            node.inputs = {p.name: self._entry_input(p, lookup) for p in node.template.inputs.parameters}
        except KjobError as err:  # a configMapKeyRef that cannot be read
            self._root = node
            self._finish(node, Phase.ERROR, _one_line(err))
            return
        self._root = node
        self._begin(node)

    def _entry_input(self, param: Parameter, lookup: Lookup) -> str:
        given = self.info.parameters.get(param.name)
        if not given and param.value is None and param.value_from_config_map is not None:
            return config_map_value(param, "inputs", self.options.config_maps)
        return given or self._render(param.value or param.default or "", lookup)

    def _top_node(self, template_name: str, node_id: str, arguments: IO | None = None) -> Node:
        """A node that no DAG calls (the entrypoint, the exit handler), alone in a scope of its own
        that sees the workflow's parameters as its inputs."""
        task = DagTask(name=node_id, template=template_name, arguments=arguments or IO())
        top = Scope(
            template=self.workflow.templates[template_name],
            tasks={node_id: task},
            deps={node_id: ()},
            owner=None,
        )
        top.inputs = dict(self.info.parameters)
        node = self._new_node(top, task, node_id)
        top.nodes[node_id] = node
        return node

    def _new_node(self, scope: Scope, task: DagTask, node_id: str, **kw: Any) -> Node:
        template = self.workflow.templates[task.template]
        node = Node(id=node_id, task=task, template=template, scope=scope, **kw)
        self.nodes.append(node)
        self._notify(node)
        return node

    def _open_scope(self, owner: Node) -> Scope:
        """Create the scope of a ``dag`` or ``steps`` template called by ``owner`` and start it."""
        template = owner.template
        prefix = "" if owner is self._root else owner.id + "."
        target = self._target(owner)
        tasks, deps = task_graph(template, target)
        fail_fast = template.dag.fail_fast if template.dag is not None else True
        scope = Scope(
            template=template,
            tasks=tasks,
            deps=deps,
            owner=owner,
            inputs=dict(owner.inputs),
            input_artifacts=dict(owner.input_artifacts),
            fail_fast=fail_fast,
        )
        for name, needs in deps.items():
            for dep in needs:
                scope.dependents.setdefault(dep, []).append(name)
        targets = [t for t in (target or "").split() if t in tasks]
        scope.target_tasks = tuple(targets) or tuple(n for n in tasks if n not in scope.dependents)
        for name, task in tasks.items():
            scope.nodes[name] = self._new_node(scope, task, prefix + name)
            scope.waiting_on[name] = len(deps[name])
        scope.unfinished = len(tasks)
        for name in tasks:
            if not deps[name]:
                self._evaluate(scope.nodes[name])
        if not tasks:
            self._finish_scope(scope)
        return scope

    def _target(self, owner: Node) -> str | None:
        """The ``target`` of the DAG ``owner`` runs, its references rendered (Argo templates it)."""
        dag = owner.template.dag
        if dag is None or dag.target is None or not ("{{" in dag.target or "<<" in dag.target):
            return None if dag is None else dag.target
        lookup = template_lookup(owner.inputs, owner.input_artifacts, self.info)
        return self._render(dag.target, lookup)

    # ------------------------------------------------------------------------- node transitions
    def _evaluate(self, node: Node) -> None:
        """A task whose dependencies have all finished: run it, or decide it will not run."""
        scope = node.scope
        if self._rerun is not None:
            self._rerun.dependencies_finished(node, (scope.nodes[d] for d in scope.deps[node.task.name]))
        if _stopped(node, self._stop_reason, self.options.started_before):
            self._finish(node, Phase.OMITTED, f"not started: {self._stop_reason or scope.stop_reason}")
            return
        satisfied, why = self._dependencies_satisfied(node)
        if not satisfied:
            self._finish(node, Phase.OMITTED, why)
            return
        if node.task.fans_out:
            self._fan_out(node)
        else:
            self._begin(node)

    def _dependencies_satisfied(self, node: Node) -> tuple[bool, str]:
        scope = node.scope
        task = node.task
        try:
            if task.depends is not None:
                expr = parse_depends(task.depends)
                ok = expr.evaluate(
                    lambda name: scope.nodes[name].depends_name,
                    children_of=lambda name: (
                        [c.depends_name for c in scope.nodes[name].children]
                        or [scope.nodes[name].depends_name]
                    ),
                )
                if ok:
                    return True, ""
                return False, depends_false(
                    task.depends, expr.tasks, lambda name: scope.nodes[name].depends_name
                )
        except TemplateError as err:
            return False, f"depends: {err}"
        for dep in scope.deps[task.name]:
            dep_node = scope.nodes[dep]
            if not _passes_dependency(dep_node):
                return False, f"dependency {dep} {dep_node.phase.value.lower()}"
        return True, ""

    def _fan_out(self, group: Node) -> None:
        group.is_group = True
        try:
            items = self._items(group)
        except (KjobError, ValueError) as err:
            self._finish(group, Phase.ERROR, str(err))
            return
        group.phase = Phase.RUNNING
        group.started_at = self.backend.now()
        self._notify(group)
        if not items:
            self._finish(group, Phase.SUCCEEDED, "no items")
            return
        with collector_paused():
            report = self.options.on_bulk
            for index, item in enumerate(reported(items, f"making {group.id}'s items", report)):
                child_id = f"{group.id}({index}:{_item_label(item)})"
                child = self._new_node(
                    group.scope, group.task, child_id, item=item, item_index=index, parent=group
                )
                group.children.append(child)
            group.unfinished_children = len(group.children)
            for child in reported(list(group.children), f"starting {group.id}'s items", report):
                self._begin(child)

    def _items(self, group: Node) -> list[Any]:
        task = group.task
        lookup = scope_lookup(group.scope, self.info)
        if task.with_items is not None:  # rendered, as Argo renders the whole template first
            return [render_tree(item, lookup, argo=self.argo) for item in task.with_items]
        if task.with_sequence is not None:
            return _sequence_items(task, lookup, argo=self.argo)
        text = self._render(task.with_param or "", lookup)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise KjobError(f"withParam is not a JSON list: {_clip(text)} ({err.msg})") from None
        except RecursionError:
            raise KjobError(f"withParam is JSON nested too deep to read: {_clip(text)}") from None
        if not isinstance(value, list):
            raise KjobError(f"withParam is not a JSON list: {_clip(text)}")
        FAN_OUT_ITEMS.check(len(value), "withParam")
        return value

    def _begin(self, node: Node) -> None:
        """Evaluate ``when``, bind inputs, then queue the container or open the nested template."""
        lookup = scope_lookup(node.scope, self.info, node.item)
        try:
            when = node.task.when
            if when is not None and not evaluate_when(when, lookup, argo_braces=self.argo):
                self._finish(node, Phase.SKIPPED, when_false(when, lookup, argo_braces=self.argo))
                return
            if node is not self._root and node is not self._exit_node and node not in self._hook_owner:
                self._bind_inputs(node, lookup)
            self._render_node_settings(node)
        except KjobError as err:
            self._finish(node, Phase.ERROR, _one_line(err))
            return
        self._enter(node)

    def _enter(self, node: Node) -> None:
        """Take the node's locks and look it up in its memoize cache, then run it."""
        if not self._admitted(node):
            return
        if node.template.is_leaf:
            self._queue_attempt(node)
            return
        too_deep = NESTING.problem(_nesting(node), f"task '{node.task.name}'")
        if too_deep is not None:
            why = f"; does template '{node.template.name}' call itself with no `when` to end it?"
            self._finish(node, Phase.ERROR, too_deep + why)
        elif node.scope.parallelism is not None:
            self._queue.push(node)  # a child dag/steps counts as one against its scope's limit
        else:
            self._open(node)

    # ----------------------------------------------------------------------- locks and memoize
    def _admitted(self, node: Node) -> bool:
        """Whether ``node`` may run now: the workflow's locks (for the entrypoint) and its template's
        are held, and its memoize cache has no entry for it.  Otherwise it waits for a lock (and is
        tried again when one is given back), ends with its cached outputs, or ends in error."""
        template = node.template
        try:
            if node is self._root and not self._run_locked:
                locks = self._gate.resolve(self.workflow.synchronization, self._render_for(None))
                if self._wait_for(node, self._gate.enter(self._holder(None), locks)):
                    return False
                self._run_locked = True
            if template.synchronization:
                locks = self._gate.resolve(template.synchronization, self._render_for(node))
                waiting = self._gate.enter(self._holder(node), locks)
                if waiting is not None and (own := self._gate.held_by(self._enclosing(node), locks)):
                    raise KjobError(f"{waiting}: {own[0]} holds it around this node: it would wait for ever")
                if self._wait_for(node, waiting):
                    return False
            if template.memoize is not None:
                key = self._gate.key(template.memoize, self._render_for(node))
                recalled = self._gate.recall(template.memoize, key)
                if recalled is None:
                    self._memo_keys[node] = key
                else:
                    entry = recalled.entry
                    node.parameters, node.result = dict(entry.parameters), entry.result
                    node.exit_code = entry.exit_code
                    self._finish(node, Phase.SUCCEEDED, recalled.message)
                    return False
        except KjobError as err:
            self._finish(node, Phase.ERROR, _one_line(err))
            return False
        if node.message.startswith("Waiting for "):
            node.message = ""
            self._notify(node)
        return True

    def _render_for(self, node: Node | None) -> Callable[[str], str]:
        """How a lock name or memoize key of ``node``'s template renders (the workflow's: ``None``)."""
        if node is None:
            lookup = template_lookup({}, {}, self.info)
        else:
            lookup = template_lookup(node.inputs, node.input_artifacts, self.info)
        return lambda text: self._render(text, lookup)

    def _holder(self, node: Node | None) -> str:
        """Who holds a lock, as Argo names holders: ``namespace/run`` or ``namespace/run/node``."""
        run = f"{self.info.namespace}/{self.run_id}"
        return run if node is None else f"{run}/{node.id}"

    def _enclosing(self, node: Node) -> list[str]:
        """The holders ``node`` runs inside: the dag/steps nodes around it, and the run itself."""
        holders = [self._holder(None)]
        scope = node.scope
        while scope.owner is not None:
            holders.append(self._holder(scope.owner))
            scope = scope.owner.scope
        return holders

    def _wait_for(self, node: Node, waiting: str | None) -> bool:
        """Park ``node`` until a lock is given back, if ``waiting`` says why it cannot run."""
        if waiting is None:
            return False
        if node.message != waiting:
            node.message = waiting
            self._notify(node)
        if not self._lock_waiters and self._gate.retry_every is not None:
            self._add_timer(self.backend.now() + self._gate.retry_every, "locks", None)
        self._lock_waiters[node] = None  # one waiting already keeps its place
        self._waits += 1
        return True

    def _wake_waiters(self) -> None:
        """Try the waiting nodes again, oldest first, once a lock was given back; a stop ends them.
        Once one is still refused, the others that waited with the same message are not tried again
        in this pass (a thousand items behind one mutex cost one try, not a thousand)."""
        freed, self._locks_freed = self._locks_freed, False
        refused: set[str] = set()
        for node in list(self._lock_waiters):
            if _stopped(node, self._stop_reason, self.options.started_before):
                del self._lock_waiters[node]
                why = self._stop_reason or node.scope.stop_reason
                self._finish(node, Phase.OMITTED, f"not started: {why}")
            elif freed and node.message not in refused:
                waits = self._waits
                self._enter(node)  # refused again: it keeps its place in the line
                if self._waits != waits:
                    refused.add(node.message)
                else:
                    self._lock_waiters.pop(node, None)
        if self._lock_waiters and freed and self._gate.retry_every is not None:
            self._add_timer(self.backend.now() + self._gate.retry_every, "locks", None)

    def _leave_gate(self, node: Node, phase: Phase) -> None:
        """A node ends: it gives its locks back, and a memoized one that succeeded is cached."""
        self._lock_waiters.pop(node, None)
        key = self._memo_keys.pop(node, None)
        memoize = node.template.memoize
        if key is not None and memoize is not None and phase is Phase.SUCCEEDED:
            try:
                self._gate.remember(memoize, key, node.id, node.parameters, node.result, node.exit_code)
            except KjobError as err:
                node.message = f"could not save to the memoize cache: {_one_line(err)}"
        if node.template.synchronization and self._gate.leave(self._holder(node)):
            self._locks_freed = True

    def _open(self, node: Node) -> None:
        """Run a ``dag``/``steps`` node: it holds one slot of its own scope's ``parallelism`` (its
        tasks count against its own limit, not against the scopes above it)."""
        node.phase = Phase.RUNNING
        node.started_at = self.backend.now()
        self._notify(node)
        self._nested_running.add(node)
        node.scope.running += 1
        node.inner = self._open_scope(node)

    def _render_node_settings(self, node: Node) -> None:
        """The template's settings that Argo renders as the node starts, from its inputs: a templated
        ``timeout``/``activeDeadlineSeconds`` and the display name."""
        template = node.template
        display = template.annotations.get(DISPLAY_NAME)
        if not template.deadline_texts and display is None:
            return
        lookup = template_lookup(node.inputs, node.input_artifacts, self.info)
        for text in template.deadline_texts:
            seconds = parse_duration(self._render(text, lookup))
            node.deadline = seconds if node.deadline is None else min(node.deadline, seconds)
        if display is not None:
            node.display_name = self._render(display, lookup)

    def _publish_outputs(self, node: Node) -> None:
        """The node's outputs that have a ``globalName`` become ``workflow.outputs.*`` (the last node
        to finish with one wins, as in Argo)."""
        outputs = node.template.outputs
        named = [p.global_name for p in outputs.parameters] + [a.global_name for a in outputs.artifacts]
        if node.is_group or not any(named):
            return
        params = {
            p.global_name: node.parameters[p.name]
            for p in outputs.parameters
            if p.global_name and p.name in node.parameters
        }
        arts = {
            a.global_name: node.artifacts[a.name]
            for a in outputs.artifacts
            if a.global_name and a.name in node.artifacts
        }
        if params or arts:
            self.info = dataclasses.replace(
                self.info,
                output_parameters={**self.info.output_parameters, **params},
                output_artifacts={**self.info.output_artifacts, **arts},
            )

    def _bind_inputs(self, node: Node, lookup: Lookup) -> None:
        args = node.task.arguments
        for given in self._input_sources(node.task, node.template):
            param = given.param
            value = given.value(lookup, self._max_chars, self.options.config_maps)
            if param.enum and value not in param.enum:
                raise KjobError(
                    f"input parameter '{param.name}' is '{value}', not one of: {', '.join(param.enum)}"
                )
            node.inputs[param.name] = value
        for art in node.template.inputs.artifacts:
            arg_art = args.artifact(art.name)
            source = arg_art.from_ if arg_art is not None else art.from_
            chosen = arg_art.from_expression if arg_art is not None else art.from_expression
            if chosen:  # fromExpression: the artifact an expression picks
                node.input_artifacts[art.name] = expression_value(chosen, lookup)
            elif source:
                node.input_artifacts[art.name] = self._render(source, lookup)
                sub_path = arg_art.sub_path if arg_art is not None else art.sub_path
                if sub_path:
                    inside = self._render(sub_path, lookup).strip("/")
                    if inside.startswith("/") or ".." in inside.split("/"):
                        raise KjobError(f"subPath '{inside}' of input artifact '{art.name}' is outside it")
                    node.input_artifacts[art.name] += "/" + inside
            elif (
                not art.optional
                and _raw_input(node.task, art.name, art.raw) is None
                and remote_input(node.task, art.name, art.remote) is None
            ):
                raise KjobError(
                    f"input artifact '{art.name}' has no source: pass it with arguments.artifacts"
                )

    def _input_sources(self, task: DagTask, template: Template) -> list[InputSource]:
        """Where each input parameter of ``template`` called by ``task`` takes its value, parsed once
        for all the items of a fan-out."""
        known = self._sources.get(id(task))
        if known is None or known[0] is not task or known[1] is not template:
            known = (task, template, input_sources(task, template, argo=self.argo))
            self._sources[id(task)] = known
        return known[2]

    # -------------------------------------------------------------------------------- attempts
    def _queue_attempt(self, node: Node) -> None:
        number = len(node.attempts)
        if self._rerun is not None:
            if not node.attempts:
                self._rerun.first_attempt(node)
            first, index = self._rerun.numbering(node)
            number = first + len(node.attempts) - index
        node.attempts.append(
            AttemptRecord(
                number=number, attempt_id=_attempt_id(node.id, number), queued_at=self.backend.now()
            )
        )
        self._queue.push(node)

    def _first_of_try(self, node: Node) -> int:
        """The index in ``node.attempts`` of this try's first attempt (``kjob retry`` starts a node's
        count of attempts again; retryStrategy and ``retries`` count from there)."""
        return self._rerun.numbering(node)[1] if self._rerun is not None else 0

    def _dispatch(self) -> None:
        """Submit queued attempts, oldest first, as far as the parallelism limits allow.  One held
        back by a full scope is parked on it until that scope has room again."""
        if not self._queue:
            return
        self._queue.unpark(_scope_room)
        while not (self._limit is not None and self._occupied >= self._limit and not self._stop_reason):
            # (the workflow-wide cap holds for every queued node alike)
            node = self._queue.pop()
            if node is None:
                break
            if _stopped(node, self._stop_reason, self.options.started_before):
                self._queue.remove(node)
                reason = self._stop_reason or node.scope.stop_reason
                self._finish(node, Phase.OMITTED if node.started_at is None else Phase.FAILED, reason)
                continue
            if _scope_room(node.scope) <= 0:
                self._queue.park(node, node.scope)
                continue
            self._queue.remove(node)
            if not node.template.is_leaf:
                self._open(node)
            elif not (node.parent is not None and self._submit_batch(node)):
                self._submit(node)

    def _room(self, node: Node) -> int:
        """How many more attempts may start under the workflow's limit and ``node``'s scope's."""
        room = self._limit - self._occupied if self._limit is not None else len(self._queue) + 1
        return min(room, _scope_room(node.scope))

    def _submit(self, node: Node) -> None:
        if node.template.runs_in_kjob:
            self._submit_in_process(node)
            return
        record = node.attempts[-1]
        try:
            spec = self._attempt_spec(node, record)
        except KjobError as err:
            self._finish(node, Phase.ERROR, _one_line(err))
            return
        self._hold([node], [spec], 1)
        self.backend.submit(spec)

    def _submit_batch(self, first: Node) -> bool:
        """Hand ``first`` and its queued siblings (same fan-out, same attempt) to the backend as one
        batch that holds only as many slots as may run now; ``False`` if the backend refused it."""
        key = (id(first.parent), first.attempts[-1].number)
        if first.template.runs_in_kjob or key in self._unbatchable:
            return False
        siblings = self._queue.siblings(first)
        if not siblings:
            return False
        nodes = [first, *siblings]
        with collector_paused():
            try:
                what = f"submitting {first.parent.id if first.parent else first.id}'s items"
                specs = [
                    self._attempt_spec(n, n.attempts[-1]) for n in reported(nodes, what, self.options.on_bulk)
                ]
            except KjobError:
                self._unbatchable.add(key)  # one by one, so each error lands on its own item
                return False
            slots = min(self._room(first), len(nodes))
            if not self.backend.submit_batch(specs, slots):
                self._unbatchable.add(key)
                return False
            for sibling in siblings:
                self._queue.remove(sibling)
            self._hold(nodes, specs, slots)
        return True

    def _hold(self, nodes: list[Node], specs: list[AttemptSpec], slots: int) -> None:
        held = _Slots(slots=slots, unfinished=len(nodes))
        for node, spec in zip(nodes, specs, strict=True):
            self._running[spec.attempt_id] = node
            self._held[spec.attempt_id] = held
        self._occupied += slots
        self._count_running(nodes[0], slots)

    def _release(self, node: Node, attempt_id: str) -> None:
        """An attempt ended: its submission gives back a slot once it has fewer unfinished attempts
        than slots (an Indexed Job with 3 items left can use 3 of its 5 slots)."""
        del self._running[attempt_id]
        held = self._held.pop(attempt_id)
        held.unfinished -= 1
        if held.unfinished < held.slots:
            held.slots -= 1
            self._occupied -= 1
            self._count_running(node, -1)

    def _attempt_spec(self, node: Node, record: AttemptRecord) -> AttemptSpec:
        template = node.template
        prepared = self._prepared(template)
        retries = len(node.attempts) - 1 - self._first_of_try(node)
        lookup = container_lookup(node, self.info, retries, prepared.artifact_paths)
        container, pod_extra = prepared.fill(lookup, self._max_chars)
        parts = prepared.parts(lookup, self._max_chars)
        inputs = (
            tuple(
                InputArtifact(
                    name=a.name, path=a.path or "", source=node.input_artifacts[a.name], mode=a.mode
                )
                for a in template.inputs.artifacts
                if a.name in node.input_artifacts
            )
            if node.input_artifacts
            else ()
        ) + tuple(
            InputArtifact(
                name=a.name, path=a.path or "", source="", raw=self._render(raw, lookup), mode=a.mode
            )
            for a in template.inputs.artifacts
            if a.name not in node.input_artifacts
            and (raw := _raw_input(node.task, a.name, a.raw)) is not None
        )
        inputs += tuple(
            InputArtifact(
                name=a.name,
                path=a.path or "",
                source="",
                mode=a.mode,
                remote=rendered(fetched, lambda text: self._render(text, lookup)),
            )
            for a in template.inputs.artifacts
            if a.name not in node.input_artifacts
            and _raw_input(node.task, a.name, a.raw) is None
            and (fetched := remote_input(node.task, a.name, a.remote)) is not None
        )
        return AttemptSpec(
            attempt_id=record.attempt_id,
            node_id=node.id,
            attempt=record.number,
            template_name=template.name,
            container=container,
            input_artifacts=inputs,
            output_parameters=prepared.output_parameters,
            output_artifacts=prepared.output_artifacts,
            deadline=_tighter(prepared.deadline, node.deadline),
            pod_extra=pod_extra,
            init_containers=parts.init_containers,
            sidecars=parts.sidecars,
            container_set=parts.container_set,
            set_retries=template.container_set.retries if template.container_set is not None else 0,
            set_retry_duration=template.container_set.retry_duration if template.container_set else None,
            pod_spec_patches=parts.pod_spec_patches,
            task_name=node.task.name,
            inputs=dict(node.inputs),
            wants_result=_result_used(node),
            group_id=node.parent.id if node.parent is not None else "",
            item_index=node.item_index if node.parent is not None else None,
            resource=prepared.resource(lookup, self._max_chars) if prepared.resource is not None else None,
            resource_outputs=prepared.resource_outputs,
            daemon=template.daemon,
        )

    def _prepared(self, template: Template) -> _Prepared:
        """What every attempt of ``template`` shares, worked out at its first attempt."""
        known = self._prepared_templates.get(template.name)
        if known is None or known.template is not template:
            known = _Prepared.of(
                template, self.workflow.pod_extra, argo=self.argo, workflow_patch=self.workflow.pod_spec_patch
            )
            self._prepared_templates[template.name] = known
        return known

    def _count_running(self, node: Node, delta: int) -> None:
        node.scope.running += delta  # a scope's limit counts its own children, not what runs below them

    def _handle(self, events: Sequence[AttemptEvent]) -> None:
        if len(events) > _BULK_EVENTS:
            with collector_paused():
                self._handle_each(events)
        else:
            self._handle_each(events)

    def _handle_each(self, events: Iterable[AttemptEvent]) -> None:
        for event in events:
            node = self._running.get(event.attempt_id)
            if node is None:
                daemon = self._daemons.pop(event.attempt_id, None)
                if daemon is not None and isinstance(event, AttemptFinished):
                    self._daemon_ended(daemon, daemon.attempts[-1], event)
                elif daemon is not None:
                    self._daemons[event.attempt_id] = daemon
                continue
            record = node.attempts[-1]
            if isinstance(event, AttemptReady):
                self._daemon_ready(node, event)
            elif isinstance(event, AttemptWaiting):
                node.message = f"waiting: {event.reason}" if event.reason else ""
                self._notify(node)
            elif isinstance(event, AttemptStarted):
                record.started_at = event.at
                if node.started_at is None:
                    node.started_at = event.at
                node.phase = Phase.RUNNING
                node.message = "" if record.number == 0 else f"attempt {record.number + 1}"
                self._notify(node)
                if self._stop_reason:  # one submitted under a stop (see started_before) still ran
                    self._cancel(event.attempt_id)
            else:
                self._release(node, event.attempt_id)
                self._attempt_finished(node, record, event)

    def _daemon_ready(self, node: Node, event: AttemptReady) -> None:
        """A daemon runs and is ready: its node succeeds (its dependents may start) while its
        attempt keeps running, holding no parallelism slot, until its dag/steps ends."""
        if not node.template.daemon:
            return
        self._release(node, event.attempt_id)
        self._daemons[event.attempt_id] = node
        node.ip, node.daemoned = event.ip, True
        record = node.attempts[-1]
        if record.started_at is None:
            record.started_at = event.at
        self._finish(node, Phase.SUCCEEDED, f"daemon ready at {event.ip}", at=event.at)
        if self._stop_reason and node.daemoned:  # ready after the run was stopped
            self._stop_daemons(lambda _node: True)

    def _daemon_ended(self, node: Node, record: AttemptRecord, event: AttemptFinished) -> None:
        """The attempt of a ready daemon ended: stopped with its scope (its node stays Succeeded, as
        Argo's), or on its own while its scope still ran, which fails its node as in Argo."""
        record.finished_at = event.at
        record.phase, record.exit_code = event.phase, event.exit_code
        if not node.daemoned:
            record.message = "stopped with its scope"
            return
        node.daemoned = False
        how = event.message or f"exit code {event.exit_code}"
        record.message = node.message = f"daemon ended before its {_scope_kind(node)} did: {how}"
        record.phase = AttemptPhase.FAILED
        node.phase, node.exit_code = Phase.FAILED, event.exit_code
        self._notify(node)

    def _stop_daemons(self, belongs: Callable[[Node], bool]) -> None:
        """Stop the running daemons ``belongs`` picks; they still report how their attempt ended."""
        for attempt_id, node in list(self._daemons.items()):
            if node.daemoned and belongs(node):
                node.daemoned = False
                self._notify(node)
                self.backend.cancel(attempt_id)

    def _attempt_finished(self, node: Node, record: AttemptRecord, event: AttemptFinished) -> None:
        phase, message = event.phase, event.message
        if phase is AttemptPhase.SUCCEEDED and node.template.daemon:  # as Argo: a daemon must run on
            phase = AttemptPhase.FAILED
            message = f"daemon exited (exit code {event.exit_code}) before it was ready"
        if phase is AttemptPhase.SUCCEEDED and event.missing_outputs:
            phase = AttemptPhase.ERROR
            message = self._missing_output_message(node, event.missing_outputs, event.result)
        record.finished_at = event.at
        if record.started_at is None:
            record.started_at = event.at
        if node.started_at is None:
            node.started_at = record.started_at
        record.phase, record.exit_code, record.message = phase, event.exit_code, message
        node.exit_code = event.exit_code
        node.result = event.result
        if phase is AttemptPhase.SUCCEEDED:
            node.parameters = dict(event.parameters)
            node.artifacts = dict(event.artifacts)
            self._finish(node, Phase.SUCCEEDED, message, at=event.at)
            return
        first = node.attempts[self._first_of_try(node)]
        try:
            decision = decide_retry(
                node.template.retry_strategy,
                phase=phase,
                transient=event.transient,
                attempts_done=len(node.attempts) - self._first_of_try(node),
                first_started_at=first.started_at or first.queued_at,
                finished_at=event.at,
                expression_holds=self._retry_expression(node, record, phase, message),
            )
        except TemplateError as err:  # retryStrategy.expression failed: the node errs, as in Argo
            self._finish(node, Phase.ERROR, f"retryStrategy.expression: {err}", at=event.at)
            return
        stopping = self._stop_reason or node.scope.stopping
        rerun = self._rerun
        if decision.at is None and not stopping and rerun and rerun.again_after_failure(node, record.number):
            self._queue_attempt(node)  # a replayed failure: `kjob retry` runs it again
            return
        if decision.at is None or stopping:
            why = f" ({decision.reason})" if decision.reason and len(node.attempts) > 1 else ""
            self._finish(node, Phase.of_attempt(phase), message + why, at=event.at)
            return
        if node.template.metrics:  # Argo emits them for each try that ended, before the retry
            lookup = node_lookup(node, self.info, self.backend.now(), self._started, record)
            self._metrics.emit(node.template.metrics, lookup, f"{node.id}({record.number})")
        node.retry_at = decision.at
        node.message = f"{message}; retry {len(node.attempts)} at +{decision.at - event.at:g}s"
        self._notify(node)
        self._add_timer(decision.at, "retry", node)

    def _retry_expression(
        self, node: Node, record: AttemptRecord, phase: AttemptPhase, message: str
    ) -> Callable[[], bool] | None:
        """``retryStrategy.expression`` for the attempt ``record`` that ended (None without one)."""
        strategy = node.template.retry_strategy
        if strategy is None or strategy.expression is None:
            return None
        expression = strategy.expression
        retries = len(node.attempts) - 1 - self._first_of_try(node)
        started = record.started_at if record.started_at is not None else record.queued_at
        seconds = (record.finished_at or started) - started
        last = LastRetry(record.exit_code, phase, seconds, message, retries)
        lookup = container_lookup(node, self.info, retries)
        return lambda: retry_expression_holds(expression, last, lambda text: self._render(text, lookup))

    def _missing_output_message(self, node: Node, missing: tuple[str, ...], stdout: str | None) -> str:
        paths = {p.name: p.value_from_path for p in node.template.outputs.parameters}
        paths.update({a.name: a.path for a in node.template.outputs.artifacts})
        what = ", ".join(f"'{name}' ({paths.get(name)})" for name in missing)
        text = f"declared output {what} was not written by the task"
        if stdout:
            text += "; it printed to stdout: did you mean outputs.result, or to write the file?"
        return text

    # ------------------------------------------------------------------------------- finishing
    def _finish(self, node: Node, phase: Phase, message: str = "", *, at: float | None = None) -> None:
        """``at``: when its last attempt ended, by the backend's account (a replayed attempt of a
        resumed run ended long ago); else now."""
        self._leave_gate(node, phase)
        node.phase = phase
        node.message = message
        node.retry_at = None
        self._publish_outputs(node)
        node.finished_at = self.backend.now() if at is None else at
        if node.started_at is None and phase not in (Phase.SKIPPED, Phase.OMITTED):
            node.started_at = node.finished_at
        if node.template.metrics and not node.is_group and phase not in (Phase.SKIPPED, Phase.OMITTED):
            lookup = node_lookup(node, self.info, self.backend.now(), self._started)
            self._metrics.emit(node.template.metrics, lookup, node.id)
        self._notify(node)
        if node in self._nested_running:
            self._nested_running.remove(node)
            node.scope.running -= 1
        if self._hooks_hold(node):
            return  # its hooks run first: _hook_finished settles it
        self._settle(node)

    def _settle(self, node: Node) -> None:
        """Pass an ended node on to its fan-out or its scope: dependents, the scope's end."""
        phase = node.phase
        if node.parent is not None:
            group = node.parent
            _fail_fast_on_item(self._queue, node)
            group.unfinished_children -= 1
            if group.unfinished_children == 0:
                self._finish_group(group)
            return
        scope = node.scope
        unhandled = phase.failed_or_error and not _continues_on(node) and not _failure_expected(node)
        if unhandled and scope.fail_fast and not scope.stopping:
            scope.stopping = True
            scope.stop_reason = f"failFast after {node.task.name} {phase.value.lower()}"
            self._queue.release([scope])  # its parked attempts end at the next dispatch
        scope.unfinished -= 1
        # Only the finish that takes the count to zero ends the scope: a dependent omitted just below
        # finishes (and counts) inside this call, and must not end the scope a second time.
        last = scope.unfinished == 0
        for name in scope.dependents.get(node.task.name, ()):
            scope.waiting_on[name] -= 1
            if scope.waiting_on[name] == 0 and scope.nodes[name].phase is Phase.PENDING:
                self._evaluate(scope.nodes[name])
        if scope.owner is None:
            self._top_finished(node)
            if self._exit_node is None or self._exit_node.phase.finished:
                self._stop_daemons(lambda _node: True)  # the workflow has ended
        elif last:
            self._finish_scope(scope)

    def _finish_group(self, group: Node) -> None:
        children = group.children
        failed = [c for c in children if c.phase.failed_or_error and not _continues_on(c)]
        if failed:
            phase = Phase.ERROR if all(c.phase is Phase.ERROR for c in failed) else Phase.FAILED
            message = f"{len(failed)} of {len(children)} items failed"
        elif all(c.phase is Phase.SKIPPED for c in children):
            phase, message = Phase.SKIPPED, "every item skipped"
        else:
            phase, message = Phase.SUCCEEDED, ""
        succeeded = [(c.parameters, c.result) for c in children if c.phase is Phase.SUCCEEDED]
        group.parameters, group.parameter_sets, result = aggregate(succeeded)
        if any(c.result is not None for c in children) or _result_used(group):
            group.result = result
        self._finish(group, phase, message)

    def _finish_scope(self, scope: Scope) -> None:
        owner = scope.owner
        assert owner is not None
        self._stop_daemons(lambda node: node.scope is scope)  # Argo's killDaemonedChildren
        phase, message = _assess(scope)
        outputs = owner.template.outputs
        if phase in (Phase.SUCCEEDED, Phase.SKIPPED) and (outputs.parameters or outputs.artifacts):
            try:  # a dag or steps template's outputs, read from its tasks as it ends (all skipped too)
                owner.parameters, owner.artifacts = scope_outputs(
                    owner.template, scope_lookup(scope, self.info), argo=self.argo, max_chars=self._max_chars
                )
            except KjobError as err:
                phase, message = Phase.ERROR, _one_line(err)
        self._finish(owner, phase, message)

    def _wall(self, at: float) -> float:
        """The wall-clock time of ``at``, a time of the backend's clock (monotonic on some backends)."""
        return time.time() - (self.backend.now() - at)

    def _top_finished(self, node: Node) -> None:
        if node in self._hook_owner:
            self._hook_finished(node)
            return
        if node is not self._root:
            return
        self.info = dataclasses.replace(
            self.info,
            status=_workflow_status(node.phase),
            duration=f"{self.backend.now() - (node.started_at or self.backend.now()):f}",  # Go's %f
            failures=workflow_failures(self.nodes, self.info.name, self._wall),
        )
        if self.workflow.hooks:
            self._fire_workflow_hooks()  # those whose expression reads the final workflow.status
        if not self._workflow_hooks_running():
            self._start_exit_handler(node)

    def _start_exit_handler(self, root: Node) -> None:
        """The workflow's exit handler (``onExit``, ``hooks.exit``), once the entrypoint and the
        workflow's other hooks have ended."""
        if not self.workflow.on_exit or self._interrupted or self._no_exit_handler or self._exit_node:
            return
        if self._stopped:  # a stop request: the main DAG has stopped, the exit handler runs
            self._stop_reason = ""
        hook = next((h for h in self.workflow.hooks if h.is_exit), None)
        self._exit_node = self._top_node(self.workflow.on_exit, "onExit", hook.arguments if hook else None)
        if self._rerun is not None and self._rerun.any_taken:
            self._rerun.force(self._exit_node)  # a retried run's exit handler runs again
        if hook is not None and hook.arguments.parameters:
            try:
                self._bind_inputs(self._exit_node, scope_lookup(root.scope, self.info))
            except KjobError as err:
                self._finish(self._exit_node, Phase.ERROR, _one_line(err))
                return
        self._begin(self._exit_node)

    # ------------------------------------------------------------------------------------ hooks
    def _fire_workflow_hooks(self) -> None:
        """Start the workflow's hooks (``spec.hooks``, not ``exit``) whose expression holds now."""
        root = self._root
        if root is None or self._stop_reason:
            return
        for hook in self.workflow.hooks:
            if hook.is_exit or (0, hook.name) in self._hooks_started:
                continue
            node_id = f"hooks.{hook.name}"
            try:
                due = hook_due(hook, False, lambda: workflow_env(self.info))
            except KjobError as err:
                self._hooks_started.add((0, hook.name))
                failed = self._top_node(hook.template, node_id)
                self._hook_owner[failed] = None
                self._finish(failed, Phase.ERROR, _one_line(err))
                continue
            if due:
                self._hooks_started.add((0, hook.name))
                self._start_hook(None, hook, node_id, scope_lookup(root.scope, self.info))

    def _workflow_hooks_running(self) -> bool:
        return any(owner is None and not hook.phase.finished for hook, owner in self._hook_owner.items())

    def _fire_task_hooks(self, node: Node, *, ended: bool) -> None:
        """Start ``node``'s hooks that are due: those whose expression holds now and, once it has
        ``ended``, its exit hook.  Each hook starts at most once."""
        self._firing = True
        try:
            lookup = own_lookup(node, scope_lookup(node.scope, self.info, node.item))
            for hook in node.task.hooks:
                if (id(node), hook.name) in self._hooks_started:
                    continue
                node_id = f"{node.id}.onExit" if hook.is_exit else f"{node.id}.hooks.{hook.name}"
                try:
                    due = hook_due(hook, ended, lambda: task_env(node, self.info))
                except KjobError as err:
                    self._hooks_started.add((id(node), hook.name))
                    failed = self._top_node(hook.template, node_id)
                    self._hook_owner[failed] = node
                    self._finish(failed, Phase.ERROR, _one_line(err))
                    continue
                if due:
                    self._hooks_started.add((id(node), hook.name))
                    self._start_hook(node, hook, node_id, lookup)
        finally:
            self._firing = False
        started = self._hooks_started
        waiting = any(not h.is_exit and (id(node), h.name) not in started for h in node.task.hooks)
        if waiting and not ended and node.phase is Phase.RUNNING:
            self._watching[node] = None
        else:
            self._watching.pop(node, None)

    def _start_hook(self, owner: Node | None, hook: LifecycleHook, node_id: str, lookup: Lookup) -> Node:
        """Run ``hook`` as a node of its own, its arguments read where its owner is (so an exit hook
        reads its task's outputs)."""
        node = self._top_node(hook.template, node_id, hook.arguments)
        self._hook_owner[node] = owner
        if self._rerun is not None:  # `kjob retry`: the hooks of a node run again run again too
            if owner is not None:
                self._rerun.dependencies_finished(node, [owner])
            elif self._rerun.any_taken:
                self._rerun.force(node)
        try:
            self._bind_inputs(node, lookup)
        except KjobError as err:
            self._finish(node, Phase.ERROR, _one_line(err))
            return node
        self._begin(node)
        return node

    def _hooks_hold(self, node: Node) -> bool:
        """A task with hooks has ended: start its due hooks; whether it waits for them before its
        dependents run and its scope counts it as ended (as Argo waits for a task's hook nodes)."""
        if node.is_group or not node.task.hooks or node.scope.owner is None:
            return False  # a loop's hooks are its items', as in Argo
        self._watching.pop(node, None)
        if node.phase is not Phase.OMITTED:  # an exit hook runs after a node that ran (not a skipped one)
            self._fire_task_hooks(node, ended=node.phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.ERROR))
        if any(owner is node and not hook.phase.finished for hook, owner in self._hook_owner.items()):
            self._holding.add(node)
            return True
        return False

    def _hook_finished(self, hook: Node) -> None:
        """A hook node ended (its phase does not change its task's or the workflow's, except the
        workflow's exit handler): its task, or the workflow's exit handler, may go on."""
        owner = self._hook_owner[hook]
        if owner is None:
            if self._root is not None and self._root.phase.finished and not self._workflow_hooks_running():
                self._start_exit_handler(self._root)
            return
        if owner in self._holding and not any(
            o is owner and not h.phase.finished for h, o in self._hook_owner.items()
        ):
            self._holding.discard(owner)
            self._settle(owner)

    # ------------------------------------------------------------------------ kjob's own attempts
    def _submit_in_process(self, node: Node) -> None:
        """Run an attempt of an ``http`` or ``suspend`` node in this process."""
        record = node.attempts[-1]
        template = node.template
        if self.options.rehearsal:
            node.parameters = {p.name: f"<run-time: {p.name}>" for p in template.outputs.parameters}
            node.result = "<run-time: response body>" if template.http is not None else None
            what = "not sent" if template.http is not None else "not suspended"
            self._finish(node, Phase.SUCCEEDED, f"dry run: {what}")
            return
        lookup = container_lookup(node, self.info, len(node.attempts) - 1 - self._first_of_try(node))
        try:
            if template.http is not None:
                request = self._http_request(template, lookup)
            else:
                assert template.suspend is not None
                duration = template.suspend.duration
                until = None
                if duration is not None:
                    until = self.backend.now() + parse_duration(self._render(duration, lookup))
        except KjobError as err:
            self._finish(node, Phase.ERROR, _one_line(err))
            return
        self._running[record.attempt_id] = node
        self._held[record.attempt_id] = _Slots(slots=1, unfinished=1)
        self._occupied += 1
        self._count_running(node, 1)
        if template.http is not None:
            self._inproc.send(record.attempt_id, request)
        else:
            self._inproc.suspend(record.attempt_id, node.id, until, supplied_outputs(template, node.inputs))

    def _http_request(self, template: Template, lookup: Lookup) -> HttpRequest:
        http = template.http
        assert http is not None
        headers: list[tuple[str, str]] = []
        for header in http.headers:
            if header.secret is None:
                headers.append((header.name, self._render(header.value, lookup)))
                continue
            secret_name, key = header.secret
            if self.options.secrets is None:
                raise KjobError(
                    f"{http.mark}: header '{header.name}' reads Secret '{secret_name}' (key '{key}'), "
                    "and this run has no cluster to read it from",
                    hint="run it with --backend kubernetes, or give the header a `value:`",
                )
            headers.append((header.name, self.options.secrets(secret_name, key)))
        body_text = self._render(http.body, lookup)
        timeout = float(http.timeout_seconds) if http.timeout_seconds is not None else None
        return HttpRequest(
            url=self._render(http.url, lookup),
            method=self._render(http.method, lookup),
            headers=tuple(headers),
            body=decode_body(body_text, http.body_bytes),
            body_text=body_text,
            success_condition=http.success_condition,
            insecure_skip_verify=http.insecure_skip_verify,
            **({"timeout": timeout} if timeout is not None else {}),
        )

    def _handle_in_process(self, events: Sequence[AttemptEvent]) -> None:
        """Events of kjob's own attempts; a suspended node says how to resume it."""
        self._handle(events)
        for event in events:
            node = self._running.get(event.attempt_id)
            if isinstance(event, AttemptStarted) and node is not None and node.template.suspend is not None:
                duration = node.template.suspend.duration
                after = f" (or it resumes by itself after {duration})" if duration else ""
                node.message = f"suspended: `kjob resume {self.run_id} --node {node.id}` resumes it{after}"
                self._notify(node)

    def _cancel(self, attempt_id: str) -> None:
        if self._inproc.owns(attempt_id):
            self._inproc.cancel(attempt_id)
        else:
            self.backend.cancel(attempt_id)

    def _take_resumes(self) -> None:
        """Resume the suspended nodes that ``kjob resume --node`` asked for."""
        assert self.options.resumes is not None
        suspended = self._inproc.suspended()
        for request_id, (name, values) in self.options.resumes().items():
            if request_id in self._resumes_done:
                continue
            chosen = [a for a, node_id in suspended.items() if _names_node(self._running[a], name)]
            for attempt_id in chosen:
                self._resumes_done.add(request_id)
                problem = self._inproc.resume(attempt_id, values)
                if problem:
                    node = self._running[attempt_id]
                    node.message = f"suspended; resume refused: {problem}"
                    self._notify(node)

    # --------------------------------------------------------------------------------- stopping
    def _stop_all(self, reason: str) -> None:
        if self._stop_reason:
            return
        self._stop_reason = reason
        self._queue.release()
        for attempt_id in list(self._running):
            self._cancel(attempt_id)
        self._stop_daemons(lambda _node: True)
        for node in list(self.nodes):
            if node.retry_at is not None and not node.phase.finished:
                self._finish(node, Phase.FAILED, f"{node.message}; {reason}")

    # ----------------------------------------------------------------------------------- timers
    def _add_timer(self, at: float, kind: str, node: Node | None) -> None:
        heapq.heappush(self._timers, (at, next(self._seq), kind, node))

    def _poll_timeout(self) -> float | None:
        if not self._timers:
            return 0.0 if self._queue and not self._running else None
        # Attempts parked behind a running child dag/steps wait for what it waits for: a timer.
        # A timer years away (a huge backoff) is waited for an hour at a time: no platform's wait
        # takes an unbounded timeout.
        return min(MAX_WAIT, max(0.0, self._timers[0][0] - self.backend.now()))

    def _fire_timers(self) -> None:
        now = self.backend.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, kind, node = heapq.heappop(self._timers)
            if kind == "deadline":
                self._stop_all("workflow exceeded activeDeadlineSeconds")
            elif kind == "locks":
                self._locks_freed = True
            elif node is not None and node.retry_at is not None and not node.phase.finished:
                node.retry_at = None
                self._queue_attempt(node)

    # ------------------------------------------------------------------------------------ result
    def _done(self) -> bool:
        root_done = self._root is not None and self._root.phase.finished
        exit_done = self._exit_node is None or self._exit_node.phase.finished
        exit_done = exit_done and all(hook.phase.finished for hook in self._hook_owner)
        return root_done and exit_done and not self._running and not self._daemons

    def _final_phase(self) -> tuple[Phase, str]:
        assert self._root is not None
        main = self._root.phase
        if self._detached:
            return Phase.RUNNING, f"detached; {len(self._running)} attempts left running"
        if self._interrupted:
            return Phase.FAILED, self._stop_reason
        if self._stopped:
            return Phase.FAILED, self._stopped
        if self._stop_reason:
            return Phase.FAILED, self._stop_reason
        if main.failed_or_error:
            return main, self._root.message
        if self._exit_node is not None and self._exit_node.phase.failed_or_error:
            return Phase.FAILED, f"exit handler {self._exit_node.phase.value.lower()}"
        if main is Phase.SKIPPED:
            return Phase.SUCCEEDED, self._root.message
        return main, self._root.message

    def _notify(self, node: Node) -> None:
        for observer in self.observers:
            observer.node_changed(node)
        if node.phase is Phase.RUNNING and node.task.hooks and not node.is_group and not self._firing:
            self._fire_task_hooks(node, ended=False)


# ---------------------------------------------------------------------------------- helpers
def _raw_input(task: DagTask, name: str, own: str | None) -> str | None:
    """The inline content (``raw.data``) of the input artifact ``name`` whose template gives ``own``:
    the task's argument's, else the template's, unless the argument gives another source."""
    given = task.arguments.artifact(name)
    return own if given is None else given.raw


_NO_CLUSTER = "no cluster"  # config maps cannot be read: a workflow parameter from one is an error


def resolve_workflow_parameters(
    workflow: Workflow, overrides: Mapping[str, str], config_maps: ConfigMaps | str | None = None
) -> dict[str, str]:
    """``spec.arguments.parameters`` with ``-p name=value`` overrides applied and checked.

    A WorkflowTemplate may refer to parameters that only the workflow running it gives: one it does
    not declare is added, as ``argo submit -p`` adds it.  A Workflow's is refused as a likely typo
    (Argo would add it too).
    """
    declared = {p.name: p for p in workflow.arguments.parameters}
    unknown = sorted(set(overrides) - set(declared))
    if unknown and workflow.kind not in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
        names = ", ".join(sorted(declared)) or "none"
        raise KjobError(
            f"the workflow has no parameter '{unknown[0]}' (declared: {names})",
            hint="declare it under spec.arguments.parameters, or fix the name after -p",
        )
    values: dict[str, str] = {name: overrides[name] for name in unknown}
    for name, param in declared.items():
        if name not in overrides and param.value_from_config_map is not None:
            if config_maps is None:
                continue  # read when the run starts
            values[name] = config_map_value(
                param, "workflow", None if isinstance(config_maps, str) else config_maps
            )
            continue
        value = overrides.get(name, param.value if param.value is not None else param.default)
        if value is None:
            raise KjobError(f"workflow parameter '{name}' has no value", hint=f"pass it with -p {name}=VALUE")
        if param.enum and value not in param.enum:
            raise KjobError(f"workflow parameter '{name}' is '{value}', not one of: {', '.join(param.enum)}")
        values[name] = value
    return values


_RESULT_REF = re.compile(r"""([A-Za-z0-9_-]+)(?:['"]\])?\.outputs\.result""")  # also tasks['a-b'].outputs


def _result_used(node: Node) -> bool:
    """Whether a sibling task reads ``tasks.<this>.outputs.result`` (or ``steps.``), or this is the
    workflow's own entrypoint (whose result a person may want to see).  The scope's tasks are read
    once, not once per task: a 100,000-task DAG is one pass."""
    scope = node.scope
    if scope.owner is None:
        return True
    if scope.results_read is None:
        scope.results_read = frozenset(
            match
            for task in scope.tasks.values()
            for text in (
                task.when,
                task.with_param,
                *(p.value for p in task.arguments.parameters),
                *(p.value for hook in task.hooks for p in hook.arguments.parameters),
            )
            if text
            for match in _RESULT_REF.findall(text)
        ) | _results_read_by_outputs(scope)
    return node.task.name in scope.results_read


def _results_read_by_outputs(scope: Scope) -> frozenset[str]:
    """The tasks whose ``outputs.result`` the expressions of artifacts (``fromExpression``) and the
    outputs of the scope's dag or steps template read (those are resolved as it ends)."""
    outputs = scope.template.outputs
    texts = [
        *(a.from_expression for task in scope.tasks.values() for a in task.arguments.artifacts),
        *(t for p in outputs.parameters for t in (p.value, p.value_from_parameter, p.value_from_expression)),
        *(t for a in outputs.artifacts for t in (a.from_, a.from_expression)),
    ]
    return frozenset(match for text in texts if text for match in _RESULT_REF.findall(text))


def _scope_room(scope: Scope) -> int:
    """How many more children ``scope``'s own ``parallelism`` lets start: its running attempts and
    running child dags/steps count one each, as Argo counts a template's active children (unbounded:
    a big number)."""
    return scope.parallelism - scope.running if scope.parallelism is not None else 1 << 62


def is_argo(workflow: Workflow) -> bool:
    """Whether a workflow came from an Argo file (``{{ ref }}`` templates allowed as well)."""
    return workflow.api_version.startswith("argoproj.io/")


def _passes_dependency(dep: Node) -> bool:
    """Whether a finished dependency lets a ``dependencies:`` dependent run (Argo's bare ``A``)."""
    if dep.phase in (Phase.SUCCEEDED, Phase.SKIPPED):
        return True
    return _continues_on(dep)


def _continues_on(node: Node) -> bool:
    on = node.task.continue_on
    return (node.phase is Phase.FAILED and on.failed) or (node.phase is Phase.ERROR and on.error)


# Results a ``depends`` names when it expects its dependency may fail.
_FAILURE_RESULTS = frozenset({"Failed", "Errored", "AllFailed", "AnySucceeded", "Omitted"})


def _branch_failure(scope: Scope, name: str, memo: dict[str, Node | None]) -> Node | None:
    """The failure task ``name`` ends its branch with: itself failed (not continued on), or, omitted,
    the failure of the dependency that omitted it, as Argo assesses a DAG's target tasks."""
    if name in memo:
        return memo[name]
    node = scope.nodes[name]
    found: Node | None = None
    if node.phase.failed_or_error and not _continues_on(node):
        found = node
    elif node.phase is Phase.OMITTED:
        deps = scope.deps[name]
        found = next((f for d in deps if (f := _branch_failure(scope, d, memo)) is not None), None)
    memo[name] = found
    return found


def _names_a_failure(scope: Scope, task: DagTask, dep: str) -> bool:
    """Whether ``task``'s ``depends`` names a result of ``dep`` that only a failure gives
    (``dep.Failed``, ``dep.Errored``, ``dep.AllFailed`` ...)."""
    return bool(task.depends and parse_depends(task.depends).results_named(dep) & _FAILURE_RESULTS)


def _failure_expected(node: Node) -> bool:
    """A failure some dependent's ``depends`` names (``B.Failed && C``) is a branch of the DAG, not
    a reason to fail fast."""
    scope = node.scope
    name = node.task.name
    return node.parent is None and any(
        _names_a_failure(scope, scope.tasks[d], name) for d in scope.dependents.get(name, ())
    )


def _stopped(node: Node, run_stop: str, started_before: Collection[str]) -> bool:
    """Whether a stop keeps ``node`` from starting.  A stopped run starts nothing (but replays what
    a resumed run had started); a DAG failing fast still starts a task whose ``depends`` is met by a
    failure there (``B.Failed && C`` once B failed and C is done), as Argo does."""
    if run_stop:
        return node.id not in started_before
    scope = node.scope
    if not scope.stopping:
        return False
    task = node.task
    return not any(
        scope.nodes[d].phase.failed_or_error and _names_a_failure(scope, task, d)
        for d in scope.deps.get(task.name, ())
    )


def _fail_fast_on_item(queue: AttemptQueue, item: Node) -> None:
    """A loop item failed in a template with ``failFast: true``: no new child of it starts (Argo's
    template failFast; a DAG's own ``failFast`` stops on its tasks, not on the items of a loop)."""
    scope = item.scope
    if item.phase.failed_or_error and scope.template.fail_fast and not scope.stopping:
        scope.stopping = True
        scope.stop_reason = "template has failed or errored children and failFast enabled"
        queue.release([scope])


def _global_outputs(info: WorkflowInfo) -> dict[str, dict[str, str]]:
    found = {"parameters": dict(info.output_parameters), "artifacts": dict(info.output_artifacts)}
    return {kind: values for kind, values in found.items() if values}


def _tighter(first: float | None, second: float | None) -> float | None:
    limits = [t for t in (first, second) if t is not None]
    return min(limits) if limits else None


def _assess(scope: Scope) -> tuple[Phase, str]:
    """A finished DAG's phase, from its target (leaf) tasks as Argo assesses it: an omitted task
    inherits the failure of the dependency that omitted it."""
    memo: dict[str, Node | None] = {}
    failures = [f for t in scope.target_tasks if (f := _branch_failure(scope, t, memo)) is not None]
    if failures:
        first = failures[0]
        phase = Phase.ERROR if all(f.phase is Phase.ERROR for f in failures) else Phase.FAILED
        return phase, f"{first.task.name} {first.phase.value.lower()}"
    if scope.stopping:
        return Phase.FAILED, scope.stop_reason
    if scope.nodes and all(n.phase is Phase.SKIPPED for n in scope.nodes.values()):
        return Phase.SKIPPED, "every task skipped"
    return Phase.SUCCEEDED, ""


DISPLAY_NAME = "workflows.argoproj.io/display-name"


def _sequence_items(task: DagTask, lookup: Lookup, *, argo: bool) -> list[Any]:
    seq = task.with_sequence
    assert seq is not None

    def number(text: str | None, what: str) -> int:
        value = render(text or "0", lookup, argo_braces=argo)
        try:
            return int(value)
        except ValueError:
            raise KjobError(f"withSequence {what} is not a whole number: '{value}'") from None

    start = number(seq.start, "start")
    if seq.count is not None:
        count = number(seq.count, "count")
        FAN_OUT_ITEMS.check(count, "withSequence")
        values = list(range(start, start + count))
    else:
        end = number(seq.end, "end")
        FAN_OUT_ITEMS.check(abs(end - start) + 1, "withSequence")
        step = 1 if end >= start else -1
        values = list(range(start, end + step, step))
    fmt = seq.format or "%d"
    try:
        return [fmt % v for v in values]
    except (TypeError, ValueError):
        raise KjobError(f"withSequence format '{fmt}' does not take a number") from None


def _item_label(item: Any) -> str:
    if isinstance(item, dict):
        return ",".join(f"{k}:{item_text(v)}" for k, v in sorted(item.items()))
    return item_text(item)


_NOT_IN_SLUG = re.compile(r"[^a-z0-9]+")


def _attempt_id(node_id: str, attempt: int) -> str:
    """A filesystem- and DNS-friendly id, unique per node: readable slug plus a short stable hash."""
    slug = _NOT_IN_SLUG.sub("-", node_id.lower()).strip("-")[:60] or "task"
    digest = hashlib.sha256(node_id.encode()).hexdigest()[:6]
    return f"{slug}-{digest}-{attempt}"


def _clip(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _nesting(node: Node) -> int:
    """How many dag or steps templates are open around ``node`` (the entrypoint's counts)."""
    depth = 0
    scope: Scope | None = node.scope
    while scope is not None:
        depth += 1
        scope = scope.owner.scope if scope.owner is not None else None
    return depth


def _scope_kind(node: Node) -> str:
    """What started ``node``: ``dag`` or ``steps`` (the workflow, for the entrypoint itself)."""
    owner = node.scope.owner
    return owner.template.kind.value if owner is not None else "workflow"


def _workflow_status(phase: Phase) -> str:
    """``workflow.status`` once the entrypoint has ended, as Argo maps its node's phase."""
    if phase in (Phase.SKIPPED, Phase.OMITTED):
        return str(Phase.SUCCEEDED.value)
    return str(phase.value)


def _names_node(node: Node, name: str) -> bool:
    """Whether ``kjob resume --node NAME`` means ``node``: its id or its task's name."""
    return name in (node.id, node.task.name)


def _one_line(err: KjobError) -> str:
    return str(err).replace("\n", " ")


__all__ = ["NO_ITEM", "Engine", "EngineOptions", "Observer", "RunResult"]
