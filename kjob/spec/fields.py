"""Which fields each workflow object may have: supported, kept verbatim, or Argo-but-not-kjob-yet.

The tables here are the single list of what kjob reads.  :func:`check_keys` sorts the keys of one YAML
mapping into findings: a key that is neither kjob nor Argo is *unknown* (with a "did you mean" hint), an
Argo key kjob cannot run yet is *unsupported*.  Both are errors, or warnings when loading leniently.

Argo's own fields come from Argo's JSON schema, kept as data in ``argo_fields.json`` (written by
``tools/argo_fields.py``): whatever Argo has and kjob does not read is unsupported, so a field new in Argo
is "not supported by kjob yet" without an edit here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

_NO_HINTS: Mapping[str, str] = MappingProxyType({})

ARGO_FIELDS_FILE = Path(__file__).with_name("argo_fields.json")


def _load_argo_fields() -> Mapping[str, frozenset[str]]:
    objects = json.loads(ARGO_FIELDS_FILE.read_text())["objects"]
    return MappingProxyType({name: frozenset(names) for name, names in objects.items()})


ARGO_FIELDS: Mapping[str, frozenset[str]] = _load_argo_fields()
"""Argo's field names per Argo object type (``Template``, ``DAGTask``, ...), from Argo's JSON schema."""


@dataclass(frozen=True, slots=True)
class FieldSet:
    """The fields of one kind of object.

    ``supported`` fields become model attributes; ``passthrough`` fields (Kubernetes pod or container
    settings) are kept verbatim for the kubernetes backend; ``unsupported`` fields are Argo's, not yet
    kjob's: the fields of the Argo object type ``argo`` (see :data:`ARGO_FIELDS`), and any given
    explicitly (older Argo spellings), minus those kjob reads.  ``hints`` says what to do instead, for an
    unsupported or a misplaced field.
    """

    what: str
    supported: frozenset[str]
    passthrough: frozenset[str] = frozenset()
    unsupported: frozenset[str] = frozenset()
    hints: Mapping[str, str] = field(default_factory=lambda: _NO_HINTS)
    argo: str | None = None

    def __post_init__(self) -> None:
        argo = ARGO_FIELDS[self.argo] if self.argo is not None else frozenset()
        object.__setattr__(self, "unsupported", (self.unsupported | argo) - self.allowed)

    @property
    def allowed(self) -> frozenset[str]:
        return self.supported | self.passthrough


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One key that kjob does not take as written."""

    key: str
    unsupported: bool
    message: str
    hint: str | None


def check_keys(keys: Iterable[str], fields: FieldSet, where: str | None = None) -> list[FieldIssue]:
    """Findings for the ``keys`` of one mapping described by ``fields``; ``where`` names the object."""
    issues: list[FieldIssue] = []
    for key in keys:
        if key in fields.allowed:
            continue
        if key in fields.unsupported:
            message = f"'{key}' is not supported by kjob yet"
            issues.append(FieldIssue(key, True, message, fields.hints.get(key)))
            continue
        message = f"unknown field '{key}' in {where or fields.what}"
        issues.append(FieldIssue(key, False, message, fields.hints.get(key) or suggest(key, fields.allowed)))
    return issues


def suggest(word: str, choices: Iterable[str], *, noun: str = "allowed fields") -> str:
    """``did you mean 'x'?`` when one choice is close to ``word``, otherwise the sorted list of choices."""
    options = sorted(set(choices))
    by_lower = {c.lower(): c for c in options}
    import difflib  # here: only a mistake needs it, and it costs start-up

    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{by_lower[close[0]]}'?"
    if not options:
        return f"there are no {noun}"
    return f"{noun}: {', '.join(options)}"


def _fs(*names: str) -> frozenset[str]:
    return frozenset(names)


_TEMPLATE_REF_HINT = "copy the referenced template into spec.templates and refer to it with `template:`"
_ARTIFACT_SOURCE_HINT = (
    "artifact repositories (S3, GCS, Azure, OSS, HDFS, Artifactory, plugins) are planned for a later "
    "kjob release; for now kjob keeps artifacts in its run workspace: produce the file in an earlier "
    "task and pass it with `from:`"
)
_ARTIFACT_REPOSITORY_FIELDS = ("archiveLogs", "artifactGC", "artifactRepositoryRef", "archiveLocation")
_NEW_POD_FIELDS_HINTS = {
    "executorPlugins": "executor plugins run inside Argo's controller, which kjob does without",
}

