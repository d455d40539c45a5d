"""Failures in plain sight: a failed task's last lines and the command that prints the rest under the
run's summary; a skipped task's record says which values made its ``when`` false; a task waiting to
retry says in the record when its next attempt starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine
from kjob.engine.record import RunRecorder
from kjob.engine.state import Node
from kjob.rundir import RunDir
from kjob.spec import load_text

FAILING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: shown}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: a, template: say}
      - {name: b, depends: a, template: say, when: "{{tasks.a.outputs.result}} == yes && {{workflow.name}} != x"}
      - {name: c, depends: a, template: boom}
      - {name: quiet, depends: c.Failed, template: quiet}
  - name: say
    container: {image: alpine, command: [echo, "no"]}
  - name: boom
    retryStrategy: {limit: 1}
    container:
      image: alpine
      command: [sh, -c, 'for i in 1 2 3 4 5 6 7; do echo "line $i :100: [bold]x[/bold]"; done; echo oops >&2; exit 3']
  - name: quiet
    container: {image: alpine, command: [sh, -c, "exit 4"]}
"""


def test_a_failed_task_shows_its_last_lines_and_the_logs_command_under_the_summary(
    kjob: Any, tmp_path: Path
) -> None:
    (tmp_path / "wf.yaml").write_text(FAILING)
    done = kjob("run", str(tmp_path / "wf.yaml"), "--backend", "local")
    assert done.code == 1, done.stderr
    tail = done.stdout.split("Workflow shown Failed in ")[1].split("\n", 1)[1]
    assert tail == (
        "\n"
        "c failed: exit code 3 (retry limit 1 reached). Its last lines:\n"
        "  line 4 :100: [bold]x[/bold]\n"
        "  line 5 :100: [bold]x[/bold]\n"
        "  line 6 :100: [bold]x[/bold]\n"
        "  line 7 :100: [bold]x[/bold]\n"
        "  oops\n"
        "  all of it: kjob logs shown c\n"
        "\n"
        "quiet failed: exit code 4. It printed nothing.\n"
        "  all of it: kjob logs shown quiet\n"
    )


def test_on_a_terminal_what_a_task_printed_is_not_read_as_markup_or_emoji(
    kjob: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wf.yaml").write_text(FAILING)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws as for a terminal (NO_COLOR stays)
    done = kjob("run", str(tmp_path / "wf.yaml"), "--backend", "local")
    assert "  line 7 :100: [bold]x[/bold]\n" in done.stdout
    assert "💯" not in done.stdout


def test_a_skipped_task_says_which_values_made_its_when_false(kjob: Any, tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(FAILING)
    done = kjob("run", str(tmp_path / "wf.yaml"), "--backend", "local")
    expected = (
        'when "{{tasks.a.outputs.result}} == yes && {{workflow.name}} != x" was false: '
        'tasks.a.outputs.result = "no", workflow.name = "shown"'
    )
    assert done.nodes()["b"]["message"] == expected
    assert f"b Skipped: {expected}\n" in done.stdout


def test_a_long_value_is_cut_in_the_skip_reason() -> None:
    from kjob.engine.skip_reason import when_false

    values = {"tasks.a.outputs.result": "x" * 100}
    said = when_false("{{tasks.a.outputs.result}} == y", values.__getitem__, argo_braces=True)
    assert said == (
        'when "{{tasks.a.outputs.result}} == y" was false: tasks.a.outputs.result = "'
        + "x" * 60
        + '…" (100 chars)'
    )


RETRYING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: retrying}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flaky, template: flaky}
  - name: flaky
    retryStrategy: {limit: 2, backoff: {duration: "2s", factor: 3}}
    container: {image: alpine, command: ["true"]}
"""


class _SeeRetries:
    """After the recorder: what its entry for ``flaky`` says whenever the node waits to retry."""

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder
        self.waits: list[float] = []

    def node_changed(self, node: Node) -> None:
        entry = self.recorder._node(node)
        if node.retry_at is None:
            assert entry["next_retry"] is None
            return
        self.waits.append(round(entry["next_retry"] - entry["attempts"][-1]["finished"], 3))


def test_a_task_waiting_to_retry_records_when_its_next_attempt_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    wf = load_text(RETRYING, path="retrying.yaml").workflows[0]
    backend = VirtualBackend(scripted({"flaky": [Outcome(exit_code=1), Outcome(exit_code=1), Outcome()]}))
    run_dir = RunDir.create("retrying-1")
    recorder = RunRecorder(run_dir, header={"run_id": run_dir.run_id}, clock_now=0.0)
    seen = _SeeRetries(recorder)
    Engine(wf, backend, run_id=run_dir.run_id, observers=[recorder, seen]).run()
    assert seen.waits == [2.0, 6.0]  # the backoff: 2 s, then 2 s times 3


MANY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: many}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: fan, template: fail, withItems: [a b, c, d, e, f, g, h], arguments: {parameters: [{name: x, value: "{{item}}"}]}}
  - name: fail
    inputs: {parameters: [{name: x}]}
    container: {image: alpine, command: [sh, -c, 'echo "no $0"; exit 1', "{{inputs.parameters.x}}"]}
"""


def test_five_failed_tasks_are_shown_and_the_rest_counted_with_commands_a_shell_takes(
    kjob: Any, tmp_path: Path
) -> None:
    (tmp_path / "wf.yaml").write_text(MANY)
    done = kjob("run", str(tmp_path / "wf.yaml"), "--backend", "local")
    assert done.code == 1, done.stderr
    blocks = done.stdout.split("Workflow many Failed in ")[1].split("\n\n")[1:]
    assert len(blocks) == 6 and blocks[-1] == "and 2 more failed tasks: kjob logs many\n", blocks
    for block in blocks[:5]:
        head, last, command = block.splitlines()
        item = head.split(" failed: ")[0]
        assert head == f"{item} failed: exit code 1. Its last lines:"
        assert last == f"  no {item[len('fan(0:') : -1]}"
        assert command == f"  all of it: kjob logs many '{item}'"


OMITTING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: omitting}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      failFast: false
      tasks:
      - {name: ok, template: ok}
      - {name: bad, template: bad}
      - {name: after, depends: "ok.Succeeded && (bad.Succeeded || bad.Skipped)", template: ok}
  - name: ok
    container: {image: alpine, command: ["true"]}
  - name: bad
    container: {image: alpine, command: ["false"]}
"""


def test_an_omitted_task_says_how_the_tasks_its_depends_names_ended(kjob: Any, tmp_path: Path) -> None:
    (tmp_path / "wf.yaml").write_text(OMITTING)
    done = kjob("run", str(tmp_path / "wf.yaml"), "--backend", "local")
    after = done.nodes()["after"]
    assert after["phase"] == "Omitted"
    assert after["message"] == (
        'depends "ok.Succeeded && (bad.Succeeded || bad.Skipped)" was false: ok Succeeded, bad Failed'
    )
