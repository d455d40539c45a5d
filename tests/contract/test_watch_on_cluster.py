"""``kjob watch`` of a Kubernetes run, on the emulator and the real cluster: from another machine (no
record of the run there: everything read from its ConfigMap and Jobs) while it runs, and from the
machine that runs it; both end with the run's exit code and show its tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, Completed, kjob_env
from tests.contract.conftest import IMAGE, KUBECONFIG_ENV, Cluster
from tests.contract.test_kjob_on_cluster import explain, write

WORKFLOW = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: watched}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {{name: first, template: slow}}
      - {{name: second, template: broken, dependencies: [first]}}
  - name: slow
    container: {{image: {IMAGE}, command: [sh, -c, "sleep 3; echo done"]}}
  - name: broken
    container: {{image: {IMAGE}, command: [sh, -c, "exit 3"]}}
"""


def _kjob(home: Path, *args: str) -> Completed:
    done = subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        capture_output=True,
        text=True,
        env=kjob_env(home),
        timeout=300,
        cwd=REPO,
        check=False,
    )
    return Completed(done.returncode, done.stdout, done.stderr, home)


def test_watch_follows_a_cluster_run_from_anywhere_and_exits_with_its_code(
    cluster: Cluster, tmp_path: Path
) -> None:
    if cluster.emulator is not None:
        config = cluster.emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace=cluster.namespace)
    else:
        config = Path(os.environ[KUBECONFIG_ENV])
    where = ["--kubeconfig", str(config), "-n", cluster.namespace]
    runner_home, elsewhere = tmp_path / "runner", tmp_path / "elsewhere"
    runner_home.mkdir()
    elsewhere.mkdir()
    path = write(tmp_path, "watched.yaml", WORKFLOW)
    running = subprocess.Popen(
        [sys.executable, "-m", "kjob", "run", str(path), *where],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kjob_env(runner_home),
        cwd=REPO,
    )
    try:
        record = runner_home / "runs" / "watched" / "run.json"
        for _ in range(1200):  # until the run exists in the cluster (its record is written after)
            if record.exists() or running.poll() is not None:
                break
            time.sleep(0.1)
        from_elsewhere = _kjob(elsewhere, "watch", "watched", "--interval", "0.5", *where)
    finally:
        out, err = running.communicate(timeout=300)
    assert running.returncode == 1, f"{out}\n{err}"
    assert from_elsewhere.code == 1, explain(from_elsewhere)
    assert "Workflow watched Failed" in from_elsewhere.stdout
    lines = from_elsewhere.stdout.splitlines()
    assert any(line.split()[:3] == ["first", "✔", "Succeeded"] for line in lines), explain(from_elsewhere)
    assert any(line.split()[:3] == ["second", "✖", "Failed"] for line in lines), explain(from_elsewhere)
    assert not (elsewhere / "runs").exists() or not any((elsewhere / "runs").iterdir())
    from_runner = _kjob(runner_home, "watch", "watched", *where)
    assert from_runner.code == 1, explain(from_runner)
    assert "Workflow watched Failed" in from_runner.stdout