ROOT = FieldSet(
    "workflow document",
    argo="Workflow",
    supported=_fs("apiVersion", "kind", "metadata", "spec"),
    unsupported=_fs("status"),
    hints={"status": "remove `status`: it is written by a controller, not by users"},
)

METADATA = FieldSet(
    "metadata",
    argo="ObjectMeta",
    supported=_fs("name", "generateName", "namespace", "labels", "annotations"),
    unsupported=_fs(
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
    ),
)

# Pod-level Kubernetes settings kept verbatim.  At workflow level Argo spells two of them differently;
# the loader stores those under the template-level names (``podMetadata`` -> ``metadata``,
# ``podPriorityClassName`` -> ``priorityClassName``) so that backends merge one vocabulary.
WORKFLOW_POD_FIELDS = _fs(
    "nodeSelector",
    "tolerations",
    "affinity",
    "securityContext",
    "volumes",
    "imagePullSecrets",
    "podPriorityClassName",
    "podMetadata",
    "schedulerName",
    "hostAliases",
    "dnsPolicy",
    "dnsConfig",
    "automountServiceAccountToken",
    "podResources",
    "resourceClaims",
)
WORKFLOW_POD_RENAMES: Mapping[str, str] = MappingProxyType(
    {"podMetadata": "metadata", "podPriorityClassName": "priorityClassName", "podResources": "resources"}
)
# A template's ``podResources`` is the pod spec's ``resources`` (Argo's pod-level resources).
TEMPLATE_POD_RENAMES: Mapping[str, str] = MappingProxyType({"podResources": "resources"})

WORKFLOW_SPEC = FieldSet(
    "workflow spec",
    argo="WorkflowSpec",
    supported=_fs(
        "entrypoint",
        "arguments",
        "templates",
        "parallelism",
        "onExit",
        "hooks",
        "activeDeadlineSeconds",
        "serviceAccountName",
        "workflowTemplateRef",
        "podSpecPatch",
        "synchronization",
        "templateDefaults",
        "volumeClaimTemplates",
        "podGC",
        "ttlStrategy",
        "workflowMetadata",
        "metrics",
        "podDisruptionBudget",
    ),
    passthrough=WORKFLOW_POD_FIELDS,
    unsupported=_fs(
        "archiveLogs",
        "artifactGC",
        "artifactRepositoryRef",
        "executor",
        "hostNetwork",
        "podPriority",
        "priority",
        "retryStrategy",
        "shutdown",
        "suspend",
        "synchronization",
        "volumeClaimGC",
    ),
    hints={
        "retryStrategy": "set retryStrategy on each template that should be retried",
        "schedule": "schedules belong to a CronWorkflow (`kind: CronWorkflow`)",
        "tasks": "tasks go inside a template: `templates: [{name: main, dag: {tasks: [...]}}]`",
        "steps": "steps go inside a template: `templates: [{name: main, steps: [[...]]}]`",
        **{name: _ARTIFACT_SOURCE_HINT for name in _ARTIFACT_REPOSITORY_FIELDS},
        **_NEW_POD_FIELDS_HINTS,
    },
)

CRON_SPEC = FieldSet(
    "CronWorkflow spec",
    argo="CronWorkflowSpec",
    supported=_fs(
        "schedule",
        "schedules",
        "timezone",
        "concurrencyPolicy",
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "suspend",
        "workflowSpec",
        "workflowMetadata",
        "stopStrategy",  # read, and warned about: a CronJob has no such field (kjob/spec/build_cron.py)
        "when",
    ),
    hints={
        "entrypoint": "a CronWorkflow wraps the workflow: put it under `workflowSpec:`",
        "templates": "a CronWorkflow wraps the workflow: put it under `workflowSpec:`",
    },
)

WORKFLOW_METADATA = FieldSet(
    "workflowMetadata",
    argo="WorkflowMetadata",
    supported=_fs("labels", "annotations"),
    unsupported=_fs("labelsFrom"),
)

