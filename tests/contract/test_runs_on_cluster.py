"""``kjob list`` and ``kjob get`` of a Kubernetes run, on the emulator and the real cluster: from the
machine that ran it (its record completes what the cluster shows) and from one that did not (all of it
read from the run's ConfigMap and Jobs, as for a run a driver Job started)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Completed, kjob_env
from tests.contract.conftest import IMAGE, KUBECONFIG_ENV, Cluster
from tests.contract.test_kjob_on_cluster import explain, write

WORKFLOW = f"""\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{generateName: listed-}}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {{name: hello, template: say}}
      - {{name: polite, template: say, depends: hello, when: "{{{{tasks.hello.outputs.result}}}} == bye"}}
      - {{name: broken, template: broken, depends: hello}}
      - {{name: fan, template: say, depends: hello, withItems: [a, b]}}
  - name: say
    container: {{image: {IMAGE}, command: [echo, hello]}}
  - name: broken
    retryStrategy: {{limit: 1}}
    container: {{image: {IMAGE}, command: [sh, -c, "exit 3"]}}
"""

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
DURATION = re.compile(r"(?<![\w.])\d+(\.\d)?(s|m\d\ds)\b")


def tokens(text: str) -> list[list[str]]:
    """Each line's words, with times and durations (the run's own) as placeholders."""
    masked = DURATION.sub("DUR", TIME.sub("DATE TIME", text))
    return [line.split() for line in masked.splitlines()]


@pytest.fixture(scope="module")
def ran(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """One failed run in the cluster: its id, the kjob home that ran it, and the kubeconfig."""
    tmp = tmp_path_factory.mktemp("listed")
    if cluster.emulator is not None:
        config = cluster.emulator.write_kubeconfig(tmp / "kubeconfig", namespace=cluster.namespace)
    else:
        config = Path(os.environ[KUBECONFIG_ENV])
    home = tmp / "home"
    home.mkdir()
    path = write(tmp, "listed.yaml", WORKFLOW)
    done = _kjob(home, "run", str(path), "--kubeconfig", str(config), "-n", cluster.namespace)
    assert done.code == 1, explain(done)
    return done.run_id(), home, config


def _kjob(home: Path, *args: str) -> Completed:
    env = {**kjob_env(home), "TZ": "UTC"}
    done = subprocess.run(
        [sys.executable, "-m", "kjob", *args], capture_output=True, text=True, env=env, timeout=300, cwd=REPO
    )
    return Completed(done.returncode, done.stdout, done.stderr, home)


def _where(cluster: Cluster, config: Path) -> list[str]:
    return ["--kubeconfig", str(config), "-n", cluster.namespace]


def test_a_run_read_from_the_cluster_alone(
    cluster: Cluster, ran: tuple[str, Path, Path], tmp_path: Path
) -> None:
    run_id, _, config = ran
    elsewhere = tmp_path / "elsewhere"  # a machine that did not run it: no record
    elsewhere.mkdir()
    where = _where(cluster, config)
    listed = _kjob(elsewhere, "list", "-l", f"kjob.dev/run={run_id}", *where)
    assert listed.code == 0, explain(listed)
    assert tokens(listed.stdout) == [
        ["NAME", "STATUS", "STARTED", "DURATION", "PROGRESS"],
        [run_id, "Failed", "DATE", "TIME", "DUR", "4/4"],
    ]
    got = _kjob(elsewhere, "get", run_id, *where)
    assert got.code == 1, explain(got)
    lines = tokens(got.stdout)
    assert lines[:4] == [
        ["Name:", run_id],
        ["Workflow:", "listed", f"(configmap/{run_id})"],
        ["Backend:", "kubernetes,", "namespace", cluster.namespace],
        ["Status:", "Failed"],
    ]
    assert lines[4] == ["Message:", "broken", "failed"]  # as the kjob that ran it noted on the ConfigMap
    assert lines[8] == ["Progress:", "4/4"]
    assert lines[10] == ["STEP", "STATUS", "DURATION", "ATTEMPTS", "MESSAGE"]
    # the cluster keeps creation times to the second: tasks made in one second come in name order
    rows = {line[1]: line for line in lines[11:]}
    assert len(lines) == 16 and rows["hello"] == ["✔", "hello", "Succeeded", "DUR", "1"]
    assert rows["fan"] == ["✔", "fan", "Succeeded", "DUR"]
    # a fan-out batched as one Indexed Job names its items by index; one Job per item, by item too
    items = sorted(name for name in rows if name.startswith("fan("))
    assert items in (["fan(0)", "fan(1)"], ["fan(0:a)", "fan(1:b)"]), got.stdout
    assert [rows[i][0][-1] + rows[i][2] for i in items] == ["✔Succeeded", "✔Succeeded"]
    why = "BackoffLimitExceeded: Job has reached the specified backoff limit"
    assert rows["broken"] == ["✖", "broken", "Failed", "DUR", "2", *why.split()], got.stdout
    data = json.loads(_kjob(elsewhere, "get", run_id, "-o", "json", *where).stdout)
    assert data["backend"] == "kubernetes" and data["namespace"] == cluster.namespace
    broken = next(n for n in data["nodes"] if n["id"] == "broken")
    assert [a["phase"] for a in broken["attempts"]] == ["Failed", "Failed"]
    missing = _kjob(elsewhere, "get", "no-such-run", *where)
    assert (missing.code, missing.stdout) == (2, "")
    assert missing.stderr == (
        f"error: no run 'no-such-run' in namespace {cluster.namespace}\n"
        "  hint: `kjob list -A` shows the runs of every namespace; name one with -n\n"
    )


def test_a_run_from_the_machine_that_ran_it(cluster: Cluster, ran: tuple[str, Path, Path]) -> None:
    run_id, home, config = ran
    where = _where(cluster, config)
    selector = f"kjob.dev/run={run_id}"
    listed = _kjob(
        home,
        "list",
        "-A",
        "-l",
        selector,
        "-o",
        "wide",
        "--backend",
        "kubernetes",
        "--kubeconfig",
        str(config),
    )
    assert tokens(listed.stdout)[1] == [
        *[run_id, "Failed", "DATE", "TIME", "DUR", "5/5", "kubernetes", cluster.namespace, "listed"],
        *["broken", "failed"],
    ], explain(listed)
    got = _kjob(home, "get", run_id, *where)
    assert got.code == 1, explain(got)
    steps = [line[:3] for line in tokens(got.stdout)[-7:]]
    assert steps == [
        ["✖", "main", "Failed"],
        ["├─✔", "hello", "Succeeded"],
        ["├─○", "polite", "Skipped"],
        ["├─✖", "broken", "Failed"],
        ["└─✔", "fan", "Succeeded"],
        ["├─✔", "fan(0:a)", "Succeeded"],
        ["└─✔", "fan(1:b)", "Succeeded"],
    ]
