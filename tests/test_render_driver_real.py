"""Driver plans and CronJobs on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped without it).

The objects :func:`kjob.render.driver.driver_plan` makes are created as a GitOps tool would (every
object of the plan, nothing else), and the cluster does the rest: the driver pod runs ``kjob run``
with the in-cluster configuration of its own ServiceAccount, whose Role is the only thing that lets it
touch anything (a fresh namespace's default account may do nothing).  realk8s's node agent runs
containers on this machine and ignores images, so the driver's command is this checkout's Python
(for ``kjob plan -o DIR`` + ``kubectl apply -k DIR``, set by a kustomize patch, as a user's overlay
would point it at their own image's command).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, utils

from kjob.render import names, permissions
from kjob.render.driver import DriverOptions, driver_plan
from kjob.spec import load_text
from tests.conftest import EXAMPLES, REPO
from tests.realk8s import KUBECTL_CACHE, JobWatch, Namespace, kubectl_binary, namespace

pytestmark = [pytest.mark.real_cluster]

DRIVER = (sys.executable, "-m", "kjob")  # the "image" of realk8s is this machine


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    with namespace("kjob-driver") as made:
        yield made


def _plan(ns: Namespace, text: str, **options: Any) -> list[dict[str, Any]]:
    workflow = load_text(text, path="workflow.yaml").workflows[0]
    return driver_plan(workflow, text, DriverOptions(namespace=ns.name, command=DRIVER, **options))


def _create(ns: Namespace, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        utils.create_from_dict(ns.api, obj, namespace=ns.name)


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


def _finished(ns: Namespace, job: str) -> str | None:
    """``Complete`` or ``Failed`` once the Job has that condition."""
    status = ns.batch.read_namespaced_job_status(job, ns.name).status
    for condition in status.conditions or ():
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return str(condition.type)
    return None


def _wait_done(ns: Namespace, job: str, timeout: float = 90) -> str:
    ns.wait(f"Job {job} to finish", lambda: _finished(ns, job) is not None, timeout=timeout)
    return str(_finished(ns, job))


def _driver_logs(ns: Namespace, job: str) -> str:
    pods = ns.core.list_namespaced_pod(ns.name, label_selector=f"job-name={job}").items
    return "\n".join(ns.core.read_namespaced_pod_log(p.metadata.name, ns.name) for p in pods)


def _task_jobs(ns: Namespace, run_id: str) -> dict[str, str | None]:
    """Each task Job of the run and how it ended."""
    return {
        j["metadata"]["name"]: _finished(ns, j["metadata"]["name"])
        for j in ns.jobs(names.run_selector(run_id))
    }


def test_a_driver_plan_runs_the_workflow_under_its_own_service_account(ns: Namespace) -> None:
    objects = _plan(ns, (EXAMPLES / "01-basic-dag.yaml").read_text())
    job = _one(objects, "Job")["metadata"]["name"]
    account = _one(objects, "ServiceAccount")["metadata"]["name"]
    with JobWatch(ns) as watch:
        _create(ns, objects)
        assert _wait_done(ns, job) == "Complete", _driver_logs(ns, job)
    pods = ns.core.list_namespaced_pod(ns.name, label_selector=f"job-name={job}").items
    assert [p.spec.service_account_name for p in pods] == [account]
    tasks = _task_jobs(ns, job)  # the run id is the driver Job's name
    assert len(tasks) == 6 and set(tasks.values()) == {"Complete"}, tasks
    assert set(watch.added(job).values()) == {1}
    assert f"Workflow {job} Succeeded" in _driver_logs(ns, job)


def test_a_driver_plan_of_a_workflow_using_templates_runs_them_from_its_configmap(
    ns: Namespace, tmp_path: Path
) -> None:
    from kjob.spec.templates_dir import load_library
    from tests.test_template_ref import GREET, LIB, USES_REFS

    (tmp_path / "greet.yaml").write_text(GREET)
    (tmp_path / "lib.yaml").write_text(LIB)
    loaded = load_text(USES_REFS, path="workflow.yaml", templates=load_library([str(tmp_path)]))
    workflow = loaded.workflows[0]
    carried = loaded.carried_templates(workflow)
    options = DriverOptions(namespace=ns.name, command=DRIVER, templates_text=carried)
    objects = driver_plan(workflow, USES_REFS, options)
    job = _one(objects, "Job")["metadata"]["name"]
    _create(ns, objects)  # the driver pod has no --templates directory but the plan's own
    assert _wait_done(ns, job) == "Complete", _driver_logs(ns, job)
    tasks = _task_jobs(ns, job)
    assert len(tasks) == 3 and set(tasks.values()) == {"Complete"}, tasks  # a.one, a.two, b


def test_the_real_authorizer_grants_the_table_and_refuses_any_other_verb(ns: Namespace) -> None:
    objects = _plan(ns, (EXAMPLES / "03-conditional.yaml").read_text())
    _create(ns, [o for o in objects if o["kind"] in ("ServiceAccount", "Role", "RoleBinding")])
    account = _one(objects, "ServiceAccount")["metadata"]["name"]
    user = f"system:serviceaccount:{ns.name}:{account}"
    authz = client.AuthorizationV1Api(ns.api)

    def allowed(group: str, resource: str, verb: str) -> bool:
        name, _, sub = resource.partition("/")
        attributes = {"namespace": ns.name, "group": group, "resource": name, "verb": verb}
        if sub:
            attributes["subresource"] = sub
        review = {
            "spec": {"user": user, "groups": ["system:serviceaccounts"], "resourceAttributes": attributes}
        }
        return bool(authz.create_subject_access_review(review).status.allowed)

    # the API server's authorizer learns a new Role from its informer, a moment after it is created
    first = permissions.needed()[0]
    deadline = time.monotonic() + 15
    while not allowed(first.group, first.resource, first.verb) and time.monotonic() < deadline:
        time.sleep(0.2)
    for p in permissions.needed():
        assert allowed(p.group, p.resource, p.verb), f"{p.verb} {p.qualified} refused"
    unused = [
        ("", "secrets", "get"),
        ("", "pods", "delete"),
        ("", "pods", "create"),
        ("batch", "jobs", "update"),
    ]
    unused += [
        ("", "configmaps", "list"),
        ("batch", "cronjobs", "create"),
        ("rbac.authorization.k8s.io", "roles", "create"),
    ]
    assert [u for u in unused if allowed(*u)] == []

    # and a real request with the account's own token: the authenticator and the authorizer refuse it
    token = ns.core.create_namespaced_service_account_token(
        account, ns.name, {"spec": {"expirationSeconds": 600}}
    ).status.token
    cfg = client.Configuration()
    cfg.host = ns.api.configuration.host
    cfg.ssl_ca_cert = ns.api.configuration.ssl_ca_cert
    cfg.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(cfg) as as_driver:
        core = client.CoreV1Api(as_driver)
        core.list_namespaced_pod(ns.name)  # a verb of the table: allowed
        with pytest.raises(client.ApiException) as refused:
            core.list_namespaced_secret(ns.name)
        assert refused.value.status == 403


SLOW = textwrap.dedent(
    """\
    apiVersion: argoproj.io/v1alpha1
    kind: Workflow
    metadata: {name: slow-middle}
    spec:
      entrypoint: main
      templates:
      - name: main
        dag:
          tasks:
          - {name: first, template: quick}
          - {name: middle, template: slow, dependencies: [first]}
          - {name: last, template: quick, dependencies: [middle]}
      - name: quick
        container: {image: busybox, command: [sh, -c, "echo done"]}
      - name: slow
        container: {image: busybox, command: [sh, -c, "sleep 8; echo slept"]}
    """
)


def test_a_killed_driver_pod_is_resumed_by_the_jobs_next_pod_and_no_task_runs_twice(ns: Namespace) -> None:
    objects = _plan(ns, SLOW)
    job = _one(objects, "Job")["metadata"]["name"]
    with JobWatch(ns) as watch:
        _create(ns, objects)

        def middle_started() -> bool:
            return any(
                j["metadata"]["labels"].get(names.LABEL_TASK) == "middle"
                for j in ns.jobs(names.run_selector(job))
            )

        ns.wait("the middle task's Job", middle_started, timeout=60)
        (first_pod,) = ns.core.list_namespaced_pod(ns.name, label_selector=f"job-name={job}").items
        ns.core.delete_namespaced_pod(first_pod.metadata.name, ns.name, grace_period_seconds=0)
        assert _wait_done(ns, job) == "Complete", _driver_logs(ns, job)
        time.sleep(1)  # let the watch see the last events
    later = ns.core.list_namespaced_pod(ns.name, label_selector=f"job-name={job}").items
    assert first_pod.metadata.name not in {p.metadata.name for p in later}
    assert "(resumed)" in _driver_logs(ns, job)
    tasks = _task_jobs(ns, job)
    assert len(tasks) == 3 and set(tasks.values()) == {"Complete"}, tasks
    assert len(watch.added(job)) == 3 and set(watch.added(job).values()) == {1}, watch.added(job)


def test_the_seed_cronworkflow_is_a_cronjob_and_a_job_made_from_it_runs_the_workflow(ns: Namespace) -> None:
    objects = _plan(ns, (EXAMPLES / "07-cronworkflow.yaml").read_text())
    _create(ns, objects)
    name = _one(objects, "CronJob")["metadata"]["name"]
    held = ns.api.sanitize_for_serialization(ns.batch.read_namespaced_cron_job(name, ns.name))
    spec = held["spec"]
    assert (
        spec["schedule"],
        spec["timeZone"],
        spec["concurrencyPolicy"],
        spec["successfulJobsHistoryLimit"],
        spec["failedJobsHistoryLimit"],
        spec["suspend"],
    ) == ("0 2 * * *", "America/Los_Angeles", "Forbid", 3, 1, False)

    # what `kubectl create job --from=cronjob/NAME NAME` sends
    template = spec["jobTemplate"]
    job = f"{name}-manual"
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job,
            "labels": template["metadata"].get("labels", {}),
            "annotations": {
                **template["metadata"].get("annotations", {}),
                "cronjob.kubernetes.io/instantiate": "manual",
            },
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": name,
                    "uid": held["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": template["spec"],
    }
    ns.batch.create_namespaced_job(ns.name, body)
    assert _wait_done(ns, job) == "Complete", _driver_logs(ns, job)
    tasks = _task_jobs(ns, job)
    assert len(tasks) == 3 and set(tasks.values()) == {"Complete"}, tasks

    # the fire's Job owns its run: deleting it, as the CronJob's history limit does, deletes the run
    ns.batch.delete_namespaced_job(job, ns.name, propagation_policy="Background")

    def run_gone() -> bool:
        left = ns.core.list_namespaced_config_map(ns.name, field_selector=f"metadata.name={job}").items
        return not left and not ns.jobs(names.run_selector(job))

    ns.wait("the garbage collector to delete the run with its Job", run_gone, timeout=40)


# The command a user's overlay would set for their own image; here, this machine's kjob.
COMMAND_PATCH = """\
patches:
- target: {kind: Job}
  patch: |
    - op: replace
      path: /spec/template/spec/containers/0/command
      value: [%s, -m, kjob]
