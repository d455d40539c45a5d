"""The Kubernetes backend's benchmark runs (small sizes) and reports sane figures; no timing asserted."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_the_kubernetes_benchmark_runs_and_counts_what_it_should(tmp_path: Path) -> None:
    out = tmp_path / "k8s.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_k8s.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "API requests" in done.stdout and "PROBLEM" not in done.stdout, done.stdout
    runs = json.loads(out.read_text())["runs"]

    dag = next(r for r in runs if r["case"].startswith("dag"))
    assert dag["code"] == 0 and dag["duplicates"] == 0
    assert dag["jobs_created"] == dag["tasks"] == dag["pods"]  # one Job (and pod) per task, once
    assert dag["requests"]["create jobs"] == dag["tasks"]
    assert 1 <= dag["per_task"] <= 2  # the creates plus a few requests per run
    assert dag["latency"]["n"] == dag["tasks"] - 10  # every task after the first layer (10 wide)
    assert all(v > 0 and math.isfinite(v) for v in dag["latency_ms"])
    assert dag["latency"]["p50"] <= dag["latency"]["p99"]
    assert dag["run_s"] > 0 and dag["startup_s"] > 0

    fans = [r for r in runs if r["case"].startswith("fan-out")]
    assert fans and all(r["code"] == 0 and r["pods"] == r["tasks"] for r in fans)
    indexed = [r for r in fans if "--no-indexed-jobs" not in r["options"]]
    per_item = [r for r in fans if "--no-indexed-jobs" in r["options"]]
    if per_item:  # the switch exists: one Indexed Job (plus the task after it) against a Job per item
        assert [r["jobs_created"] for r in indexed] == [2]
        assert [r["jobs_created"] for r in per_item] == [per_item[0]["tasks"]]
        assert indexed[0]["total_requests"] < per_item[0]["total_requests"]
