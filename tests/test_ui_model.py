"""What the DAG page draws of a record: the entrypoint's tasks as boxes (whoever wrote the record: the
kjob that ran it, or the cluster's Jobs read back without the entrypoint's node), the exit handler
after the rest, fan-outs and nested templates counting what is inside them."""

from __future__ import annotations

from typing import Any

from kjob.render.svg_dag import BoxState
from kjob.runrecord import RunRecord
from kjob.ui.model import node_detail, run_view


def record(nodes: list[dict[str, Any]], **header: Any) -> RunRecord:
    return RunRecord.from_dict({"run_id": "r", "phase": "Running", **header, "nodes": nodes})


def test_a_run_recorded_here_is_drawn_at_the_entrypoints_tasks_with_the_exit_handler_last() -> None:
    view = run_view(
        record(
            [
                {"id": "main", "parent": "", "phase": "Running"},
                {"id": "a", "parent": "main", "phase": "Succeeded", "template": "t"},
                {"id": "fan", "parent": "main", "group": True, "depends": ["a"], "phase": "Running"},
                {"id": "sub", "parent": "main", "depends": ["a"], "phase": "Running", "template": "inner"},
                {"id": "fan(0:x)", "parent": "fan", "phase": "Succeeded"},
                {"id": "fan(1:y)", "parent": "fan", "phase": "Failed"},
                {"id": "fan(2:z)", "parent": "fan", "phase": "Running"},
                {"id": "sub.one", "parent": "sub", "phase": "Running"},
                {"id": "onExit", "parent": "", "phase": "Pending", "template": "tidy"},
            ]
        )
    )
    assert [(b.id, b.kind, b.detail) for b in view.boxes] == [
        ("a", "task", "t"),
        ("fan", "group", "fan-out · 3 items"),
        ("sub", "nested", "inner · 1 tasks"),
        ("onExit", "exit", "onExit · tidy"),
    ]
    assert view.edges == (("a", "fan"), ("a", "sub"), ("fan", "onExit"), ("sub", "onExit"))
    assert view.states["fan"] == BoxState("Running", "1 running · 1 done · 1 failed")
    assert view.states["sub"] == BoxState("Running", "1 running")
    assert (view.done, view.total) == (3, 6)


def test_a_run_read_back_from_the_cluster_has_no_entrypoint_node() -> None:
    view = run_view(
        record(
            [
                {"id": "first", "parent": "", "phase": "Succeeded"},
                {"id": "boom", "parent": "", "depends": ["first"], "phase": "Failed"},
                {"id": "fan", "parent": "", "group": True, "depends": ["first"], "phase": "Succeeded"},
                {"id": "fan(0)", "parent": "fan", "phase": "Succeeded"},
            ]
        )
    )
    assert [(b.id, b.kind) for b in view.boxes] == [("first", "task"), ("boom", "task"), ("fan", "group")]
    assert view.edges == (("first", "boom"), ("first", "fan"))


def test_a_one_task_entrypoint_is_its_own_box() -> None:
    view = run_view(record([{"id": "main", "parent": "", "phase": "Succeeded", "template": "main"}]))
    assert [(b.id, b.kind) for b in view.boxes] == [("main", "task")]
    assert (view.done, view.total) == (1, 1)


def test_an_older_record_without_parents_reads_them_from_the_ids() -> None:
    view = run_view(
        record(
            [
                {"id": "main", "phase": "Succeeded"},
                {"id": "fan", "group": True, "phase": "Succeeded"},
                {"id": "fan(0:a)", "phase": "Succeeded"},
                {"id": "after", "phase": "Succeeded"},
            ]
        )
    )
    assert [b.id for b in view.boxes] == ["fan", "after"]
    assert view.states["fan"].counts == "1 done"


def test_a_tasks_detail_links_to_what_it_is_part_of() -> None:
    rec = record(
        [
            {"id": "main", "parent": "", "phase": "Running"},
            {"id": "fan", "parent": "main", "group": True, "phase": "Running"},
            {"id": "fan(0:a)", "parent": "fan", "phase": "Running", "inputs": {"x": "a"}},
        ]
    )
    item = node_detail(rec, "fan(0:a)")
    assert item is not None and item["part_of"] == "fan" and item["inputs"] == {"x": "a"}
    group = node_detail(rec, "fan")
    assert group is not None and group["part_of"] is None
    assert group["children"] == [{"id": "fan(0:a)", "phase": "Running"}]
    assert node_detail(rec, "nope") is None


def test_a_record_without_depends_takes_its_edges_from_the_workflow() -> None:
    rec = record(
        [
            {"id": "main", "parent": "", "phase": "Succeeded"},
            {"id": "a", "parent": "main", "phase": "Succeeded"},
            {"id": "b", "parent": "main", "phase": "Succeeded"},
        ]
    )
    assert run_view(rec).edges == ()
    assert run_view(rec, [("a", "b"), ("a", "gone")]).edges == (("a", "b"),)


def test_a_fan_outs_failed_items_are_listed_first() -> None:
    nodes: list[dict[str, Any]] = [
        {"id": "main", "parent": ""},
        {"id": "fan", "parent": "main", "group": True},
    ]
    nodes += [{"id": f"fan({i})", "parent": "fan", "phase": "Succeeded"} for i in range(600)]
    nodes[-1]["phase"] = "Failed"
    nodes[-2]["phase"] = "Running"
    detail = node_detail(record(nodes), "fan")
    assert detail is not None
    assert [c["id"] for c in detail["children"][:3]] == ["fan(599)", "fan(598)", "fan(0)"]
    assert len(detail["children"]) == 500 and detail["more_children"] == 100
