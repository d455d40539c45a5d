"""The typed, immutable workflow model.

YAML is read once into these frozen dataclasses (``kjob.spec.loader``); every later layer works on them,
never on raw dicts.  Each object that a user can get wrong carries a :class:`Mark` so that errors found
later (at plan or run time) still point at the source line.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Mark:
    """A place in a source file: 1-based line and column."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


NOWHERE = Mark("<unknown>", 0, 0)


def frozen_map(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only mapping, so that model objects stay immutable all the way down."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True, slots=True)
class Parameter:
    """An input, output or argument parameter.

    For outputs, ``value_from_path`` is the file the value is read from (``valueFrom.path``) and
    ``value_from_default`` what to use when that file is missing (``valueFrom.default``).
    """

    name: str
    value: str | None = None
    default: str | None = None
    enum: tuple[str, ...] = ()
    value_from_path: str | None = None
    value_from_default: str | None = None
    # a resource template's outputs: read from the object (``valueFrom.jsonPath`` / ``valueFrom.jqFilter``)
    value_from_json_path: str | None = None
    value_from_jq_filter: str | None = None
    # a valueFrom source kjob does not read yet (configMapKeyRef, event...): reported unsupported
    value_from_unread: str | None = None
    description: str | None = None
    mark: Mark = NOWHERE
    # ``valueFrom.supplied``: an output of a ``suspend`` template, given when the node is resumed
    supplied: bool = False
    # ``globalName``: an output also readable as ``workflow.outputs.parameters.<global_name>``
    global_name: str | None = None
    # ``valueFrom.configMapKeyRef`` (name, key): read from the run's namespace as the value is needed
    value_from_config_map: tuple[str, str] | None = None
    # a dag or steps template's outputs, resolved as it ends: an expression over its tasks'
    # values (``valueFrom.expression``) or a text with references (``valueFrom.parameter``)
    value_from_expression: str | None = None
    value_from_parameter: str | None = None


# the annotation of a CronWorkflow's run that Argo reads as ``workflow.scheduledTime``
SCHEDULED_TIME_ANNOTATION = "workflows.argoproj.io/scheduled-time"


@dataclass(frozen=True, slots=True)
class HttpSource:
    """``http``: an input artifact downloaded from ``url`` (GET, with these headers) as the task starts."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class GitSource:
    """``git``: an input artifact cloned from ``repo`` (then ``fetch`` refspecs, then ``revision`` checked
    out, then submodules) as the task starts, as Argo's executor clones it."""

    repo: str
    revision: str | None = None
    branch: str | None = None
    depth: int | None = None
    single_branch: bool = False
    fetch: tuple[str, ...] = ()
    submodules: bool = True  # not ``disableSubmodules``
    insecure: bool = False  # ``insecureSkipTLS``: no TLS certificate check


@dataclass(frozen=True, slots=True)
class Artifact:
    """An input, output or argument artifact: a file or directory at ``path``, or taken ``from`` a task."""

    name: str
    path: str | None = None
    from_: str | None = None
    optional: bool = False
    # the artifact repository (s3, git, http...) Argo would fetch it from or store it in: kjob reports
    # these "not supported by kjob yet", so a workflow naming one never runs
    repository: str | None = None
    raw: str | None = None  # ``raw.data``: the artifact's content, written at its path as the task starts
    sub_path: str | None = None  # ``subPath``: take this file or directory inside the artifact given
    mode: int | None = None  # ``mode``: the permission bits set on the input artifact once placed
    remote: HttpSource | GitSource | None = None  # ``http`` / ``git``: fetched as the task starts
    mark: Mark = NOWHERE
    # ``globalName``: an output also readable as ``workflow.outputs.artifacts.<global_name>``
    global_name: str | None = None
    from_expression: str | None = None  # ``fromExpression``: an expression whose value is an artifact


@dataclass(frozen=True, slots=True)
class IO:
    """``inputs``, ``outputs`` or ``arguments``: parameters and artifacts by declaration order."""

    parameters: tuple[Parameter, ...] = ()
    artifacts: tuple[Artifact, ...] = ()

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def artifact(self, name: str) -> Artifact | None:
        return next((a for a in self.artifacts if a.name == name), None)


class RetryPolicy(enum.Enum):
    """When a failed attempt is retried (Argo's ``retryPolicy``)."""

    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    ON_ERROR = "OnError"
    ON_TRANSIENT_ERROR = "OnTransientError"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts, in seconds, with Argo's meaning.

    The n-th retry (n = 0, 1, ...) waits ``duration * factor**n``, never more than ``cap``.  No retry
    starts later than ``max_duration`` after the first attempt started.
    """

    duration: float = 0.0
    factor: float = 1.0
    max_duration: float | None = None
    cap: float | None = None


@dataclass(frozen=True, slots=True)
class RetryStrategy:
    """``retryStrategy``: ``limit`` retries (so ``limit + 1`` attempts at most; ``None`` is unlimited)."""

    limit: int | None = None
    policy: RetryPolicy = RetryPolicy.ON_FAILURE
    backoff: Backoff | None = None
    mark: Mark = NOWHERE
    # retry only while this holds (after the policy and limit allow it), read with lastRetry.*
    expression: str | None = None


@dataclass(frozen=True, slots=True)
class EnvVar:
    """A container environment variable; ``value_from`` is kept as given (secretKeyRef etc.)."""

    name: str
    value: str | None = None
    value_from: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Resources:
    """Container resource requests and limits, as Kubernetes quantities (strings); ``claims`` the
    pod's resource claims the container uses (``{name: ...}`` each, kept verbatim)."""

    requests: Mapping[str, str] = field(default_factory=frozen_map)
    limits: Mapping[str, str] = field(default_factory=frozen_map)
    claims: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Container:
    """A ``container`` or ``script`` body.  ``source`` is set only for scripts."""

    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    working_dir: str | None = None
    resources: Resources = field(default_factory=Resources)
    source: str | None = None
    # Kubernetes-only fields kept verbatim for the kubernetes backend (volumeMounts, securityContext, ...).
    extra: Mapping[str, Any] = field(default_factory=frozen_map)
    mark: Mark = NOWHERE
    # a container of a pod's ``initContainers``, ``sidecars`` or ``containerSet``: its name, the
    # containers of its set it waits for, and (init containers, sidecars) whether it gets the main
    # container's volumeMounts too (``mirrorVolumeMounts``)
    name: str = ""
    dependencies: tuple[str, ...] = ()
    mirror_volume_mounts: bool = False

    @property
    def is_script(self) -> bool:
        return self.source is not None


@dataclass(frozen=True, slots=True)
class ContinueOn:
    """``continueOn``: dependents run even when this task failed / errored."""

    failed: bool = False
    error: bool = False


@dataclass(frozen=True, slots=True)
class Sequence:
    """``withSequence``: ``count`` or ``start``..``end`` (inclusive), rendered with ``format``."""

    count: str | None = None
    start: str | None = None
    end: str | None = None
    format: str | None = None
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class LifecycleHook:
    """A lifecycle hook of a task or of the workflow: ``exit`` runs ``template`` once the task (the
    workflow) has ended; any other name runs it once, the first time ``expression`` is true."""

    name: str
    template: str
    arguments: IO = field(default_factory=IO)
    expression: str | None = None
    mark: Mark = NOWHERE

    @property
    def is_exit(self) -> bool:
        return self.name == EXIT_HOOK


EXIT_HOOK = "exit"


@dataclass(frozen=True, slots=True)
class Metric:
    """A custom metric (one item of Argo's ``metrics.prometheus``): kjob evaluates it where Argo's
    controller would emit it and records it in the run record.  ``type`` is ``gauge``, ``counter`` or
    ``histogram``; ``name``, ``help``, label values, ``when`` and ``value`` may hold references,
    rendered when the metric is evaluated; ``operation`` (Set, Add, Sub) is a gauge's."""

    name: str
    help: str
    type: str
    value: str
    labels: tuple[tuple[str, str], ...] = ()
    when: str | None = None
    realtime: bool = False
    operation: str = "Set"
    buckets: tuple[float, ...] = ()
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class DagTask:
    """One task of a ``dag`` template (also used for a step of a ``steps`` template)."""

    name: str
    template: str
    dependencies: tuple[str, ...] = ()
    depends: str | None = None
    arguments: IO = field(default_factory=IO)
    when: str | None = None
    with_items: tuple[Any, ...] | None = None
    with_param: str | None = None
    with_sequence: Sequence | None = None
    continue_on: ContinueOn = field(default_factory=ContinueOn)
    mark: Mark = NOWHERE
    template_mark: Mark = NOWHERE
    # ``hooks`` (and ``onExit``, as an ``exit`` hook), in file order
    hooks: tuple[LifecycleHook, ...] = ()

    @property
    def fans_out(self) -> bool:
        return self.with_items is not None or self.with_param is not None or self.with_sequence is not None


@dataclass(frozen=True, slots=True)
class Dag:
    """A ``dag`` template body.  ``fail_fast`` (default true, as in Argo): after a failure nothing
    expected, no new task starts, except one whose ``depends`` the failure satisfies
    (``B.Failed && C``)."""

    tasks: tuple[DagTask, ...]
    fail_fast: bool = True
    target: str | None = None

    def task(self, name: str) -> DagTask | None:
        return next((t for t in self.tasks if t.name == name), None)


@dataclass(frozen=True, slots=True)
class LockRef:
    """One lock of a ``synchronization``: a mutex (``name``) or a semaphore (``name``/``key`` of its
    ConfigMap, or a ``database`` semaphore's key alone in ``name``).  The texts may hold references,
    rendered as the node starts.  ``database`` locks are kept where kjob keeps every lock."""

    kind: str  # "mutex" or "semaphore"
    name: str
    key: str | None = None
    namespace: str | None = None
    database: bool = False
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class Memoize:
    """``memoize``: a node's outputs cached under ``key`` in the cache named ``cache`` (a ConfigMap
    on Kubernetes); an entry older than ``max_age`` seconds is not used (``None``: any age)."""

    key: str
    cache: str
    max_age: float | None = None
    mark: Mark = NOWHERE


class TemplateKind(enum.Enum):
    DAG = "dag"
    STEPS = "steps"
    CONTAINER = "container"
    SCRIPT = "script"
    CONTAINER_SET = "containerSet"
    HTTP = "http"
    SUSPEND = "suspend"
    RESOURCE = "resource"


RESOURCE_ACTIONS = ("create", "apply", "delete", "patch", "replace", "get")
MERGE_STRATEGIES = ("strategic", "merge", "json")


@dataclass(frozen=True, slots=True)
class Resource:
    """A ``resource`` template body: ``action`` on the object ``manifest`` (YAML text, references
    rendered per attempt), then, with conditions, a wait until ``success_condition`` or
    ``failure_condition`` holds (Argo's label-selector-like requirements over the object's fields)."""

    action: str
    manifest: str = ""
    merge_strategy: str = "strategic"
    success_condition: str | None = None
    failure_condition: str | None = None
    set_owner_reference: bool = False
    flags: tuple[str, ...] = ()
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class ContainerSet:
    """A ``containerSet`` body: containers of one pod that start in the order of their
    ``dependencies`` (a container whose dependency failed fails without running).  ``retries``: how
    many more times a failed container's command is run again in place (``containerSet.retryStrategy``),
    at most ``retry_duration`` seconds after its first run.  The container named ``main`` (else the
    last listed) is the one whose outputs and stdout the template's are."""

    containers: tuple[Container, ...]
    retries: int = 0
    retry_duration: float | None = None

    @property
    def main(self) -> Container:
        return next((c for c in self.containers if c.name == "main"), self.containers[-1])


@dataclass(frozen=True, slots=True)
class HttpHeader:
    """A header of an ``http`` template: a ``value``, or a Secret's key (``secret`` = (name, key))."""

    name: str
    value: str = ""
    secret: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Http:
    """An ``http`` template body: kjob itself sends the request.  ``body_bytes`` is ``bodyFrom.bytes``
    (base64, as Argo writes it); texts may hold references, rendered when the request is sent."""

    url: str
    method: str = "GET"
    headers: tuple[HttpHeader, ...] = ()
    body: str = ""
    body_bytes: str | None = None
    timeout_seconds: int | None = None
    success_condition: str | None = None
    insecure_skip_verify: bool = False
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class Suspend:
    """A ``suspend`` template body: wait until resumed (``kjob resume RUN --node NAME``), or at most
    ``duration`` (a text such as ``20s``, ``5m`` or ``30``, which may hold references)."""

    duration: str | None = None
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class Template:
    """A named template: exactly one of ``dag``, ``steps``, ``container`` (script included) or
    ``resource`` is set.

    ``steps`` is a list of groups; the groups run one after another, the steps inside a group in
    parallel.
    """

    name: str
    kind: TemplateKind
    dag: Dag | None = None
    steps: tuple[tuple[DagTask, ...], ...] | None = None
    container: Container | None = None
    resource: Resource | None = None
    http: Http | None = None
    suspend: Suspend | None = None
    inputs: IO = field(default_factory=IO)
    outputs: IO = field(default_factory=IO)
    retry_strategy: RetryStrategy | None = None
    active_deadline_seconds: float | None = None
    timeout: float | None = None
    parallelism: int | None = None
    # ``timeout``/``activeDeadlineSeconds`` written with references: rendered as each node starts
    deadline_texts: tuple[str, ...] = ()
    # ``failFast`` of a dag/steps template: after a child (a loop item too) fails, no new child starts
    fail_fast: bool = False
    # ``annotations`` (``workflows.argoproj.io/display-name`` names the node in the run's views)
    annotations: Mapping[str, str] = field(default_factory=frozen_map)
    synchronization: tuple[LockRef, ...] = ()  # held while a node of the template runs
    memoize: Memoize | None = None
    # Kubernetes pod-level fields kept verbatim (nodeSelector, tolerations, serviceAccountName, ...).
    pod_extra: Mapping[str, Any] = field(default_factory=frozen_map)
    pod_marks: Mapping[str, Mark] = field(default_factory=frozen_map)  # where each pod_extra key is
    mark: Mark = NOWHERE
    # the other containers of its pod: run before the main one, in order; or beside it, stopped
    # when it ends
    init_containers: tuple[Container, ...] = ()
    sidecars: tuple[Container, ...] = ()
    container_set: ContainerSet | None = None
    pod_spec_patch: str | None = None  # strategic-merge-patched onto the pod spec, once rendered
    # ``daemon: true``: the task succeeds once its container runs and is ready, and keeps running
    # until the dag/steps that started it ends
    daemon: bool = False
    metrics: tuple[Metric, ...] = ()  # evaluated as each of its nodes ends (kjob.engine.metrics)

    @property
    def runs_in_kjob(self) -> bool:
        """Its attempts are run by kjob itself, not by a backend (``http``, ``suspend``)."""
        return self.http is not None or self.suspend is not None

    @property
    def is_leaf(self) -> bool:
        """It runs attempts itself (a container, script, resource, http or suspend), not tasks."""
        return self.container is not None or self.resource is not None or self.runs_in_kjob

    def output_path(self, kind: str, name: str) -> str | None:
        """``outputs.parameters.NAME.path`` (its ``valueFrom.path``) or ``outputs.artifacts.NAME.path``:
        the file inside the container an output is read from."""
        if kind == "parameters":
            parameter = self.outputs.parameter(name)
            return parameter.value_from_path if parameter is not None else None
        artifact = self.outputs.artifact(name) if kind == "artifacts" else None
        return artifact.path if artifact is not None else None

    @property
    def deadline(self) -> float | None:
        """The tighter of ``activeDeadlineSeconds`` and ``timeout``, in seconds."""
        limits = [t for t in (self.active_deadline_seconds, self.timeout) if t is not None]
        return min(limits) if limits else None


@dataclass(frozen=True, slots=True)
class CronSpec:
    """The ``CronWorkflow`` part that wraps a workflow spec."""

    schedules: tuple[str, ...]
    timezone: str | None = None
    concurrency_policy: str = "Allow"
    starting_deadline_seconds: int | None = None
    successful_jobs_history_limit: int | None = None
    failed_jobs_history_limit: int | None = None
    suspend: bool = False
    mark: Mark = NOWHERE
    # ``workflowMetadata``: labels and annotations for each Workflow (Job) the schedule creates.
    workflow_labels: Mapping[str, str] = field(default_factory=frozen_map)
    workflow_annotations: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True)
