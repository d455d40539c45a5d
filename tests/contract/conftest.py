"""Contract tests: one suite, run against the emulator and against a real cluster.

Every test takes the ``cluster`` fixture, which is parametrised twice:

* ``emulator`` — a :class:`kjob.testing.emulator.Emulator` whose pods run their commands as host
  processes, so the very same Job manifests (``sh -c ...``) work on both sides;
* ``real`` — the cluster named by the kubeconfig in ``KJOB_TEST_KUBECONFIG``; skipped, with that
  reason, when the variable is not set.

Both use the official client exactly the same way (``load_kube_config`` into a private
``Configuration``) in a fresh namespace that is deleted afterwards. Emulator-only checks call
``cluster.require_emulator(why)``, which skips them on a real cluster and says why.

:func:`restricted_kubeconfig` gives a test a second identity, allowed exactly some RBAC rules in the
test namespace, on either side.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from kjob.testing.emulator import Emulator, host_process
from tests import realk8s

KUBECONFIG_ENV = realk8s.KUBECONFIG_ENV
IMAGE = "busybox:1.36"


@dataclass
class Cluster:
    kind: str
    api: Any
    batch: Any
    core: Any
    namespace: str
    timeout: float
    workdir: Path  # for files a test writes (kubeconfigs)
    emulator: Emulator | None = None

    def require_emulator(self, why: str) -> Emulator:
        if self.emulator is None:
            pytest.skip(f"emulator only: {why}")
        return self.emulator

    def job(
        self,
        name: str,
        script: str,
        *,
        generate: bool = False,
        labels: dict[str, str] | None = None,
        **spec: Any,
    ) -> dict[str, Any]:
        """A batch/v1 Job running ``sh -c script`` in one container named ``main``."""
        meta: dict[str, Any] = {"generateName" if generate else "name": name}
        if labels:
            meta["labels"] = labels
        pod_spec: dict[str, Any] = {
            "restartPolicy": spec.pop("restart_policy", "Never"),
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": IMAGE, "command": ["sh", "-c", script]}],
        }
        body: dict[str, Any] = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": {"backoffLimit": 0, **spec, "template": {"spec": pod_spec}},
        }
        return body

    def pod(self, name: str, script: str = "true", **spec: Any) -> dict[str, Any]:
        """A bare pod running ``sh -c script`` in one container ``main``; ``resources`` and
        ``volume_mounts`` go to the container, anything else to the pod's spec."""
        container: dict[str, Any] = {"name": "main", "image": IMAGE, "command": ["sh", "-c", script]}
        if "resources" in spec:
            container["resources"] = spec.pop("resources")
        if "volume_mounts" in spec:
            container["volumeMounts"] = spec.pop("volume_mounts")
        pod_spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [container]}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {**pod_spec, **spec}}

    def scheduled(self, name: str) -> Any:
        """The pod's ``PodScheduled`` condition once the scheduler has set it (waits for it)."""

        def condition() -> Any:
            pod = self.core.read_namespaced_pod(name, self.namespace)
            conds = [c for c in pod.status.conditions or [] if c.type == "PodScheduled"]
            return conds[0] if conds else None

        return self.wait(condition, f"the scheduler to look at pod {name}")

    def create_job(self, body: dict[str, Any]) -> Any:
        return self.batch.create_namespaced_job(self.namespace, body)

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02 if self.emulator is not None else 0.5)

    def finished(self, name: str) -> Any:
        """Wait for the Job's Complete or Failed condition; return the Job."""

        def done() -> Any:
            job = self.batch.read_namespaced_job(name, self.namespace)
            for c in job.status.conditions or []:
                if c.type in ("Complete", "Failed") and c.status == "True":
                    return job
            return None

        return self.wait(done, f"job {name} to finish")

    def pods(self, job_name: str) -> list[Any]:
        return list(
            self.core.list_namespaced_pod(self.namespace, label_selector=f"job-name={job_name}").items
        )