# ``workflowMetadata`` of a workflow spec (a CronWorkflow's own is WORKFLOW_METADATA)
WORKFLOW_SPEC_METADATA = FieldSet(
    "workflowMetadata", argo="WorkflowMetadata", supported=_fs("labels", "annotations", "labelsFrom")
)
LABEL_VALUE_FROM = FieldSet("labelsFrom", argo="LabelValueFrom", supported=_fs("expression"))
POD_GC = FieldSet("podGC", argo="PodGC", supported=_fs("strategy", "labelSelector", "deleteDelayDuration"))
LABEL_SELECTOR = FieldSet(
    "labelSelector", argo="LabelSelector", supported=_fs("matchLabels", "matchExpressions")
)
LABEL_SELECTOR_REQUIREMENT = FieldSet(
    "match expression", argo="LabelSelectorRequirement", supported=_fs("key", "operator", "values")
)
TTL_STRATEGY = FieldSet(
    "ttlStrategy",
    argo="TTLStrategy",
    supported=_fs("secondsAfterCompletion", "secondsAfterSuccess", "secondsAfterFailure"),
)

TEMPLATE_BODIES = ("container", "script", "dag", "steps", "http", "suspend", "containerSet", "resource")
UNSUPPORTED_BODIES = _fs("plugin", "data")

TEMPLATE = FieldSet(
    "template",
    argo="Template",
    supported=_fs(
        "name",
        "inputs",
        "outputs",
        *TEMPLATE_BODIES,
        "retryStrategy",
        "activeDeadlineSeconds",
        "timeout",
        "parallelism",
        "synchronization",
        "memoize",
        "daemon",
        "containerSet",
        "initContainers",
        "sidecars",
        "podSpecPatch",
        "failFast",
        "annotations",
        "metrics",
    ),
    passthrough=_fs(
        "nodeSelector",
        "tolerations",
        "affinity",
        "serviceAccountName",
        "securityContext",
        "volumes",
        "priorityClassName",
        "metadata",
        "schedulerName",
        "hostAliases",
        "automountServiceAccountToken",
        "podResources",
        "resourceClaims",
    ),
    unsupported=UNSUPPORTED_BODIES
    | _fs(
        "archiveLocation",
        "arguments",
        "executor",
        "memoize",
        "priority",
        "synchronization",
        "template",
        "templateRef",
    ),
    hints={
        "templateRef": _TEMPLATE_REF_HINT,
        "tasks": "tasks go under `dag:` (`dag: {tasks: [...]}`)",
        "dependencies": "dependencies belong to a task of a dag template",
        "image": "the image goes under `container:` or `script:`",
        "command": "the command goes under `container:` or `script:`",
        "source": "`source` goes under `script:`",
        "data": _ARTIFACT_SOURCE_HINT,
        **{name: _ARTIFACT_SOURCE_HINT for name in _ARTIFACT_REPOSITORY_FIELDS},
        **_NEW_POD_FIELDS_HINTS,
    },
)

METRICS = FieldSet("metrics", argo="Metrics", supported=_fs("prometheus"))
PROMETHEUS = FieldSet(
    "metric",
    argo="Prometheus",
    supported=_fs("name", "help", "labels", "when", "gauge", "counter", "histogram"),
)
GAUGE = FieldSet("gauge", argo="Gauge", supported=_fs("value", "realtime", "operation"))
COUNTER = FieldSet("counter", argo="Counter", supported=_fs("value"))
HISTOGRAM = FieldSet("histogram", argo="Histogram", supported=_fs("value", "buckets"))
METRIC_LABEL = FieldSet("metric label", argo="MetricLabel", supported=_fs("key", "value"))

RESOURCE = FieldSet(
    "resource",
    argo="ResourceTemplate",
    supported=_fs(
        "action",
        "manifest",
        "mergeStrategy",
        "successCondition",
        "failureCondition",
        "setOwnerReference",
        "flags",
    ),
    hints={"manifestFrom": "write the manifest inline (`manifest: |`), passing values as input parameters"},
)

DAG = FieldSet(
    "dag",
    argo="DAGTemplate",
    supported=_fs("tasks", "failFast", "target"),
)

