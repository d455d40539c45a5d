"""Argo expressions on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped without it), in one run of
tests/data/expressions.yaml: {{= }} tags, valueFrom.expression / .parameter, fromExpression and
retryStrategy.expression, with the same results as on the local backend."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, kjob_env
from tests.realk8s import Namespace, namespace, wait_bound, workspace_claim
from tests.test_local_expressions import DATA, check_expressions_run

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with namespace("kjob-expr") as made:
        yield made


def test_expressions_on_the_real_cluster(ns: Namespace, tmp_path: Path) -> None:
    workspace_claim(ns, "kjob-work")  # the artifacts (fromExpression) go through the run workspace
    wait_bound(ns, "kjob-work")
    home = tmp_path / "home"
    run_id = "expressions-real"
    command = ["run", str(DATA / "expressions.yaml"), "--backend", "kubernetes", "-n", ns.name]
    command += ["--run-id", run_id, "--workspace-pvc", "kjob-work"]
    done = subprocess.run(
        [sys.executable, "-m", "kjob", *command],
        env=kjob_env(home, ns.kubeconfig),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads((home / "runs" / run_id / "run.json").read_text())
    check_expressions_run({n["id"]: n for n in record["nodes"]})