class PodGC:
    """``podGC``: which pods of a run are deleted (``strategy``; "" deletes none), those that match
    ``selector`` (a label selector text; "" is every pod of the run)."""

    strategy: str = ""
    selector: str = ""
    delete_delay: float = 0.0
    mark: Mark = NOWHERE


@dataclass(frozen=True, slots=True)
class TTLStrategy:
    """``ttlStrategy``: how long a finished run's objects are kept, in seconds."""

    after_completion: int | None = None
    after_success: int | None = None
    after_failure: int | None = None
    mark: Mark = NOWHERE

    def seconds(self, succeeded: bool) -> int | None:
        """The run's time to live once it ended (``succeeded`` or not), as Argo picks it."""
        own = self.after_success if succeeded else self.after_failure
        return own if own is not None else self.after_completion


@dataclass(frozen=True, slots=True)
class WorkflowMetadata:
    """``workflowMetadata``: labels and annotations of the run object; ``labels_from`` label keys whose
    value is an expression evaluated as the run starts."""

    labels: Mapping[str, str] = field(default_factory=frozen_map)
    annotations: Mapping[str, str] = field(default_factory=frozen_map)
    labels_from: Mapping[str, str] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True)
class Workflow:
    """One workflow document (``Workflow``, ``WorkflowTemplate``, ``ClusterWorkflowTemplate`` or
    ``CronWorkflow``), validated: every reference inside it resolves."""

    api_version: str
    kind: str
    name: str | None
    generate_name: str | None
    namespace: str | None
    entrypoint: str | None
    templates: Mapping[str, Template]
    arguments: IO = field(default_factory=IO)
    parallelism: int | None = None
    on_exit: str | None = None
    active_deadline_seconds: float | None = None
    service_account_name: str | None = None
    labels: Mapping[str, str] = field(default_factory=frozen_map)
    annotations: Mapping[str, str] = field(default_factory=frozen_map)
    cron: CronSpec | None = None
    # Kubernetes pod-level defaults for every task (nodeSelector, tolerations, ...), kept verbatim.
    pod_extra: Mapping[str, Any] = field(default_factory=frozen_map)
    pod_marks: Mapping[str, Mark] = field(default_factory=frozen_map)  # where each pod_extra key is
    pod_spec_patch: str | None = None  # patched onto every pod's spec before a template's own patch
    path: str = "<unknown>"
    mark: Mark = NOWHERE
    # ``spec.hooks``: the exit hook (also in ``on_exit``) and hooks run when their expression holds
    hooks: tuple[LifecycleHook, ...] = ()
    # where the WorkflowTemplates its templateRefs and workflowTemplateRef resolved to were read from
    # (files, ConfigMaps), in the order first used: what a run must carry to be resumed elsewhere
    template_sources: tuple[str, ...] = ()
    # ``volumeClaimTemplates`` as written: one PersistentVolumeClaim each per run (kjob.spec.build_claims)
    volume_claims: tuple[Mapping[str, Any], ...] = ()
    pod_gc: PodGC | None = None
    ttl_strategy: TTLStrategy | None = None
    workflow_metadata: WorkflowMetadata | None = None
    synchronization: tuple[LockRef, ...] = ()  # held while the run runs
    metrics: tuple[Metric, ...] = ()  # ``spec.metrics``: evaluated as the run ends
    # ``podDisruptionBudget`` as written (a PodDisruptionBudgetSpec): one PodDisruptionBudget per run
    pod_disruption_budget: Mapping[str, Any] | None = None
    pod_disruption_budget_mark: Mark = NOWHERE

    @property
    def display_name(self) -> str:
        return self.name or (self.generate_name or "workflow").rstrip("-")

    def template(self, name: str) -> Template:
        return self.templates[name]


def pod_fields(workflow_fields: Mapping[str, Any], template_fields: Mapping[str, Any]) -> dict[str, Any]:
    """The pod fields a template's pods get: the template's own over the workflow's, except
    ``volumes``, which add up as in Argo (a template's volume replaces the workflow's of its name)."""
    merged = {**workflow_fields, **template_fields}
    if "volumes" in workflow_fields and "volumes" in template_fields:
        own = [v for v in template_fields["volumes"] or () if isinstance(v, Mapping)]
        names = {v.get("name") for v in own}
        shared = [v for v in workflow_fields["volumes"] or () if isinstance(v, Mapping)]
        merged["volumes"] = [v for v in shared if v.get("name") not in names] + own
    return merged