_TASK_UNSUPPORTED = _fs()
_TASK_HINTS = {
    "image": "a task runs a template: put the container in a template and refer to it with `template:`",
    "container": "a task runs a template: put the container in a template and refer to it with `template:`",
    "script": "a task runs a template: put the script in a template and refer to it with `template:`",
    "dependsOn": "use `dependencies: [a, b]` or `depends: a && b`",
}

DAG_TASK = FieldSet(
    "dag task",
    argo="DAGTask",
    supported=_fs(
        "name",
        "template",
        "dependencies",
        "depends",
        "arguments",
        "when",
        "withItems",
        "withParam",
        "withSequence",
        "continueOn",
        "templateRef",
        "inline",
        "hooks",
        "onExit",
    ),
    unsupported=_TASK_UNSUPPORTED,
    hints=_TASK_HINTS,
)

STEP = FieldSet(
    "step",
    argo="WorkflowStep",
    supported=DAG_TASK.supported - {"dependencies", "depends"},
    unsupported=_TASK_UNSUPPORTED,
    hints={
        **_TASK_HINTS,
        "dependencies": "steps run group after group; for explicit dependencies use a dag template",
        "depends": "steps run group after group; for explicit dependencies use a dag template",
    },
)

INPUTS = FieldSet("inputs", argo="Inputs", supported=_fs("parameters", "artifacts"))
OUTPUTS = FieldSet(
    "outputs",
    argo="Outputs",
    supported=_fs("parameters", "artifacts"),
    unsupported=_fs("result", "exitCode"),
    hints={
        "result": "`result` is filled in by the run: read it as {{tasks.<name>.outputs.result}}",
        "exitCode": "`exitCode` is filled in by the run: read it as {{tasks.<name>.exitCode}}",
    },
)
ARGUMENTS = FieldSet("arguments", argo="Arguments", supported=_fs("parameters", "artifacts"))

PARAMETER = FieldSet(
    "parameter",
    argo="Parameter",
    supported=_fs("name", "value", "default", "enum", "description", "valueFrom", "globalName"),
    unsupported=_fs("globalName"),
)

VALUE_FROM = FieldSet(
    "valueFrom",
    argo="ValueFrom",
    supported=_fs(
        "path", "default", "jsonPath", "jqFilter", "supplied", "expression", "parameter", "configMapKeyRef"
    ),
    unsupported=_fs(
        "configMapKeyRef",
        "event",
        "jqFilter",
        "jsonPath",
    ),
)

ARTIFACT = FieldSet(
    "artifact",
    argo="Artifact",
    supported=_fs(
        "name",
        "path",
        "from",
        "optional",
        "raw",
        "subPath",
        "mode",
        "globalName",
        "archive",
        "fromExpression",
        "http",
        "git",
    ),
    unsupported=_fs(
        "archive",
        "archiveLogs",
        "artifactGC",
        "artifactory",
        "azure",
        "deleted",
        "gcs",
        "globalName",
        "hdfs",
        "mode",
        "oss",
        "raw",
        "recurseMode",
        "s3",
        "subPath",
    ),
    hints={
        **{
            source: _ARTIFACT_SOURCE_HINT
            for source in ("artifactory", "azure", "gcs", "hdfs", "oss", "s3", "raw", "plugin")
        },
        **{name: _ARTIFACT_SOURCE_HINT for name in _ARTIFACT_REPOSITORY_FIELDS},
    },
)