"""


@pytest.mark.parametrize(
    ("example", "args"),
    [
        ("03-conditional.yaml", ()),
        ("04-retries.yaml", ("-p", "failure-rate=0")),
        ("05-parallel-withparam.yaml", ("--driver-command", f"{sys.executable} -m kjob")),
    ],
)
def test_kubectl_apply_k_of_a_driver_plan_runs_the_example(
    ns: Namespace, tmp_path: Path, example: str, args: tuple[str, ...]
) -> None:
    """``kjob plan -o DIR --mode driver`` then ``kubectl apply -k DIR``, as a GitOps tool applies it
    (run-time ``when``, retries, a ``withParam`` fan-out: what a waves plan cannot do)."""
    kubectl = kubectl_binary()
    plan_dir = tmp_path / "plan"
    plan = ["plan", str(EXAMPLES / example), "-o", str(plan_dir), "--mode", "driver", "-n", ns.name, *args]
    subprocess.run(
        [sys.executable, "-m", "kjob", *plan],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    if "--driver-command" not in args:  # as a user's overlay would, for their own image
        with (plan_dir / "kustomization.yaml").open("a") as f:
            f.write(COMMAND_PATCH % sys.executable)
    docs = [
        yaml.safe_load(p.read_text())
        for p in sorted(plan_dir.glob("*.yaml"))
        if p.name != "kustomization.yaml"
    ]
    job = next(d for d in docs if d["kind"] == "Job")["metadata"]["name"]
    env = {"KUBECONFIG": str(ns.kubeconfig), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [kubectl, "--cache-dir", KUBECTL_CACHE, "apply", "-k", str(plan_dir)],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _wait_done(ns, job) == "Complete", _driver_logs(ns, job)
    assert f"Workflow {job} Succeeded" in _driver_logs(ns, job)
    tasks = _task_jobs(ns, job)
    assert tasks and set(tasks.values()) == {"Complete"}, tasks
