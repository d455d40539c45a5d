"""Argo's ``failFast`` and nested ``parallelism`` on the local backend, with real processes: each task
appends to a ledger file, whose order (not its timings) shows what ran and what overlapped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# outer runs one child DAG at a time; each child's three tasks wait (bounded) until all three have
# started, so they end only if they really ran side by side.
NESTED = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: nested-}
spec:
  entrypoint: outer
  arguments: {parameters: [{name: dir}]}
  templates:
  - name: outer
    parallelism: 1
    dag:
      tasks:
      - {name: first, template: inner, arguments: {parameters: [{name: g, value: first}]}}
      - {name: second, template: inner, arguments: {parameters: [{name: g, value: second}]}}
  - name: inner
    inputs: {parameters: [{name: g}]}
    dag:
      tasks:
      - {name: x, template: step, arguments: {parameters: [{name: g, value: "{{inputs.parameters.g}}"}]}}
      - {name: y, template: step, arguments: {parameters: [{name: g, value: "{{inputs.parameters.g}}"}]}}
      - {name: z, template: step, arguments: {parameters: [{name: g, value: "{{inputs.parameters.g}}"}]}}
  - name: step
    inputs: {parameters: [{name: g}]}
    container:
      image: alpine
      command: [sh, -c]
      args:
      - |
        echo "start $G" >> "$DIR/ledger"
        i=0
        until [ "$(grep -c "^start $G\\$" "$DIR/ledger")" -ge 3 ]; do
          i=$((i + 1)); [ "$i" -gt 1200 ] && { echo "ran alone" >&2; exit 1; }
          sleep 0.05
        done
        echo "end $G" >> "$DIR/ledger"
      env:
      - {name: G, value: "{{inputs.parameters.g}}"}
      - {name: DIR, value: "{{workflow.parameters.dir}}"}
"""

# boom fails with nothing expecting it, so the DAG fails fast; b's failure is expected by
# on-b-failed, which runs once c (waiting for boom's failure) is done; after-c never starts.
FAIL_FAST = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: fail-fast-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: dir}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: b, template: step, arguments: {parameters: [{name: n, value: b}]}}
      - {name: boom, template: step, arguments: {parameters: [{name: n, value: boom}]}}
      - {name: c, template: step, arguments: {parameters: [{name: n, value: c}]}}
      - name: on-b-failed
        template: step
        depends: "b.Failed && c"
        arguments: {parameters: [{name: n, value: on-b-failed}]}
      - {name: after-c, template: step, depends: c, arguments: {parameters: [{name: n, value: after-c}]}}
  - name: step
    inputs: {parameters: [{name: n}]}
    container:
      image: alpine
      command: [sh, -c]
      args:
      - |
        case "$N" in
          b|boom) echo "$N" >> "$DIR/ledger"; exit 1 ;;
          c) until grep -qx boom "$DIR/ledger"; do sleep 0.05; done; sleep 2 ;;
        esac
        echo "$N" >> "$DIR/ledger"
      env:
      - {name: N, value: "{{inputs.parameters.n}}"}
      - {name: DIR, value: "{{workflow.parameters.dir}}"}
"""


def run_workflow(kjob: Any, tmp_path: Path, text: str) -> tuple[Any, list[str]]:
    (tmp_path / "wf.yaml").write_text(text)
    shared = tmp_path / "shared"
    shared.mkdir()
    done = kjob("run", str(tmp_path / "wf.yaml"), "-p", f"dir={shared}")
    return done, (shared / "ledger").read_text().splitlines()


def test_child_dags_of_a_parallelism_one_parent_run_one_at_a_time_each_its_tasks_together(
    kjob: Any, tmp_path: Path
) -> None:
    done, ledger = run_workflow(kjob, tmp_path, NESTED)
    assert done.code == 0, done.stdout + done.stderr
    one, other = ledger[0].split()[1], ("second" if ledger[0] == "start first" else "first")
    assert ledger == [f"start {one}"] * 3 + [f"end {one}"] * 3 + [f"start {other}"] * 3 + [f"end {other}"] * 3


def test_fail_fast_runs_the_task_a_failure_satisfies_and_nothing_else_new(kjob: Any, tmp_path: Path) -> None:
    done, ledger = run_workflow(kjob, tmp_path, FAIL_FAST)
    assert done.code == 1, done.stdout + done.stderr
    assert sorted(ledger) == ["b", "boom", "c", "on-b-failed"]
    assert ledger[-2:] == ["c", "on-b-failed"]