# How Argo packs an artifact in its repository: kjob keeps artifacts unpacked in its run workspace,
# which is what a consumer sees with `none` and `tar` alike.
ARCHIVE = FieldSet(
    "archive",
    argo="ArchiveStrategy",
    supported=_fs("none", "tar"),
    hints={"zip": "kjob keeps artifacts as files and directories: use `none: {}` (or `tar`)"},
)
NO_ARCHIVE = FieldSet("none", argo="NoneStrategy", supported=frozenset())
RAW_ARTIFACT = FieldSet("raw", argo="RawArtifact", supported=_fs("data"))
# Sources fetched as the task starts, which need no artifact repository (kjob downloads or clones them
# on the local backend; on Kubernetes the pod's own curl/wget/python3 or git does).
HTTP_ARTIFACT = FieldSet(
    "http",
    argo="HTTPArtifact",
    supported=_fs("url", "headers"),
    hints={
        "auth": "HTTP authentication from Secrets (basicAuth, oauth2, clientCert) is not supported by kjob "
        "yet: pass a token in `headers`",
        "saveStreamViaFile": "kjob reads http artifacts only as inputs (downloads)",
    },
)
HTTP_ARTIFACT_HEADER = FieldSet("http artifact header", argo="Header", supported=_fs("name", "value"))
_GIT_SECRET_HINT = (
    "git credentials from Secrets are not supported by kjob yet: clone a public repository, or put a "
    "read token in the https URL"
)
GIT_ARTIFACT = FieldSet(
    "git",
    argo="GitArtifact",
    supported=_fs(
        "repo", "revision", "branch", "depth", "singleBranch", "fetch", "disableSubmodules", "insecureSkipTLS"
    ),
    hints={
        **{key: _GIT_SECRET_HINT for key in ("usernameSecret", "passwordSecret", "sshPrivateKeySecret")},
        "insecureIgnoreHostKey": "only meaningful with sshPrivateKeySecret, which kjob does not take yet",
    },
)
TAR_ARCHIVE = FieldSet("tar", argo="TarStrategy", supported=_fs("compressionLevel"))

# Where Argo keeps an artifact (its ArtifactLocation), less what kjob reads itself.
ARTIFACT_REPOSITORIES = ARGO_FIELDS["ArtifactLocation"] - {"archiveLogs"} - ARTIFACT.allowed

RETRY_STRATEGY = FieldSet(
    "retryStrategy",
    argo="RetryStrategy",
    supported=_fs("limit", "retryPolicy", "backoff", "expression"),
    unsupported=_fs("affinity"),
)

BACKOFF = FieldSet("backoff", argo="Backoff", supported=_fs("duration", "factor", "maxDuration", "cap"))

CONTINUE_ON = FieldSet("continueOn", argo="ContinueOn", supported=_fs("failed", "error"))

SEQUENCE = FieldSet("withSequence", argo="Sequence", supported=_fs("count", "start", "end", "format"))

_CONTAINER_SUPPORTED = _fs("image", "command", "args", "env", "workingDir", "resources")
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
_CONTAINER_PASSTHROUGH = _fs(
    "volumeMounts", "securityContext", "imagePullPolicy", "envFrom", "ports", "name", *PROBES
)
_CONTAINER_UNSUPPORTED = _fs(
    "lifecycle",
    "stdin",
    "stdinOnce",
    "tty",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "volumeDevices",
    "resizePolicy",
    "restartPolicy",
)
_CONTAINER_HINTS = {
    "terminationMessagePath": "kjob uses the termination message itself to return output parameters",
    "terminationMessagePolicy": "kjob uses the termination message itself to return output parameters",
    "retryStrategy": "retryStrategy belongs to the template, beside `container:`",
    "inputs": "inputs belong to the template, beside `container:`",
    "outputs": "outputs belong to the template, beside `container:`",
}

CONTAINER = FieldSet(
    "container",
    argo="Container",
    supported=_CONTAINER_SUPPORTED,
    passthrough=_CONTAINER_PASSTHROUGH,
    unsupported=_CONTAINER_UNSUPPORTED,
    hints={**_CONTAINER_HINTS, "source": "`source` needs a `script:` template instead of `container:`"},
)

SCRIPT = FieldSet(
    "script",
    argo="ScriptTemplate",
    supported=_CONTAINER_SUPPORTED | {"source"},
    passthrough=_CONTAINER_PASSTHROUGH,
    unsupported=_CONTAINER_UNSUPPORTED,
    hints=_CONTAINER_HINTS,
)

# a container of a pod beside the main one (``initContainers``, ``sidecars``), and of a ``containerSet``
USER_CONTAINER = FieldSet(
    "container",
    argo="UserContainer",
    supported=_CONTAINER_SUPPORTED | {"name", "mirrorVolumeMounts"},
    passthrough=_CONTAINER_PASSTHROUGH,
    unsupported=_CONTAINER_UNSUPPORTED,
    hints=_CONTAINER_HINTS,
)

CONTAINER_SET = FieldSet(
    "containerSet", argo="ContainerSetTemplate", supported=_fs("containers", "volumeMounts", "retryStrategy")
)

