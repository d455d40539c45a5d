"""The Kubernetes backend's benchmark runs (small sizes) on the emulator and on a real cluster, and
reports sane figures; no timing asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.conftest import REPO
from tests.realk8s import connect, kubeconfig


def bench(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "k8s.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_k8s.py"), "--quick", "--json", str(out), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "API requests" in done.stdout and "PROBLEM" not in done.stdout, done.stdout
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def check_runs(runs: list[dict[str, Any]], fan_items: int) -> None:
    dag = next(r for r in runs if r["case"].startswith("dag"))
    assert dag["code"] == 0 and dag["duplicates"] == 0
    assert dag["jobs_created"] == dag["tasks"] == dag["pods"]  # one Job (and pod) per task, once
    assert dag["requests"]["create jobs"] == dag["tasks"]
    assert 1 <= dag["per_task"] <= 2  # the creates plus a few requests per run
    assert dag["total_requests"] == dag["client_requests"]  # the audit log and the client agree
    assert dag["latency"]["n"] == dag["tasks"] - 10  # every task after the first layer (10 wide)
    assert all(v > 0 and math.isfinite(v) for v in dag["latency_ms"])
    assert dag["latency"]["p50"] <= dag["latency"]["p99"]
    assert dag["controller"]["n"] == dag["tasks"]  # every Job's pod end and Complete were seen
    assert dag["server_latency"]["n"] == dag["latency"]["n"]
    assert dag["run_s"] > 0 and dag["startup_s"] > 0

    fans = [r for r in runs if r["case"].startswith("fan-out")]
    assert fans and all(r["code"] == 0 and r["pods"] == r["tasks"] == fan_items + 1 for r in fans)
    indexed = [r for r in fans if "--no-indexed-jobs" not in r["options"]]
    per_item = [r for r in fans if "--no-indexed-jobs" in r["options"]]
    # one Indexed Job (plus the task after it) against a Job per item; the dry-run probe that finds
    # out whether Indexed Jobs work is a request, not a Job
    assert [r["jobs_created"] for r in indexed] == [2]
    assert [r["requests"].get("create jobs (dry run)") for r in indexed] == [1]
    assert [r["jobs_created"] for r in per_item] == [fan_items + 1]
    assert indexed[0]["total_requests"] < per_item[0]["total_requests"]


def test_the_kubernetes_benchmark_runs_and_counts_what_it_should(tmp_path: Path) -> None:
    data = bench(tmp_path)
    assert data["mode"] == "emulator" and data["server_version"].startswith("v1.")
    assert data["fan_items"] == 20
    check_runs(data["runs"], 20)


@pytest.mark.real_cluster
@pytest.mark.slow
def test_the_kubernetes_benchmark_runs_on_a_real_cluster_and_leaves_nothing(tmp_path: Path) -> None:
    path = kubeconfig()  # skips without KJOB_TEST_KUBECONFIG
    data = bench(tmp_path, "--kubeconfig", str(path), "--fan-items", "5")
    assert data["mode"] == "cluster" and data["server_version"].startswith("v1.")
    assert data["fan_items"] == 5
    check_runs(data["runs"], 5)
    # every run had a namespace of its own, deleted afterwards
    api = connect(path)
    try:
        left = {ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items}
    finally:
        api.close()
    used = {r["namespace"] for r in data["runs"]}
    assert len(used) == len(data["runs"]) and not used & left