@pytest.fixture(scope="session", params=["emulator", pytest.param("real", marks=pytest.mark.real_cluster)])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    emulator: Emulator | None = None
    if request.param == "real":
        kubeconfig, timeout = realk8s.kubeconfig(), 180.0  # skips, saying how to start one, if unset
        workdir = tmp_path_factory.mktemp("contract-real")
    else:
        emulator = Emulator(
            host_process(),
            tick=0.01,
            pod_backoff=0.05,
            bookmark_interval=0.2,
            default_storage_class=None,  # the real test cluster has no StorageClass
        ).start()
        workdir = tmp_path_factory.mktemp("contract")
        kubeconfig, timeout = emulator.write_kubeconfig(workdir / "kubeconfig"), 60.0
    api = realk8s.connect(kubeconfig)
    core = client.CoreV1Api(api)
    namespace = f"kjob-contract-{secrets.token_hex(3)}"
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        yield Cluster(request.param, api, client.BatchV1Api(api), core, namespace, timeout, workdir, emulator)
    finally:
        try:
            core.delete_namespace(namespace)
        finally:
            api.close()
            if emulator is not None:
                emulator.close()


# ------------------------------------------------------------------------- a restricted identity
Rules = Sequence[Mapping[str, Sequence[str]]]


def restricted_kubeconfig(cluster: Cluster, rules: Rules, *, name: str | None = None) -> Path:
    """A kubeconfig (context namespace: the test namespace) for an identity allowed exactly
    ``rules`` in the test namespace, and nothing else but what every user may do.

    ``rules`` are RBAC ``PolicyRule`` s: ``[{"apiGroups": ["batch"], "resources": ["jobs"], "verbs":
    ["get", "list"]}]`` (``apiGroups`` is required, as for a Role). The identity is the
    ServiceAccount ``name`` (default: a fresh ``restricted-…``), so its user is
    ``system:serviceaccount:<namespace>:<name>``. On a real cluster it is a ServiceAccount, a Role
    and a RoleBinding of that name and a token from the TokenRequest API (all removed with the
    namespace); on the emulator, an identity from ``Emulator.add_identity``.
    """
    name = name or f"restricted-{secrets.token_hex(3)}"
    ns = cluster.namespace
    path = cluster.workdir / f"kubeconfig-{name}"
    granted_by = f'RoleBinding "{name}/{ns}" of Role "{name}" to ServiceAccount "{name}/{ns}"'
    user = f"system:serviceaccount:{ns}:{name}"
    if cluster.emulator is not None:
        for rule in rules:
            if not rule.get("apiGroups"):
                raise ValueError("resource rules must supply at least one api group (as a Role must)")
        token = cluster.emulator.add_identity(user, rules, namespace=ns, granted_by=granted_by)
        return cluster.emulator.write_kubeconfig(path, namespace=ns, context=name, token=token)
    rbac = client.RbacAuthorizationV1Api(cluster.api)
    cluster.core.create_namespaced_service_account(ns, {"metadata": {"name": name}})
    rbac.create_namespaced_role(ns, {"metadata": {"name": name}, "rules": [dict(r) for r in rules]})
    rbac.create_namespaced_role_binding(
        ns,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
    )
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    token = cluster.core.create_namespaced_service_account_token(name, ns, request).status.token
    _write_token_kubeconfig(path, cluster.api.configuration, token, namespace=ns, context=name)
    if rules:
        _wait_until_granted(cluster, path, rules[0])
    return path


def _write_token_kubeconfig(path: Path, admin: Any, token: str, *, namespace: str, context: str) -> None:
    """A kubeconfig for the admin's server (and CA) with a bearer token as the user."""
    server: dict[str, Any] = {"server": admin.host}
    if admin.ssl_ca_cert:
        server["certificate-authority-data"] = base64.b64encode(Path(admin.ssl_ca_cert).read_bytes()).decode()
    elif not admin.verify_ssl:
        server["insecure-skip-tls-verify"] = True
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": server}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}
        ],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)


def _wait_until_granted(cluster: Cluster, kubeconfig: Path, rule: Mapping[str, Sequence[str]]) -> None:
    """RBAC takes a moment to see a new RoleBinding: wait until the first rule is in force."""
    attrs = {
        "namespace": cluster.namespace,
        "verb": rule["verbs"][0],
        "group": rule["apiGroups"][0],
        "resource": rule["resources"][0],
    }
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"}
    with realk8s.connect(kubeconfig) as api:
        authz = client.AuthorizationV1Api(api)

        def granted() -> bool:
            answer = authz.create_self_subject_access_review(
                {**review, "spec": {"resourceAttributes": attrs}}
            )
            return bool(answer.status.allowed)

        cluster.wait(granted, f"the new RoleBinding to grant {attrs}", timeout=30)
