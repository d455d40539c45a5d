"""Every object kjob creates in a cluster, built in one place as plain typed dicts.

* The **run object**: one ConfigMap per run (named after the run) holding the workflow, its
  parameters and the rendered script sources.  Every Job of the run names it in
  ``ownerReferences``, so deleting it deletes the whole run, and ``kjob resume`` reads the workflow
  back from it.
* One **Job** per task attempt: ``backoffLimit: 0`` (retries are the engine's), ``restartPolicy:
  Never``, the template's resources, env, volumes and pod fields passed through.

Outputs come back without a sidecar: a single output parameter's file *is* the container's
termination message file (``terminationMessagePath``); several outputs are gathered by a small POSIX
``sh`` wrapper into a JSON map written to ``/dev/termination-log`` (4 KiB at most).  Artifacts go
through the run workspace volume (:mod:`~kjob.render.workspace`): its wrapper runs inside
the outputs wrapper, whose map then also carries the report of the output artifacts stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote

from kjob.backends.base import AttemptSpec, settle_outputs
from kjob.errors import KjobError
from kjob.render import entrypoint, names, podpatch, podshape, probes, remote_fetch, workspace
from kjob.spec.values import unpassable_in

SCRIPT_DIR = "/kjob/script"
SCRIPT_MODE = 0o755  # so a script can also be run as a program (`sh -c /kjob/script/script`)
TERMINATION_LOG = "/dev/termination-log"
MESSAGE_LIMIT = 4096

Manifest = dict[str, Any]

# $1: how many outputs, then that many (name, path) pairs, then the command.  Values only ever reach
# the script as positional arguments; `eval` only assigns "$1"/"$2" to fixed variable names.  Each
# file's bytes are percent-encoded (od and awk are POSIX): printable ASCII stays as it is, every
# other byte (control characters, quotes, '%', '\\', UTF-8 or not) becomes %XX, so the map is JSON
# that any bytes survive, and the kubelet's UTF-8 handling never touches a value.  The message path
# stands alone after `=` so the API emulator, which maps container paths in the command text to host
# files, finds it.
OUTPUTS_WRAPPER = r"""
kjob_log=/dev/termination-log
[ -z "${KJOB_TERMINATION_LOG:-}" ] || kjob_log=$KJOB_TERMINATION_LOG
n=$1; shift; i=0
while [ "$i" -lt "$n" ]; do eval "kn_$i=\$1 kp_$i=\$2"; shift 2; i=$((i+1)); done
"$@"; rc=$?
{
  printf '{'; i=0; sep=''
  while [ "$i" -lt "$n" ]; do
    eval "name=\$kn_$i path=\$kp_$i"
    if [ -f "$path" ]; then
      printf '%s"%s":"' "$sep" "$name"
      od -An -v -tu1 "$path" | awk '{
        for (i = 1; i <= NF; i++) {
          b = $i + 0
          if (b >= 32 && b < 127 && b != 34 && b != 37 && b != 92) printf "%c", b
          else printf "%%%02X", b
        }
      }'
      printf '"'; sep=','
    fi
    i=$((i+1))
  done
  printf '}'
} > "$kjob_log"
exit "$rc"
"""


TEMPLATES_KEY = "templates.yaml"  # of the run object, and of a driver plan's ConfigMap


@dataclass(frozen=True, slots=True)
class RunObject:
    """The run's ConfigMap as the Jobs refer to it."""

    run_id: str
    namespace: str
    uid: str
    workspace: str | None = None  # the PersistentVolumeClaim that holds the run's artifacts

    def owner_reference(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "name": self.run_id, "uid": self.uid}


def run_configmap(
    run_id: str,
    namespace: str,
    *,
    workflow_text: str,
    parameters: Mapping[str, str],
    workspace_claim: str | None = None,
    creator: str | None = None,
    templates_text: str = "",
) -> Manifest:
    """The run object; ``creator`` is a token unique to the client creating it, so that a create
    retried after its answer was lost recognises its own object in the 409.  ``templates_text``: the
    WorkflowTemplates the workflow uses from elsewhere, carried so that any kjob can resume it."""
    data = {
        "workflow.yaml": workflow_text,
        "parameters.json": json.dumps(dict(parameters), sort_keys=True),
    }
    if templates_text:
        data[TEMPLATES_KEY] = templates_text
    if workspace_claim is not None:
        data[workspace.CONFIGMAP_KEY] = workspace_claim
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": run_id,
            "namespace": namespace,
            "labels": {names.LABEL_RUN: names.label_value(run_id), names.LABEL_ROLE: "run"},
            **({"annotations": {names.ANNOTATION_CREATOR: creator}} if creator else {}),
        },
        "data": data,
    }


