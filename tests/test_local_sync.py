"""``synchronization`` and ``memoize`` on the local backend, with real processes: two runs that share
a mutex never overlap (the tasks' own timestamps show it), a semaphore's limit comes from
``$KJOB_HOME/semaphores.yaml``, and a memoized task runs once across runs."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

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


SEMAPHORE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: limited-}
spec:
  entrypoint: main
  templates:
  - name: main
    synchronization:
      semaphores: [{configMapKeyRef: {name: my-config, key: workflow}}]
    container: {image: busybox, command: [echo, hi]}
"""


def test_a_semaphore_takes_its_limit_from_the_semaphores_file(
    kjob: Any, kjob_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "wf.yaml").write_text(SEMAPHORE)
    refused = kjob("run", str(tmp_path / "wf.yaml"))
    assert refused.code == 1
    assert "semaphore my-config/workflow has no limit on the local backend" in refused.stdout + refused.stderr
    (kjob_home / "semaphores.yaml").write_text("my-config/workflow: 1\n")
    assert kjob("run", str(tmp_path / "wf.yaml")).code == 0


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
