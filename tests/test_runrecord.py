"""The one schema of ``run.json`` (kjob.runrecord): it reads what the writer writes, key for key, reads
records of older kjobs, and says in one located line what is wrong with a damaged one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kjob.backends.virtual import Outcome, VirtualBackend, scripted
from kjob.engine.engine import Engine
from kjob.engine.record import RunRecorder
from kjob.errors import KjobError
from kjob.rundir import RunDir
from kjob.runrecord import AttemptRecord, NodeRecord, OutputsRecord, RunRecord, parent_from_id
from kjob.spec import load_text

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: shaped}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: flaky}
      - {name: fan, template: echo, depends: first, withItems: [a, b], arguments: {parameters: [{name: x, value: "{{item}}"}]}}
      - {name: inner, template: pair, depends: first}
      - {name: never, template: echo, depends: first, when: "{{tasks.first.outputs.result}} == no", arguments: {parameters: [{name: x, value: s}]}}
  - name: pair
    dag:
      tasks:
      - {name: one, template: echo, arguments: {parameters: [{name: x, value: "1"}]}}
  - name: flaky
    retryStrategy: {limit: 1}
    container: {image: alpine, command: [echo, "yes"]}
  - name: echo
    inputs: {parameters: [{name: x}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.x}}"]}
"""


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunDir:
    """A finished run's directory, its ``run.json`` written by the real recorder."""
    monkeypatch.setenv("KJOB_HOME", str(tmp_path / "home"))
    wf = load_text(WORKFLOW, path="shaped.yaml").workflows[0]
    backend = VirtualBackend(
        scripted({"first": [Outcome(exit_code=1), Outcome(stdout="yes")]}, default=Outcome(duration=0.5))
    )
    run_dir = RunDir.create("shaped-1")
    header: dict[str, Any] = {  # as kjob run writes it (kjob/runs/drive.py)
        "run_id": run_dir.run_id,
        "workflow": "shaped.yaml",
        "workflow_name": "shaped",
        "backend": "local",
        "namespace": "default",
        "parameters": {},
        "parallelism": None,
        "uid": "0000",
    }
    recorder = RunRecorder(run_dir, header=header, clock_now=0.0)
    recorder.finish(Engine(wf, backend, run_id=run_dir.run_id, observers=[recorder]).run())
    return run_dir


def _fields(kind: type) -> set[str]:
    return set(kind.__struct_fields__)  # type: ignore[attr-defined]


def test_the_schema_has_exactly_the_keys_the_writer_writes(written: RunDir) -> None:
    data = json.loads(written.record.read_text())
    assert set(data) - {"resumed"} == _fields(RunRecord) - {"resumed"}  # resumed: only once resumed
    for node in data["nodes"]:
        assert set(node) == _fields(NodeRecord)
        assert set(node["outputs"]) == _fields(OutputsRecord)
        for attempt in node["attempts"]:
            assert set(attempt) == _fields(AttemptRecord)
    record = RunRecord.read(written.record)
    assert record.to_dict() == {**data, "resumed": []}


def test_a_record_reads_as_the_run_went(written: RunDir) -> None:
    record = RunRecord.read(written.record)
    assert record.phase == "Succeeded" and record.run_id == "shaped-1"
    first = record.node("first")
    assert first is not None
    assert [a.phase for a in first.attempts] == ["Failed", "Succeeded"]
    assert first.attempts[0].log == f"logs/{first.attempts[0].id}.log"
    never = record.node("never")
    assert never is not None and never.phase == "Skipped" and "was false" in never.message
    assert record.node("fan(1:b)") is not None
    tree = {parent: [n.id for n in nodes] for parent, nodes in record.children().items()}
    assert tree == {
        None: ["main"],
        "main": ["first", "fan", "inner", "never"],
        "fan": ["fan(0:a)", "fan(1:b)"],
        "inner": ["inner.one"],
    }
    assert [n.id for n in record.leaves()] == ["first", "never", "fan(0:a)", "fan(1:b)", "inner.one"]
    assert record.progress() == (5, 5)
    fan_item = record.node("fan(0:a)")
    assert fan_item is not None and fan_item.inputs == {"x": "a"}