def script_key(source: str) -> str:
    """The run ConfigMap key of a rendered script source (the same source is stored once)."""
    return "script-" + hashlib.sha256(source.encode()).hexdigest()[:16]


def output_mode(spec: AttemptSpec) -> str:
    """``none``, ``direct`` (one output file is the termination message) or ``wrapped`` (also
    whenever there are output artifacts: their report travels in the JSON map)."""
    if spec.output_artifacts:
        return "wrapped"
    if not spec.output_parameters:
        return "none"
    if spec.container_set:  # the file may be another container's: the message file would hide it
        return "wrapped"
    return "direct" if len(spec.output_parameters) == 1 else "wrapped"


def job_manifest(
    spec: AttemptSpec,
    run: RunObject,
    *,
    ttl_seconds_after_finished: int | None = None,
    queue: str | None = None,
    native_sidecars: bool = False,
) -> Manifest:
    """The Job for one attempt (see the module docstring for outputs; :mod:`~kjob.render.podshape`
    for the pod's other containers; ``native_sidecars``: the cluster keeps restartable init
    containers)."""
    name = names.job_name(run.run_id, spec.node_id, spec.attempt)
    labels = {
        names.LABEL_RUN: names.label_value(run.run_id),
        names.LABEL_TASK: names.label_value(spec.task_name or spec.node_id),
        names.LABEL_NODE: names.node_hash(run.run_id, spec.node_id),
        names.LABEL_ATTEMPT: str(spec.attempt),
    }
    if queue:
        labels["kueue.x-k8s.io/queue-name"] = queue
    annotations = {
        names.ANNOTATION_NODE_ID: spec.node_id,
        names.ANNOTATION_INPUTS: json.dumps(dict(spec.inputs), sort_keys=True),
    }
    pod_extra = dict(spec.pod_extra)
    pod_meta: dict[str, Any] = dict(cast(Mapping[str, Any], pod_extra.pop("metadata", None) or {}))
    pod_labels = {**dict(pod_meta.get("labels") or {}), **labels}
    container, volumes = _container(spec, run)
    init_containers, containers, pod_volumes = podshape.shape(
        spec.template_name,
        container,
        init_containers=spec.init_containers,
        sidecars=spec.sidecars,
        container_set=spec.container_set,
        set_retries=spec.set_retries,
        native_sidecars=native_sidecars,
        set_retry_duration=spec.set_retry_duration,
    )
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": containers}
    if init_containers:
        pod_spec["initContainers"] = init_containers
    for key in sorted(pod_extra):
        pod_spec[key] = pod_extra[key]
    volumes += pod_volumes
    if volumes:
        pod_spec["volumes"] = list(pod_spec.get("volumes") or []) + volumes
    if spec.pod_spec_patches:
        pod_spec = podpatch.patched(pod_spec, spec.pod_spec_patches, spec.template_name)
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "template": {
            "metadata": {
                "labels": pod_labels,
                **({"annotations": pod_meta["annotations"]} if pod_meta.get("annotations") else {}),
            },
            "spec": pod_spec,
        },
    }
    if spec.deadline is not None:
        job_spec["activeDeadlineSeconds"] = max(1, round(spec.deadline))
    if ttl_seconds_after_finished is not None:
        # Not spec.ttlSecondsAfterFinished: the TTL controller could delete the Job and its pod
        # before kjob has read the attempt's exit code and outputs.  Whoever reads them (this run or
        # `kjob resume`) sets the field from this annotation afterwards.
        annotations[names.ANNOTATION_TTL] = str(ttl_seconds_after_finished)
    if queue:
        job_spec["suspend"] = True
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [run.owner_reference()],
        },
        "spec": job_spec,
    }


