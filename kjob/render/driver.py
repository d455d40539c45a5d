"""A ``driver`` plan: the objects that run a workflow with kjob itself inside the cluster.

For GitOps (``kjob plan FILE -o DIR --mode driver``): a tool applies these objects and the cluster
does the rest, for any workflow (run-time ``when``, ``withParam``, outputs passed between tasks):

* a **ConfigMap** holding the workflow file, the ``-p`` parameters and the WorkflowTemplates the
  workflow uses from ``--templates`` directories, mounted into the driver;
* a **ServiceAccount** with a **Role** and **RoleBinding** granting exactly the verbs of kjob's
  permissions table (:func:`kjob.render.permissions.role_rules`) for the run's options, nothing more:
  the driver needs no verb of its own (its access review and the server version are open to every
  authenticated client);
* a **driver Job** that runs ``kjob run`` in a pod under that ServiceAccount, with the in-cluster
  configuration the pod's mounted token gives.  For a ``CronWorkflow`` there is instead one CronJob per
  schedule (:mod:`kjob.render.cronjob`) whose jobTemplate is that Job.

The driver is resumable.  Its run id is the name of the Job the pod belongs to (the downward API's
``job-name`` label): the plan's Job carries a hash of the plan's content in its name, and a CronJob
names each Job after its scheduled time, so every pod of one Job drives the same run.  When a pod
dies, the Job's next pod runs ``kjob run --run-id`` again, finds the run object in the cluster and
resumes it: Jobs already created are adopted, finished tasks are not run again.  On SIGTERM the
driver leaves the task Jobs running (``--detach-on-interrupt``) for the next pod to adopt.  Exit
code 1 (the workflow failed) and 2 (bad input, access refused) fail the Job at once
(``podFailurePolicy``); any other end of a pod is retried up to ``backoffLimit`` times.

The driver Job owns its run (``--owner-job``: the run's ConfigMap, which owns the task Jobs, names
the driver Job in ``ownerReferences``), so deleting the driver Job deletes the whole run: a CronJob's
history limits and ``concurrencyPolicy: Replace`` clean up and stop runs as they do Jobs, and a plan
whose old Job a GitOps tool prunes takes its run with it.

Every name is a function of the input, keys are sorted by the writer: the same input gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kjob import __version__
from kjob.render import names, permissions
from kjob.render.cronjob import cronjobs
from kjob.render.manifests import TEMPLATES_KEY
from kjob.render.resource_access import resource_permissions
from kjob.spec.model import Workflow

Manifest = dict[str, Any]

DEFAULT_IMAGE = f"kjob:{__version__}"  # built from the README's Containerfile (pip install kjob)
DEFAULT_COMMAND = ("kjob",)
PLAN_DIR = "/kjob/plan"  # the plan ConfigMap, mounted read-only
HOME_DIR = "/kjob/home"  # KJOB_HOME of the driver (an emptyDir: the cluster holds the run's state)
WORKFLOW_KEY = "workflow.yaml"
PARAMETERS_KEY = "parameters.json"
TEMPLATES_DIR = "templates"
BACKOFF_LIMIT = 6  # driver pods that may die (node lost, deleted) before the Job gives up
FAIL_AT_ONCE = (1, 2)  # kjob run's exit codes that another pod would only repeat
CONTAINER = "driver"
LABEL_PLAN = "kjob.dev/plan"
HASH_CHARS = 10
NAME_CHARS = 52  # a CronJob's name limit (its Jobs add '-' and 11 digits); the driver Job keeps to it too


@dataclass(frozen=True, slots=True)
class DriverOptions:
    """How the driver runs: its image and command (``--driver-image``, ``--driver-command``), the
    ``-p`` parameters and the ``kjob run`` options it passes on."""

    image: str = DEFAULT_IMAGE
    command: Sequence[str] = DEFAULT_COMMAND
    parameters: Mapping[str, str] = field(default_factory=dict)
    namespace: str | None = None  # default: the workflow's metadata.namespace, else "default"
    workspace_claim: str | None = None
    parallelism: int | None = None
    # the WorkflowTemplates the workflow uses from elsewhere (LoadResult.carried_templates): the plan's
    # ConfigMap carries them, so the driver needs neither the directory nor a verb to read templates
    templates_text: str = ""


def driver_plan(
    workflow: Workflow, workflow_text: str, options: DriverOptions | None = None
) -> list[Manifest]:
    """The objects of a driver plan for ``workflow`` (read from the file text ``workflow_text``), in
    the order to apply them: ConfigMap, ServiceAccount, Role, RoleBinding, then the driver Job, or for
    a CronWorkflow one CronJob per schedule.  See the module docstring."""
    opts = options or DriverOptions()
    namespace = opts.namespace or workflow.namespace or "default"
    base = names.slug(workflow.display_name, NAME_CHARS - HASH_CHARS - 1)
    account = names.slug(f"kjob-{base}", NAME_CHARS)
    plan = f"{base}-{plan_hash(workflow, workflow_text, account, opts)}"
    labels = {"app.kubernetes.io/managed-by": "kjob", LABEL_PLAN: plan}
    configmap = f"{plan}-workflow"
    objects = [
        _plan_configmap(configmap, namespace, labels, workflow_text, opts),
        *access_objects(account, namespace, labels, opts, resource_permissions(workflow)),
    ]
    if needs := permissions.workflow_needs(workflow):  # Leases, memoize caches: rules of their own
        role = next(o for o in objects if o["kind"] == "Role")
        role["rules"] += [r for r in permissions.role_rules(needs) if r not in permissions.role_rules()]
    job = driver_job_spec(workflow, configmap, account, labels, opts)
    if workflow.cron is not None:
        return objects + cronjobs(workflow.cron, base, namespace, labels, job)
    objects.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": plan, "namespace": namespace, "labels": labels},
            "spec": job,
        }
    )
    return objects


def plan_hash(workflow: Workflow, workflow_text: str, account: str, opts: DriverOptions) -> str:
    """A hash of the workflow, the parameters and the driver Job as rendered (image, command, every
    argument): a changed plan is a new Job (a Job's pod template cannot be changed in place), and the
    same plan keeps its name, hence its run."""
    content = {
        "workflow": workflow_text,
        "parameters": dict(sorted(opts.parameters.items())),
        "job": driver_job_spec(workflow, "", account, {}, opts),  # its own names left out: they hold the hash
    }
    if opts.templates_text:
        content["templates"] = opts.templates_text
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:HASH_CHARS]


def _plan_configmap(
    name: str, namespace: str, labels: Mapping[str, str], text: str, opts: DriverOptions
) -> Manifest:
    data = {WORKFLOW_KEY: text, PARAMETERS_KEY: json.dumps(dict(opts.parameters), sort_keys=True)}
    if opts.templates_text:
        data[TEMPLATES_KEY] = opts.templates_text
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {**labels, names.LABEL_ROLE: "plan"}},
        "data": data,
    }


def _plan_volume(configmap: str, opts: DriverOptions) -> Manifest:
    """The plan ConfigMap as a volume: its keys as files, the templates in a directory of their own
    (``--templates`` reads every YAML file of a directory, and the workflow may be a template too)."""
    volume: Manifest = {"name": configmap}
    if opts.templates_text:
        keys = (WORKFLOW_KEY, PARAMETERS_KEY)
        volume["items"] = [{"key": k, "path": k} for k in keys] + [
            {"key": TEMPLATES_KEY, "path": f"{TEMPLATES_DIR}/{TEMPLATES_KEY}"}
        ]
    return {"name": "plan", "configMap": volume}


def access_objects(
    account: str,
    namespace: str,
    labels: Mapping[str, str],
    opts: DriverOptions,
    extra: Sequence[permissions.Permission] = (),
) -> list[Manifest]:
    """The driver's ServiceAccount, and a Role and RoleBinding granting it exactly what kjob's
    permissions table says a run with these options needs, and ``extra`` (what the workflow's
    resource templates do)."""
    features = permissions.features(workspace_claim=opts.workspace_claim)
    meta = {"name": account, "namespace": namespace, "labels": dict(labels)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": permissions.role_rules(features, extra),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    ]


def driver_job_spec(
    workflow: Workflow, configmap: str, account: str, labels: Mapping[str, str], opts: DriverOptions
) -> Manifest:
    """The ``spec`` of a driver Job (also a CronJob's ``jobTemplate.spec``)."""
    args = [
        "run",
        f"{PLAN_DIR}/{WORKFLOW_KEY}",
        "--workflow",
        workflow.display_name,
        "--backend",
        "kubernetes",
        "--namespace",
        "$(KJOB_NAMESPACE)",
        "--run-id",
        "$(KJOB_RUN_ID)",
        "--parameter-file",
        f"{PLAN_DIR}/{PARAMETERS_KEY}",
        "--owner-job",
        "$(KJOB_RUN_ID)=$(KJOB_JOB_UID)",
        "--detach-on-interrupt",
    ]
    if opts.workspace_claim is not None:
        args += ["--workspace-pvc", opts.workspace_claim]
    if opts.parallelism is not None:
        args += ["--parallelism", str(opts.parallelism)]
    if opts.templates_text:
        args += ["--templates", f"{PLAN_DIR}/{TEMPLATES_DIR}"]
    container = {
        "name": CONTAINER,
        "image": opts.image,
        "command": list(opts.command),
        "args": args,
        "env": [
            _field_env("KJOB_RUN_ID", "metadata.labels['job-name']"),  # the Job's name: one run per Job
            _field_env("KJOB_JOB_UID", "metadata.labels['controller-uid']"),  # the Job owns the run
            _field_env("KJOB_NAMESPACE", "metadata.namespace"),
            {"name": "KJOB_HOME", "value": HOME_DIR},
        ],
        "volumeMounts": [
            {"name": "plan", "mountPath": PLAN_DIR, "readOnly": True},
            {"name": "home", "mountPath": HOME_DIR},
        ],
    }
    return {
        "backoffLimit": BACKOFF_LIMIT,
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": CONTAINER,
                        "operator": "In",
                        "values": list(FAIL_AT_ONCE),
                    },
                    "onPodConditions": [],  # the 1.28 schema requires it, even beside onExitCodes
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]
        },
        "template": {
            "metadata": {"labels": {**labels, names.LABEL_ROLE: "driver"}},
            "spec": {
                "serviceAccountName": account,
                "restartPolicy": "Never",
                "containers": [container],
                "volumes": [
                    _plan_volume(configmap, opts),
                    {"name": "home", "emptyDir": {}},
                ],
            },
        },
    }


def _field_env(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}