def test_a_record_of_an_older_kjob_reads_and_its_tree_comes_from_the_ids() -> None:
    old = {
        "run_id": "old",
        "phase": "Failed",
        "started": 10,
        "finished": 12.5,
        "nodes": [
            {"id": "main", "task": "main", "phase": "Failed"},
            {"id": "a", "task": "a", "phase": "Failed", "attempts": [{"id": "a-0", "phase": "Failed"}]},
            {"id": "fan", "task": "fan", "group": True, "phase": "Succeeded"},
            {"id": "fan(0:x.y)", "task": "fan", "phase": "Succeeded"},
            {"id": "b", "task": "b", "phase": "Omitted"},
            {"id": "b.c", "task": "c", "phase": "Omitted"},
            {"id": "onExit", "task": "onExit", "phase": "Succeeded"},
        ],
        "unknown-later-field": {"ignored": True},
    }
    record = RunRecord.from_dict(old)
    assert record.duration == 2.5 and record.backend == "local" and record.resumed == ()
    tree = {parent: [n.id for n in nodes] for parent, nodes in record.children().items()}
    assert tree == {None: ["main", "onExit"], "main": ["a", "fan", "b"], "fan": ["fan(0:x.y)"], "b": ["b.c"]}
    assert record.progress() == (4, 4)  # a, fan(0:x.y), b.c, onExit


@pytest.mark.parametrize(
    ("node_id", "parent"),
    [
        ("a", None),
        ("a.b", "a"),
        ("a.b(3:x)", "a.b"),
        ("fan(0:x.y)", "fan"),
        ("fan(1:(nested))", "fan"),
        ("outer(2:k).inner", "outer(2:k)"),
        ("outer(2:k).inner(0:1.5)", "outer(2:k).inner"),
    ],
)
def test_an_id_names_its_parent(node_id: str, parent: str | None) -> None:
    assert parent_from_id(node_id) == parent


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b'{"run_id": "x", "nodes": [{"id": "a"', "damaged run record (byte 36: Expecting ',' delimiter)"),
        (b"", "damaged run record (byte 0: Expecting value)"),
        (b'{"run_id": "\xff"}', "damaged run record (byte 12: not UTF-8)"),
        (b"[]", "damaged run record (Expected `object`, got `array`)"),
        (b'{"nodes": []}', "damaged run record (Object missing required field `run_id`)"),
        (
            b'{"run_id": "x", "nodes": [{"id": "a", "phase": 3}]}',
            "damaged run record (Expected `str`, got `int` - at `$.nodes[0].phase`)",
        ),
    ],
)
def test_a_damaged_record_is_one_located_line(tmp_path: Path, text: bytes, said: str) -> None:
    path = tmp_path / "run.json"
    path.write_bytes(text)
    with pytest.raises(KjobError) as caught:
        RunRecord.read(path)
    assert caught.value.message == f"{path}: {said}"
    assert "\n" not in caught.value.message


def test_a_lone_surrogate_the_writer_escaped_reads_back() -> None:
    text = '{"run_id": "x", "message": "bad \\ud800 byte"}'
    assert RunRecord.from_json(text).message == "bad \ud800 byte"


def test_a_missing_record_says_the_run_has_none_yet(tmp_path: Path) -> None:
    with pytest.raises(KjobError, match=r"run 'r1' has no record yet"):
        RunRecord.read(tmp_path / "r1" / "run.json")


def _example(**node: Any) -> dict[str, Any]:
    return {"run_id": "x", "nodes": [{"id": "a", **node}]}


def test_numbers_and_nulls_are_read_as_the_writer_writes_them() -> None:
    record = RunRecord.from_dict(_example(started=1, finished=None, attempts=[{"id": "a-0", "exit_code": 0}]))
    node = record.nodes[0]
    assert node.started == 1.0 and node.finished is None and node.duration is None
    assert node.attempts[0].exit_code == 0 and node.attempts[0].queued is None


def test_pretty_json_has_the_values_of_to_dict() -> None:
    record = RunRecord.from_dict(_example(message="bad \ud800 byte", attempts=[{"id": "a-0"}]))
    assert json.loads(record.pretty_json()) == record.to_dict()
    plain = RunRecord.from_dict(_example(message="é ok"))
    assert json.loads(plain.pretty_json()) == plain.to_dict() and "é ok" in plain.pretty_json()
