"""``kjob run --wait=false``: submit a run and return its id at once; something else watches it.

* **local**: a detached kjob (its own session, so closing the terminal does not end it) runs
  ``kjob resume RUN`` and writes what it prints to ``kjob.log`` in the run directory.  This returns
  once that kjob watches the run, so a ``kjob stop`` straight after reaches it.
* **kubernetes**: a run proceeds only while a kjob watches it, so the driver plan's objects
  (:mod:`kjob.render.driver`: ConfigMap, ServiceAccount, Role, RoleBinding, driver Job) are created
  and kjob runs inside the cluster; the run id is the driver Job's name.  Without ``--driver-image``
  this is refused (the default image is only as good as the cluster's copy of it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kjob.cli import console
from kjob.errors import KjobError
from kjob.rundir import RunDir

if TYPE_CHECKING:
    from kjob.backends.kubernetes import Cluster
    from kjob.spec.model import Workflow

WATCHER_LOG = "kjob.log"
WATCHER_START = 30.0  # seconds the detached kjob may take to take hold of the run


def watch_detached(
    run_dir: RunDir,
    *,
    source: str,
    workflow: Workflow,
    parameters: dict[str, str],
    parallelism: int | None,
    namespace: str,
) -> None:
    """Record the run as submitted, start a detached ``kjob resume`` on it, print the run id once
    it watches the run."""
    run_dir.write_record(
        {
            "run_id": run_dir.run_id,
            "workflow": source,
            "workflow_name": workflow.display_name,
            "backend": "local",
            "namespace": namespace,
            "parameters": parameters,
            "parallelism": parallelism,
            "uid": str(uuid.uuid4()),
            "phase": "Pending",
            "started": round(time.time(), 3),
            "nodes": [],
        }
    )
    log = (run_dir.path / WATCHER_LOG).open("ab")
    env = {**os.environ, "NO_COLOR": "1"}
    with log:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "kjob", "resume", run_dir.run_id],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=run_dir.path,
        )
    deadline = time.monotonic() + WATCHER_START
    while not run_dir.watched():
        if watcher.poll() is not None:
            raise KjobError(
                f"the kjob that was to watch run {run_dir.run_id} ended at once (exit {watcher.returncode})",
                hint=f"see {run_dir.path / WATCHER_LOG}",
            )
        if time.monotonic() > deadline:
            raise KjobError(f"the kjob watching run {run_dir.run_id} did not start within {WATCHER_START:g}s")
        time.sleep(0.02)
    console.line(run_dir.run_id)
    console.notice(
        f"run {run_dir.run_id} goes on in the background (pid {watcher.pid}, "
        f"log {run_dir.path / WATCHER_LOG}); `kjob stop {run_dir.run_id}` stops it"
    )


def submit_driver(
    conn: Cluster,
    workflow: Workflow,
    workflow_text: str,
    *,
    image: str | None,
    command: str | None,
    parameters: dict[str, str],
    parallelism: int | None,
    workspace_claim: str | None,
    templates_text: str,
) -> None:
    """Create the driver plan's objects in ``conn.namespace`` and print the run id (the Job's name)."""
    if image is None:
        raise KjobError(
            "--wait=false on Kubernetes runs kjob in the cluster (a driver Job), and needs its image",
            hint="give --driver-image IMAGE (the README's Containerfile builds one), "
            "or leave out --wait=false",
        )
    if workflow.cron is not None:
        raise KjobError(
            "a CronWorkflow is scheduled, not submitted", hint="`kjob cron` or `kjob plan --mode driver`"
        )
    from kjob.backends.kubernetes import permissions, podlevel
    from kjob.cli.plan import split_command
    from kjob.render import driver

    podlevel.require(conn, workflow)  # here, not only in the driver's pod: the submitter sees why
    # what the driver may do, the submitter must hold too: a Role grants only what its creator holds
    submitting = {permissions.Need.SUBMIT_DRIVER} | permissions.features(workspace_claim=workspace_claim)
    permissions.check(conn, submitting)
    options = driver.DriverOptions(
        image=image,
        command=split_command(command) if command is not None else driver.DEFAULT_COMMAND,
        parameters=parameters,
        namespace=conn.namespace,
        workspace_claim=workspace_claim,
        parallelism=parallelism,
        templates_text=templates_text,
    )
    objects = driver.driver_plan(workflow, workflow_text, options)
    for obj in objects:
        _create(conn, obj, is_run=obj["kind"] == "Job")
    run_id = str(objects[-1]["metadata"]["name"])
    console.line(run_id)
    console.notice(
        f"run {run_id} is driven by Job {run_id} in namespace {conn.namespace}; "
        f"`kjob stop {run_id}` stops it, `kjob resume {run_id}` watches it from here"
    )


def _create(conn: Cluster, obj: dict[str, Any], *, is_run: bool) -> None:
    """Create one object; one that exists already is kept (the same plan submitted before), except
    the driver Job: that run exists."""
    from kubernetes import client

    from kjob.backends.kubernetes.cluster import describe_error

    kind, name = obj["kind"], obj["metadata"]["name"]
    body: Any = obj
    rbac = client.RbacAuthorizationV1Api(conn.api)
    creates: dict[str, Callable[[], object]] = {
        "ConfigMap": lambda: conn.core.create_namespaced_config_map(conn.namespace, body),
        "ServiceAccount": lambda: conn.core.create_namespaced_service_account(conn.namespace, body),
        "Role": lambda: rbac.create_namespaced_role(conn.namespace, body),
        "RoleBinding": lambda: rbac.create_namespaced_role_binding(conn.namespace, body),
        "Job": lambda: conn.batch.create_namespaced_job(conn.namespace, body),
    }
    create = creates[kind]
    try:
        create()
    except client.ApiException as err:
        if err.status == 409 and is_run:
            raise KjobError(
                f"run {name} (this workflow with these parameters) was submitted already",
                hint=f"`kjob resume {name}` watches it; `kjob delete {name}` removes it",
            ) from None
        if err.status != 409:
            raise KjobError(f"could not create {kind} {name}: {describe_error(err)}") from None
