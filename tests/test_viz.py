"""``kjob viz FILE`` and the drawing under it: one box per task in the columns of the planner's levels,
a fan-out one box saying how many items, edges in one path, everything a user wrote escaped, big
levels wrapped, and the same file drawn the same way every time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kjob.render.dag_layout import ROWS_PER_COLUMN, Box, layout
from kjob.render.svg_dag import BoxState, dag_svg
from tests.conftest import EXAMPLES, REPO, kjob_env

SVG = "{http://www.w3.org/2000/svg}"


def kjob(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        capture_output=True,
        text=True,
        env=kjob_env(tmp_path),
        cwd=REPO,
        timeout=60,
        check=False,
    )


def boxes_of(svg: str) -> dict[str, tuple[float, float, str, str]]:
    """``data-node -> (x, y, label, detail)`` of every box in ``svg`` (parsed as XML)."""
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter(f"{SVG}g"):
        node = g.get("data-node")
        if node is None:
            continue
        match = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\)", g.get("transform", ""))
        assert match is not None
        texts = [t.text or "" for t in g.iter(f"{SVG}text")]
        found[node] = (float(match.group(1)), float(match.group(2)), texts[0], texts[1])
    return found


def test_viz_draws_every_task_in_the_column_of_its_planned_level(tmp_path: Path) -> None:
    example = str(EXAMPLES / "01-basic-dag.yaml")
    done = kjob(tmp_path, "viz", example)
    assert done.returncode == 0, done.stderr
    drawn = boxes_of(done.stdout)
    plan = json.loads(kjob(tmp_path, "plan", example, "-o", "json").stdout)
    level = {t["name"]: t["level"] for t in plan["tasks"]}
    assert set(drawn) == set(level)
    xs = sorted({x for x, _, _, _ in drawn.values()})
    for name, (x, _, label, _) in drawn.items():
        assert xs.index(x) == level[name], name
        assert label == name
    assert drawn["aggregate-users"][3] == "aggregate"  # the template, under the name


def test_a_fan_out_is_one_box_that_says_how_many_items(tmp_path: Path) -> None:
    wf = tmp_path / "fan.yaml"
    wf.write_text(
        """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: fans}
spec:
  entrypoint: main
  onExit: tidy
  templates:
  - name: work
    container: {image: alpine, command: ['true']}
  - name: tidy
    container: {image: alpine, command: ['true']}
  - name: inner
    dag:
      tasks:
      - {name: a, template: work}
  - name: main
    dag:
      tasks:
      - {name: listed, template: work, withItems: [a, b, c]}
      - {name: counted, template: work, withSequence: {count: "50"}}
      - {name: later, template: work, depends: listed, withParam: "{{tasks.listed.outputs.result}}"}
      - {name: nested, template: inner, depends: counted}
"""
    )
    out = tmp_path / "dag.svg"
    done = kjob(tmp_path, "viz", str(wf), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"viz: 5 tasks drawn to {out}\n"
    drawn = boxes_of(out.read_text())
    assert {k: v[3] for k, v in drawn.items()} == {
        "listed": "fan-out · 3 items",
        "counted": "fan-out · 50 items",
        "later": "fan-out · items at run time",
        "nested": "inner · dag",
        "onExit": "onExit · tidy",
    }
    assert drawn["onExit"][0] > max(v[0] for k, v in drawn.items() if k != "onExit")  # after the rest


def test_bad_input_is_a_located_one_line_error(tmp_path: Path) -> None:
    wf = tmp_path / "bad.yaml"
    wf.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\nspec:\n  entrypoint: nope\n"
    )
    done = kjob(tmp_path, "viz", str(wf))
    assert done.returncode == 2
    assert done.stderr.startswith(f"{wf}:")
    assert "Traceback" not in done.stderr
    assert kjob(tmp_path, "viz", str(tmp_path / "missing.yaml")).returncode == 2
    done = kjob(tmp_path, "viz", str(EXAMPLES / "01-basic-dag.yaml"), "-o", str(tmp_path / "no" / "dir.svg"))
    assert done.returncode == 2
    assert done.stderr.startswith("error: -o ")


def test_the_same_file_is_drawn_byte_for_byte_the_same(tmp_path: Path) -> None:
    example = str(EXAMPLES / "05-parallel-withparam.yaml")
    first, second = kjob(tmp_path, "viz", example), kjob(tmp_path, "viz", example)
    assert first.returncode == 0 and first.stdout == second.stdout


def test_barycentre_ordering_uncrosses_edges() -> None:
    boxes = [Box("a", "a"), Box("b", "b"), Box("y", "y"), Box("x", "x")]
    drawn = {p.box.id: p for p in layout(boxes, [("a", "x"), ("b", "y")]).boxes}
    assert drawn["a"].y < drawn["b"].y
    assert drawn["x"].y < drawn["y"].y  # x follows a, y follows b: no crossing


def test_a_2000_task_level_wraps_into_columns_of_bounded_height() -> None:
    boxes = [Box(f"t{i}", f"t{i}") for i in range(2000)]
    drawing = layout(boxes, [])
    assert len({p.y for p in drawing.boxes}) == ROWS_PER_COLUMN
    assert len({p.x for p in drawing.boxes}) == 2000 // ROWS_PER_COLUMN
    assert drawing.height < ROWS_PER_COLUMN * 60


def test_a_group_waiting_for_a_whole_group_is_drawn_through_one_junction() -> None:
    first = [Box(f"a{i}", "a") for i in range(30)]
    second = [Box(f"b{i}", "b") for i in range(30)]
    edges = [(a.id, b.id) for a in first for b in second]
    assert len(layout(first + second, edges).segments) == 60  # not 900
    svg = dag_svg(layout(first + second, edges))
    assert svg.count("<path") == 1


def test_what_a_user_wrote_is_escaped_and_states_are_classes() -> None:
    hostile = '<script>alert("x")</script>&'
    drawing = layout([Box(hostile, hostile, hostile)], [])
    svg = dag_svg(drawing, {hostile: BoxState("Failed", "")})
    assert "<script>" not in svg
    root = ET.fromstring(svg)  # still well-formed XML
    g = next(g for g in root.iter(f"{SVG}g") if g.get("data-node"))
    assert g.get("data-node") == hostile
    assert "st-failed" in (g.get("class") or "")


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_drawings_are_valid(count: int) -> None:
    drawing = layout([Box("only", "only")][:count], [])
    ET.fromstring(dag_svg(drawing))
