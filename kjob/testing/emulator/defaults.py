"""Defaulting, as ``SetDefaults_*`` in ``pkg/apis/*/v1/defaults.go`` plus the admission plugins a
default cluster runs on pods (ServiceAccount, DefaultTolerationSeconds, Priority). A pod's container
with a resource limit and no request for it is given the limit as its request (pods only, not pod
templates: a Job read back keeps its template as written).

Clients observe these: a Job read back has ``backoffLimit: 6``, ``completionMode: NonIndexed``,
``suspend: false``, a generated selector; its template's containers have
``terminationMessagePath: /dev/termination-log`` and ``terminationMessagePolicy: File``.
"""

from __future__ import annotations

import base64
from typing import Any

from kjob.testing.emulator.features import JOB_POD_REPLACEMENT_POLICY, FeatureGates
from kjob.testing.emulator.util import Obj, meta

MAX_INT32 = 2**31 - 1
TERMINATION_LOG = "/dev/termination-log"


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", TERMINATION_LOG)
    c.setdefault("terminationMessagePolicy", "File")
    if isinstance(c.get("image"), str) and c["image"]:
        c.setdefault("imagePullPolicy", _image_pull_policy(c["image"]))
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for e in c.get("env") or []:
        ref = (e.get("valueFrom") or {}).get("fieldRef") if isinstance(e, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    for env_from in c.get("envFrom") or []:
        del env_from  # nothing is defaulted there


def _requests_from_limits(c: Obj) -> None:
    """``SetDefaults_Pod``: a resource with a limit and no request is requested at its limit."""
    res = c.get("resources")
    if not isinstance(res, dict) or not isinstance(res.get("limits"), dict):
        return
    requests: Obj = res["requests"] if isinstance(res.get("requests"), dict) else {}
    for name, value in res["limits"].items():
        requests.setdefault(name, value)
    if requests:
        res["requests"] = requests


def pod_spec(spec: Obj, *, template: bool) -> None:
    """``SetDefaults_PodSpec`` (+ container defaults); for a real pod also the admission defaults."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _container(c)
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for src in ("configMap", "secret"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
    if not template:
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                if isinstance(c, dict):
                    _requests_from_limits(c)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("serviceAccountName", "default")
        spec["serviceAccount"] = spec["serviceAccountName"]
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        tolerations: list[Any] = spec.setdefault("tolerations", [])
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            if not any(isinstance(t, dict) and t.get("key") == key for t in tolerations):
                tolerations.append(
                    {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                )


def job(obj: Obj, gates: FeatureGates) -> None:
    """``SetDefaults_Job`` for batch/v1."""
    spec: Obj = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    if JOB_POD_REPLACEMENT_POLICY in gates:
        spec.setdefault(
            "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
        )
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or []:
            pattern.setdefault("status", "True")
    template: Obj = spec.setdefault("template", {})
    pod_spec(template.setdefault("spec", {}), template=True)


def cronjob(obj: Obj, gates: FeatureGates) -> None:
    spec: Obj = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template: Obj = spec.setdefault("jobTemplate", {})
    job(job_template, gates)
    job_template["spec"].pop("manualSelector", None)


def pod(obj: Obj) -> None:
    pod_spec(obj.setdefault("spec", {}), template=False)


def namespace(obj: Obj) -> None:
    m = meta(obj)
    m.setdefault("labels", {})["kubernetes.io/metadata.name"] = m.get("name", "")
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])


def secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data: Obj = obj.setdefault("data", {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def pvc(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def persistent_volume(obj: Obj) -> None:
    spec: Obj = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    if isinstance(spec.get("hostPath"), dict):
        spec["hostPath"].setdefault("type", "")


def storage_class(obj: Obj) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def apply(plural: str, obj: Obj, gates: FeatureGates) -> None:
    """Apply the defaults of resource ``plural`` to ``obj`` in place."""
    if plural == "jobs":
        job(obj, gates)
    elif plural == "cronjobs":
        cronjob(obj, gates)
    elif plural == "pods":
        pod(obj)
    elif plural == "namespaces":
        namespace(obj)
    elif plural == "secrets":
        secret(obj)
    elif plural == "persistentvolumeclaims":
        pvc(obj)
    elif plural == "persistentvolumes":
        persistent_volume(obj)
    elif plural == "storageclasses":
        storage_class(obj)
