"""``kjob logs`` and the failure summary of a Kubernetes run, read from its pods as ``kubectl logs``
reads them, on the emulator and on the real cluster: ``--tail``, ``--timestamps``, ``-f`` following a
run into its next task until it ends, and a failed task's last lines under ``kjob run``'s summary."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from kjob.runs.logs import parse_stamp
from tests.conftest import REPO, kjob_env
from tests.contract import test_kjob_on_cluster as cli_tests
from tests.contract.conftest import Cluster
from tests.contract.test_kjob_on_cluster import Kjob, explain, start_kjob, write

# the CLI pointed at the test's namespace: the fixtures of test_kjob_on_cluster
kubeconfig = cli_tests.kubeconfig
on_cluster = cli_tests.on_cluster

PRINTS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: prints-RUN}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: counter, template: counter}
      - {name: fails, template: fails}
  - name: counter
    container: {image: alpine, command: [sh, -c, 'for i in 1 2 3 4 5; do echo "n $i :100: [b]"; done']}
  - name: fails
    container: {image: alpine, command: [sh, -c, 'echo first; echo bad thing >&2; exit 2']}
"""
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_tail_timestamps_and_the_failure_summary_read_from_the_pods(
    cluster: Cluster, on_cluster: Kjob, kubeconfig: Path, tmp_path: Path
) -> None:
    run_id = f"prints-{cluster.kind}"
    done = on_cluster("run", str(write(tmp_path, "prints.yaml", PRINTS.replace("RUN", cluster.kind))))
    assert done.code == 1, explain(done)
    assert done.stdout.endswith(
        f"\nfails failed: exit code 2. Its last lines:\n  first\n  bad thing\n  all of it: kjob logs {run_id} fails\n"
    ), explain(done)

    tail = on_cluster("logs", run_id, "counter", "--tail", "2")
    assert (tail.code, tail.stdout) == (0, "n 4 :100: [b]\nn 5 :100: [b]\n"), explain(tail)
    every = on_cluster("logs", run_id, "--tail", "1")
    assert sorted(every.stdout.splitlines()) == ["counter: n 5 :100: [b]", "fails: bad thing"], explain(every)
    elsewhere = tmp_path / "elsewhere"  # a machine without the run's record: read from the cluster's Jobs
    elsewhere.mkdir()
    there = subprocess.run(
        [
            sys.executable,
            "-m",
            "kjob",
            "logs",
            run_id,
            "counter",
            "--tail",
            "1",
            "--kubeconfig",
            str(kubeconfig),
            "-n",
            cluster.namespace,
        ],
        env=kjob_env(elsewhere),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (there.returncode, there.stdout) == (0, "n 5 :100: [b]\n"), there.stderr

    stamped = on_cluster("logs", run_id, "counter", "--timestamps", "--tail", "3")
    assert stamped.code == 0, explain(stamped)
    attempt = done.nodes()["counter"]["attempts"][0]
    texts = []
    for line in stamped.stdout.splitlines():
        stamp, _, text = line.partition(" ")
        if cluster.kind == "emulator" or STAMP.fullmatch(stamp):
            # realk8s's node agent keeps no times (it ignores ?timestamps=true): kjob then prints none
            assert STAMP.fullmatch(stamp), line
            at = parse_stamp(stamp)
            assert at is not None and attempt["queued"] - 2 <= at <= attempt["finished"] + 2, (line, attempt)
            texts.append(text)
        else:
            texts.append(line)
    assert texts == ["n 3 :100: [b]", "n 4 :100: [b]", "n 5 :100: [b]"], stamped.stdout


FOLLOWED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: followed-RUN}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: first}
      - {name: second, depends: first, template: second}
  - name: first
    container:
      image: alpine
      command: [sh, -c, 'echo one; while [ ! -e "$GO" ]; do sleep 0.1; done; echo two']
      env: [{name: GO, value: "GO_FILE"}]
  - name: second
    container: {image: alpine, command: [echo, three]}
"""


def test_follow_streams_a_running_task_then_the_next_until_the_run_ends(
    cluster: Cluster, kjob_home: Path, kubeconfig: Path, tmp_path: Path
) -> None:
    """The first task waits for a file that the test makes once ``kjob logs -f`` has printed its first
    line (the pods of both clusters are processes of this machine; /dev/shm is not their private /tmp)."""
    go = Path("/dev/shm") / f"kjob-follow-{secrets.token_hex(4)}"
    run_id = f"followed-{cluster.kind}"
    wf = write(tmp_path, "followed.yaml", FOLLOWED.replace("RUN", cluster.kind).replace("GO_FILE", str(go)))
    where = ("--kubeconfig", str(kubeconfig), "-n", cluster.namespace)
    run = start_kjob(kjob_home, "run", str(wf), *where)
    follow: Any = None
    try:
        record = kjob_home / "runs" / run_id / "run.json"
        cluster.wait(lambda: _first_started(record), "the first task to start")
        follow = start_kjob(kjob_home, "logs", run_id, "-f", *where)
        assert follow.stdout.readline() == "first: one\n"  # read while the task still runs
        go.touch()
        out, err = follow.communicate(timeout=120)
        assert (follow.returncode, out, err) == (0, "first: two\nsecond: three\n", "")
        assert run.wait(timeout=120) == 0
    finally:
        go.unlink(missing_ok=True)
        for proc in (run, follow):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def _first_started(record: Path) -> bool:
    """Whether the run's record says the task ``first`` has started."""
    try:
        nodes = json.loads(record.read_text())["nodes"]
    except (OSError, ValueError, KeyError):
        return False
    return any(n["id"] == "first" and n["attempts"] and n["attempts"][0]["started"] for n in nodes)
