"""``synchronization`` and ``memoize`` on the local backend, with real processes: two runs that share
a mutex never overlap (the tasks' own timestamps show it), a semaphore's limit comes from
``$KJOB_HOME/semaphores.yaml``, and a memoized task runs once across runs."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kjob.backends.coordination import Lock
from kjob.backends.locallocks import FileLocks
from kjob.errors import KjobError
from tests.conftest import REPO, kjob_env

MUTEX = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: locked-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: dir}, {name: who}]}
  templates:
  - name: main
    steps:
    - - {name: work, template: locked, withItems: [1, 2]}
  - name: locked
    synchronization:
      mutexes: [{name: shared}]
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo {{workflow.parameters.who}} $(date +%s.%N) $(sleep 0.1; date +%s.%N) >> {{workflow.parameters.dir}}/ledger"]
"""


@pytest.mark.slow
def test_two_local_runs_sharing_a_mutex_never_overlap(kjob_home: Path, tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(MUTEX)
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kjob",
                "run",
                str(tmp_path / "wf.yaml"),
                "-p",
                f"dir={tmp_path}",
                "-p",
                f"who={who}",
            ],
            env=kjob_env(kjob_home),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for who in ("first", "second")
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    spans = sorted(
        (float(start), float(end), who)
        for who, start, end in (line.split() for line in (tmp_path / "ledger").read_text().splitlines())
    )
    assert sorted(who for _, _, who in spans) == ["first", "first", "second", "second"]
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert end <= start, spans


def test_a_semaphore_takes_its_limit_from_the_semaphores_file(kjob_home: Path) -> None:
    locks = FileLocks(kjob_home)
    semaphore = Lock("semaphore", "default", "my-config", "workflow")
    with pytest.raises(KjobError, match="semaphore my-config/workflow has no limit on the local backend"):
        locks.acquire(semaphore, "a")
    (kjob_home / "semaphores.yaml").write_text("my-config/workflow: 2\n")
    assert locks.acquire(semaphore, "a") is None
    assert locks.acquire(semaphore, "b") is None
    denied = locks.acquire(semaphore, "c")
    assert denied is not None and denied.message.endswith("Lock status: 0/2")
    locks.release(semaphore, "a")
    assert locks.acquire(semaphore, "c") is None
    locks.close()


def test_a_lock_held_by_a_process_that_died_is_free(kjob_home: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, pathlib\n"
            "from kjob.backends.coordination import Lock\n"
            "from kjob.backends.locallocks import FileLocks\n"
            "locks = FileLocks(pathlib.Path(sys.argv[1]))\n"
            "assert locks.acquire(Lock('mutex', 'default', 'm'), 'them') is None\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
            str(kjob_home),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        mutex = Lock("mutex", "default", "m")
        locks = FileLocks(kjob_home)
        assert locks.acquire(mutex, "us") is not None
        holder.kill()
        holder.wait()
        assert locks.acquire(mutex, "us") is None
        locks.close()
    finally:
        holder.kill()
        holder.wait()


MEMO = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: memo-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: dir}]}
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - {name: show, template: show, arguments: {parameters: [{name: v, value: "{{steps.make.outputs.parameters.v}}"}]}}
  - name: make
    memoize:
      key: make-v1
      maxAge: 1h
      cache: {configMap: {name: my-cache}}
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo ran >> {{workflow.parameters.dir}}/ledger; echo -n forty-two > /tmp/v"]
    outputs: {parameters: [{name: v, valueFrom: {path: /tmp/v}}]}
  - name: show
    inputs: {parameters: [{name: v}]}
    container: {image: busybox, command: [sh, -c], args: ["echo got {{inputs.parameters.v}} >> {{workflow.parameters.dir}}/ledger"]}
"""


def test_a_memoized_task_runs_once_and_the_next_run_takes_its_outputs_from_the_cache(
    kjob: Any, kjob_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "wf.yaml").write_text(MEMO)
    first = kjob("run", str(tmp_path / "wf.yaml"), "-p", f"dir={tmp_path}")
    second = kjob("run", str(tmp_path / "wf.yaml"), "-p", f"dir={tmp_path}")
    assert (first.code, second.code) == (0, 0), second.stdout + second.stderr
    assert (tmp_path / "ledger").read_text().splitlines() == ["ran", "got forty-two", "got forty-two"]
    make = second.nodes()["make"]
    assert make["phase"] == "Succeeded"
    assert make["message"].startswith("cached: memoize key make-v1 in my-cache")
    import json

    entry = json.loads((kjob_home / "memo" / "my-cache.json").read_text())["make-v1"]
    assert entry["nodeID"] == "make"
    assert entry["outputs"]["parameters"] == [{"name": "v", "value": "forty-two"}]


class ClusterStub:
    """A configured cluster whose semaphore ConfigMap says 1."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def limit(self, lock: Lock) -> int:
        self.asked.append(lock.limit_name)
        return 1

    def close(self) -> None:
        pass


def test_without_a_local_limit_a_semaphore_reads_the_configured_clusters_config_map(kjob_home: Path) -> None:
    cluster = ClusterStub()
    locks = FileLocks(kjob_home, cluster)
    semaphore = Lock("semaphore", "default", "my-config", "template")
    assert locks.acquire(semaphore, "a") is None
    assert locks.acquire(semaphore, "b") is not None  # the cluster's limit: 1
    (kjob_home / "semaphores.yaml").write_text("my-config/template: 2\n")
    assert locks.acquire(semaphore, "b") is None  # the local file comes first
    assert cluster.asked == ["my-config/template", "my-config/template"]
    locks.close()