def _container(spec: AttemptSpec, run: RunObject) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    c = spec.container
    problem = unpassable_in([*c.command, *c.args], {e.name: e.value for e in c.env if e.value is not None})
    if problem:
        raise KjobError(problem)
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = list(c.extra.get("volumeMounts") or [])
    argv: list[str] = [*c.command, *c.args]
    if c.source is not None:
        key = script_key(c.source)
        volumes.append(
            {
                "name": "kjob-script",
                "configMap": {
                    "name": run.run_id,
                    "items": [{"key": key, "path": "script"}],
                    "defaultMode": SCRIPT_MODE,
                },
            }
        )
        mounts.append({"name": "kjob-script", "mountPath": SCRIPT_DIR, "readOnly": True})
        argv = [*(c.command or ("sh",)), f"{SCRIPT_DIR}/script"]
    # Without a command the image's ENTRYPOINT runs, with `args`: kjob can only wrap a command it knows.
    entrypoint = not c.command and c.source is None
    container: dict[str, Any] = {"name": main_container(spec), "image": c.image}
    if any(a.mode is not None for a in spec.input_artifacts) and not entrypoint:
        argv = workspace.set_modes(spec, argv)
    if workspace.needed(spec):
        if entrypoint:
            raise _needs_command(spec, "pass its artifacts")
        argv, volume, mount = workspace.attach(spec, run.run_id, run.workspace, argv)
        volumes.append(volume)
        mounts.append(mount)
    if any(a.raw is not None for a in spec.input_artifacts):
        if entrypoint:
            raise _needs_command(spec, "write its raw artifacts")
        argv = workspace.write_raw(spec, argv)
    if any(a.remote is not None for a in spec.input_artifacts):
        if entrypoint:
            raise _needs_command(spec, "fetch its http and git artifacts")
        argv = remote_fetch.wrap(spec.input_artifacts, argv)
    mode = output_mode(spec)
    if mode == "direct":
        container["terminationMessagePath"] = spec.output_parameters[0].path
    elif mode == "wrapped":
        if entrypoint:
            raise _needs_command(spec, f"collect its {len(spec.output_parameters)} output parameters")
        outputs = [(p.name, p.path) for p in spec.output_parameters]
        report = workspace.report_output(run.run_id, spec)
        if report is not None:
            outputs.append(report)
        pairs = [x for pair in outputs for x in pair]
        argv = ["sh", "-c", OUTPUTS_WRAPPER, "kjob-outputs", str(len(outputs)), *pairs, *argv]
        entrypoint = False
    if entrypoint:
        if c.args:
            container["args"] = list(c.args)
    elif argv:
        container["command"] = argv[:1]
        container["args"] = argv[1:]
    container["terminationMessagePolicy"] = "File"
    container.update(podshape.container_fields(c))
    container.update(probes.with_numeric_ports(container))
    if mounts:
        container["volumeMounts"] = mounts
    return container, volumes


def main_container(spec: AttemptSpec) -> str:
    """The name of the container whose exit code, log and outputs are the attempt's: ``main``, or
    the main member of a containerSet."""
    return spec.container.name if spec.container_set else podshape.MAIN


def _needs_command(spec: AttemptSpec, why: str) -> KjobError:
    return KjobError(entrypoint.message(spec.template_name, why), hint=entrypoint.HINT)


def parse_outputs(spec: AttemptSpec, message: str | None) -> tuple[dict[str, str], list[str], str | None]:
    """Output parameters from a terminated container's message: (values, missing names, error)."""
    mode = output_mode(spec)
    values: dict[str, str] = {}
    if mode == "none":
        return values, [], None
    if message is not None and len(message.encode()) >= MESSAGE_LIMIT:
        return values, [], f"outputs exceed the {MESSAGE_LIMIT} byte termination-message limit"
    if mode == "direct":
        out = spec.output_parameters[0]
        if message:
            values[out.name] = message.rstrip("\r\n")
    else:
        try:
            data = json.loads(message or "{}")
        except json.JSONDecodeError:
            return values, [], "could not read the task's outputs (malformed termination message)"
        if isinstance(data, dict):
            values = {k: decoded(str(v)).rstrip("\r\n") for k, v in data.items() if isinstance(k, str)}
    settled, missing = settle_outputs(spec.output_parameters, values)
    return settled, missing + workspace.missing(spec, values), None


def decoded(value: str) -> str:
    """A value the outputs wrapper percent-encoded, as the local backend reads a file: UTF-8, an
    invalid byte replaced by U+FFFD."""
    return unquote(value, encoding="utf-8", errors="replace")
