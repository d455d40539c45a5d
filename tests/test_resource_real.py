"""Resource templates on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped without it): the workflow
``tests/data/resource_templates.yaml`` run once on the Kubernetes backend and once on the local backend
acting on the cluster, side by side.  It creates a ConfigMap, a Job that succeeds and one that fails
(successCondition / failureCondition), passes jsonPath and jqFilter outputs on, then patches (merge),
reads and deletes the ConfigMap."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, kjob_env
from tests.realk8s import Namespace, namespace

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

WORKFLOW = REPO / "tests" / "data" / "resource_templates.yaml"


def run(ns: Namespace, home: Path, backend: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "kjob", "run", "--backend", backend, "-n", ns.name, str(WORKFLOW)],
        capture_output=True,
        text=True,
        env=kjob_env(home, ns.kubeconfig),
        cwd=REPO,
        timeout=180,
        check=False,
    )
    run_id = done.stdout.split()[1]
    record = json.loads((home / "runs" / run_id / "run.json").read_text())
    return done, record


def nodes(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in record["nodes"]}


def test_resource_templates_on_both_backends(tmp_path: Path) -> None:
    with namespace("kjob-res") as cluster_ns, namespace("kjob-res-local") as local_ns:
        with ThreadPoolExecutor(2) as pool:
            on_cluster = pool.submit(run, cluster_ns, tmp_path / "k8s", "kubernetes")
            on_host = pool.submit(run, local_ns, tmp_path / "local", "local")
            results = {"kubernetes": on_cluster.result(), "local": on_host.result()}
        for backend, (done, record) in results.items():
            assert done.returncode == 0, f"{backend}: {done.stdout}{done.stderr}"
            by_id = nodes(record)
            assert by_id["bad-job"]["phase"] == "Failed"
            failed = "failure condition 'status.failed>0' evaluated true"
            assert [a["message"] for a in by_id["bad-job"]["attempts"]] == [failed, failed]  # retried once
            assert by_id["after-bad"]["phase"] == "Succeeded"
            job_name = by_id["good-job"]["outputs"]["parameters"]["job-name"]
            assert job_name.startswith(f"{record['run_id']}-exit-0-")
            assert by_id["good-job"]["outputs"]["parameters"]["completions"] == "1"
            assert by_id["read-settings"]["outputs"]["parameters"]["size"] == "4"
            assert all(n["phase"] == "Succeeded" for k, n in by_id.items() if k != "bad-job")
        # what the runs left: the settings deleted, the Jobs there; on Kubernetes owned by the run
        for backend, ns in (("kubernetes", cluster_ns), ("local", local_ns)):
            run_id = results[backend][1]["run_id"]
            assert not [
                c for c in ns.core.list_namespaced_config_map(ns.name).items if "settings" in c.metadata.name
            ]
            jobs = {j.metadata.name: j for j in ns.batch.list_namespaced_job(ns.name).items}
            good = jobs[nodes(results[backend][1])["good-job"]["outputs"]["parameters"]["job-name"]]
            owners = [(o.kind, o.name) for o in good.metadata.owner_references or []]
            assert owners == ([("ConfigMap", run_id)] if backend == "kubernetes" else [])
        assert "setOwnerReference has no owner on the local backend" in results["local"][0].stderr