CONTAINER_NODE = FieldSet(
    "container of a containerSet",
    argo="ContainerNode",
    supported=_CONTAINER_SUPPORTED | {"name", "dependencies"},
    passthrough=_CONTAINER_PASSTHROUGH,
    unsupported=_CONTAINER_UNSUPPORTED,
    hints={**_CONTAINER_HINTS, "depends": "a containerSet's containers take `dependencies: [a, b]`"},
)

CONTAINER_SET_RETRY = FieldSet(
    "containerSet retryStrategy", argo="ContainerSetRetryStrategy", supported=_fs("retries", "duration")
)

PROBE = FieldSet(
    "probe",
    argo="Probe",
    supported=_fs(
        "exec",
        "httpGet",
        "tcpSocket",
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "failureThreshold",
        "successThreshold",
        "terminationGracePeriodSeconds",
    ),
    unsupported=_fs("grpc"),
    hints={"grpc": "use an exec probe that runs a gRPC health client, or httpGet / tcpSocket"},
)
PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket")
EXEC_ACTION = FieldSet("exec", argo="ExecAction", supported=_fs("command"))
HTTP_GET_ACTION = FieldSet(
    "httpGet", argo="HTTPGetAction", supported=_fs("path", "port", "host", "scheme", "httpHeaders")
)
TCP_SOCKET_ACTION = FieldSet("tcpSocket", argo="TCPSocketAction", supported=_fs("port", "host"))

ENV_VAR = FieldSet("env", argo="EnvVar", supported=_fs("name", "value", "valueFrom"))

RESOURCES = FieldSet(
    "resources",
    argo="ResourceRequirements",
    supported=_fs("requests", "limits"),
    passthrough=_fs("claims"),
)

TEMPLATE_REF = FieldSet("templateRef", argo="TemplateRef", supported=_fs("name", "template", "clusterScope"))
WORKFLOW_TEMPLATE_REF = FieldSet(
    "workflowTemplateRef", argo="WorkflowTemplateRef", supported=_fs("name", "clusterScope")
)

SYNCHRONIZATION = FieldSet(
    "synchronization",
    argo="Synchronization",
    supported=_fs("mutexes", "semaphores", "mutex", "semaphore"),  # the singular ones: Argo 3.5's
)
MUTEX = FieldSet("mutex", argo="Mutex", supported=_fs("name", "namespace", "database"))
SEMAPHORE = FieldSet(
    "semaphore", argo="SemaphoreRef", supported=_fs("configMapKeyRef", "namespace", "database")
)
CONFIG_MAP_KEY_REF = FieldSet(
    "configMapKeyRef", argo="ConfigMapKeySelector", supported=_fs("name", "key", "optional")
)
SYNC_DATABASE_REF = FieldSet("database", argo="SyncDatabaseRef", supported=_fs("key"))
MEMOIZE = FieldSet("memoize", argo="Memoize", supported=_fs("key", "maxAge", "cache"))
CACHE = FieldSet("cache", argo="Cache", supported=_fs("configMap"))
CACHE_CONFIG_MAP = FieldSet("configMap", argo="LocalObjectReference", supported=_fs("name"))

LIFECYCLE_HOOK = FieldSet(
    "hook",
    argo="LifecycleHook",
    supported=_fs("template", "arguments", "expression"),
    hints={"templateRef": _TEMPLATE_REF_HINT},
)

HTTP = FieldSet(
    "http",
    argo="HTTP",
    supported=_fs(
        "url",
        "method",
        "headers",
        "body",
        "bodyFrom",
        "timeoutSeconds",
        "successCondition",
        "insecureSkipVerify",
    ),
)
HTTP_HEADER = FieldSet("http header", argo="HTTPHeader", supported=_fs("name", "value", "valueFrom"))
HTTP_HEADER_SOURCE = FieldSet(
    "valueFrom of an http header", argo="HTTPHeaderSource", supported=_fs("secretKeyRef")
)
HTTP_BODY_SOURCE = FieldSet("bodyFrom", argo="HTTPBodySource", supported=_fs("bytes"))
SUSPEND = FieldSet("suspend", argo="SuspendTemplate", supported=_fs("duration"))
