"""``kjob plan --check-quota`` against the real API server (``KJOB_TEST_KUBECONFIG``; skipped
without it): the verdict read from a namespace's ResourceQuota and LimitRange is the one its
admission then gives the pods of ``kjob run --backend kubernetes``."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO, kjob_env
from tests.realk8s import Namespace, namespace

pytestmark = [pytest.mark.real_cluster]

LIMITS = [
    {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "mem"},
        "spec": {"hard": {"requests.memory": "1Gi", "pods": "10"}},
    },
    {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "defaultRequest": {"memory": "300Mi"}}]},
    },
]


def _workflow(tmp_path: Path, name: str, items: int) -> str:
    """A quick task, then ``items`` at once (each lives 2 s, so they overlap); no requests: the LimitRange
    gives each container 300Mi."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {{name: {name}}}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {{name: first, template: quick}}
                  - {{name: many, template: work, dependencies: [first], withItems: {list(range(items))}}}
              - name: quick
                container:
                  image: busybox
                  command: [sh, -c, "true"]
              - name: work
                container:
                  image: busybox
                  command: [sh, -c, "sleep 2"]
            """
        )
    )
    return str(path)


def _kjob(ns: Namespace, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args, "-n", ns.name],
        capture_output=True,
        text=True,
        env=kjob_env(home, ns.kubeconfig),
        cwd=REPO,
        timeout=120,
        check=False,
    )


def _refusals(ns: Namespace, run: str) -> list[str]:
    """The API server's refusals of pods of the run's Jobs (the Job controller's FailedCreate events)."""
    events = ns.core.list_namespaced_event(ns.name, field_selector="reason=FailedCreate").items
    return [e.message for e in events if e.involved_object.name.startswith(f"{run}-")]


@contextlib.contextmanager
def _limited(prefix: str) -> Iterator[Namespace]:
    """A namespace of its own holding :data:`LIMITS`."""
    with namespace(prefix) as ns:
        for obj in LIMITS:
            create = ns.core.create_namespaced_resource_quota
            if obj["kind"] == "LimitRange":
                create = ns.core.create_namespaced_limit_range
            create(ns.name, obj)
        yield ns


def _check_and_run(
    ns: Namespace, tmp_path: Path, name: str, items: int
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str], list[str]]:
    """``kjob plan --check-quota`` of the workflow, then ``kjob run`` of it, and the refusals it met."""
    home = tmp_path / f"home-{name}"
    home.mkdir()
    path = _workflow(tmp_path, name, items)
    checked = _kjob(ns, home, "plan", path, "--check-quota")
    ran = _kjob(ns, home, "run", path, "--backend", "kubernetes")
    return checked, ran, _refusals(ns, name)


def test_check_quota_verdict_is_what_admission_does(tmp_path: Path) -> None:
    # the case over the quota and the one within it, each in a namespace of its own, side by side
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        over_ns = stack.enter_context(_limited("kjob-quota"))
        fits_ns = stack.enter_context(_limited("kjob-quota"))
        over_case = pool.submit(_check_and_run, over_ns, tmp_path, "over", 4)
        fits_case = pool.submit(_check_and_run, fits_ns, tmp_path, "fits", 3)
        checked, ran, refused = over_case.result()
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert (
            "level 1 (4 pods): does not fit\n"
            "  resourcequota/mem: requests.memory needs 1.17Gi, 1Gi left (hard 1Gi, used 0): 176Mi short"
        ) in checked.stdout
        assert ran.returncode == 0, ran.stdout + ran.stderr  # the refused pod is made once one ends
        assert refused and all("exceeded quota: mem" in m for m in refused), refused
        assert "used: requests.memory=900Mi, limited: requests.memory=1Gi" in refused[0]

        checked, ran, refused = fits_case.result()
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.splitlines()[-1] == "all levels fit"
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert refused == []
