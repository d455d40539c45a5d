"""``run.json`` while a run goes: the recorder makes a node's entry again only when something it
shows changed, so every record written must be, byte for byte, the one built from scratch then."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kjob import jsonlines
from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine
from kjob.engine.record import RunRecorder, record_with_nodes
from kjob.engine.state import Node, Phase
from kjob.rundir import RunDir, record_text
from kjob.spec import load_text

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: recorded}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flaky, template: flaky}
      - {name: fan, template: echo, depends: flaky, withItems: [a, b, c], arguments: {parameters: [{name: x, value: "{{item}}"}]}}
      - {name: skipped, template: echo, depends: fan, when: "{{tasks.flaky.outputs.parameters.v}} == no", arguments: {parameters: [{name: x, value: s}]}}
      - {name: doomed, template: doomed, depends: flaky}
  - name: flaky
    retryStrategy: {limit: 3, backoff: {duration: "2s"}}
    container: {image: alpine, command: [sh, -c, "echo yes > /tmp/v"]}
    outputs: {parameters: [{name: v, valueFrom: {path: /tmp/v}}]}
  - name: echo
    inputs: {parameters: [{name: x}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
  - name: doomed
    retryStrategy: {limit: 1}
    container: {image: alpine, command: ["false"]}
"""


class WriteEveryChange:
    """An observer after the recorder: makes it write at every change, and checks what it wrote."""

    def __init__(self, recorder: RunRecorder, run_dir: RunDir) -> None:
        self.recorder, self.run_dir, self.writes = recorder, run_dir, 0

    def node_changed(self, node: Node) -> None:
        self.recorder._write()
        assert self.run_dir.record.read_bytes() == from_scratch(self.recorder)
        self.writes += 1


def from_scratch(recorder: RunRecorder) -> bytes:
    """The record's text built whole, every node's entry made anew."""
    return record_text({**recorder.header, "nodes": [recorder._node(n) for n in recorder._nodes.values()]})


def test_every_record_written_mid_run_equals_one_built_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    wf = load_text(WORKFLOW, path="recorded.yaml").workflows[0]
    backend = VirtualBackend(
        scripted(
            {
                "flaky": [
                    Outcome(exit_code=1, stdout="boom"),
                    Outcome(exit_code=1),
                    Outcome(parameters={"v": "yes"}),
                ],
                "doomed": Outcome(exit_code=1),
            },
            default=Outcome(duration=0.5),
        ),
        start_latency=0.25,
    )
    run_dir = RunDir.create("recorded-1")
    recorder = RunRecorder(run_dir, header={"run_id": run_dir.run_id}, clock_now=0.0)
    check = WriteEveryChange(recorder, run_dir)
    result = Engine(wf, backend, run_id=run_dir.run_id, observers=[recorder, check]).run()
    recorder.finish(result)
    assert result.phase is Phase.FAILED
    assert check.writes > 20
    nodes = {n["id"]: n for n in run_dir.read_record()["nodes"]}
    assert [a["exit_code"] for a in nodes["flaky"]["attempts"]] == [1, 1, 0]
    assert nodes["skipped"]["phase"] == "Skipped" and nodes["doomed"]["phase"] == "Failed"
    recorder.abort("killed", at=100.0)  # an abort rewrites every unfinished node, cached or not
    assert run_dir.record.read_bytes() == from_scratch(recorder)


@pytest.mark.parametrize(
    "header", [{}, {"a": 1}, {"z": "x"}, {"phase": "Running", "backend": "local", "m": None}]
)
def test_the_nodes_go_among_the_sorted_keys_as_the_whole_record_would_put_them(
    header: dict[str, Any],
) -> None:
    nodes = [{"id": "a", "phase": "Pending"}, {"id": "b"}]
    joined = b"[" + b",".join(jsonlines.dumps(n, sort_keys=True) for n in nodes) + b"]"
    assert record_with_nodes(header, joined) == record_text({**header, "nodes": nodes})
