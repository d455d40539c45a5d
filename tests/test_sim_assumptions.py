"""``kjob sim`` of a workflow says what it assumes, simulates fan-outs as their items, nested templates
as their tasks and only the branch a ``when`` takes, and refuses silent defaults under ``--strict``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kjob.cli import KjobGroup, console
from kjob.cli.sim import command
from kjob.spec import load_text
from sim.calibrate import calibrate
from sim.calibrate_trace import fit_trace
from sim.cluster import Cluster
from sim.core import Simulator, Workload
from sim.sources import from_workflow
from sim.workflow_model import Decisions, flatten


@click.group(cls=KjobGroup)
def cli() -> None:
    console.reset()


cli.add_command(command)


def sim(*args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"})
    result = runner.invoke(cli, ["sim", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


PIPELINE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: pipeline}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: list, template: lister}
          - name: each
            template: work
            dependencies: [list]
            withParam: "{{tasks.list.outputs.result}}"
          - {name: three, template: work, dependencies: [list], withItems: [a, b, c]}
          - name: big
            template: work
            dependencies: [each, three]
            when: "'{{tasks.list.outputs.result}}' != '[]'"
          - {name: inner, template: stage, dependencies: [big]}
    - name: stage
      dag:
        tasks:
          - {name: x, template: work}
          - {name: y, template: work, dependencies: [x]}
    - name: lister
      metadata: {annotations: {kjob.io/duration: 5s}}
      container: {image: alpine, command: [echo, "[1, 2]"]}
    - name: work
      container: {image: alpine, command: ["true"]}
"""


@pytest.fixture
def pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE)
    return path


def workflow() -> object:
    return load_text(PIPELINE, path="pipeline.yaml").workflows[0]


def test_every_assumption_is_in_the_json_with_where_it_came_from(pipeline: Path) -> None:
    code, out, _ = sim(str(pipeline), "-o", "json")
    assert code == 0
    found = {(a["what"], a["subject"]): a for a in json.loads(out)["assumptions"]}
    assert found[("fan-out width", "each")]["defaulted"] is True
    assert found[("when", "big")]["value"].startswith("true")
    assert found[("when", "big")]["defaulted"] is True
    assert found[("duration", "work")] == {
        "what": "duration",
        "subject": "work",
        "value": "fixed:60s",
        "source": "default",
        "defaulted": True,
    }
    assert found[("duration", "lister")]["source"] == "annotation kjob.io/duration"
    assert found[("start-up latency", "every attempt")]["defaulted"] is True
    assert ("failure rate", "lister, work") in found


def test_stated_options_replace_the_defaults(pipeline: Path) -> None:
    code, out, _ = sim(
        str(pipeline),
        *("--items", "each=7", "--when", "big=false", "--default-duration", "10s"),
        *("--fail-prob", "0", "--startup", "1s", "-o", "json", "--strict"),
    )
    assert code == 0, out
    data = json.loads(out)
    assert not [a for a in data["assumptions"] if a["defaulted"]]
    by = {(a["what"], a["subject"]): a["source"] for a in data["assumptions"]}
    assert by[("fan-out width", "each")] == "--items"
    assert by[("when", "big")] == "--when"
    # list, 7 + 3 items, inner.x, inner.y; big skipped: inner waits for the fan-outs
    assert data["tasks"] == 1 + 7 + 3 + 2


def test_strict_refuses_each_silent_default_by_name(pipeline: Path) -> None:
    code, _, err = sim(str(pipeline), "--strict", "--default-duration", "10s", "--startup", "0s")
    assert code == 2
    assert "--strict: 3 silent defaults" in err
    assert "fan-out width of each" in err and "when of big" in err and "failure rate" in err
    assert "Traceback" not in err


def test_a_fan_out_of_n_items_is_n_tasks_in_the_per_task_rows(pipeline: Path) -> None:
    code, out, _ = sim(str(pipeline), "--items", "each=12", "--tasks", "-o", "json")
    assert code == 0
    names = [row["task"] for row in json.loads(out)["task_list"]]
    assert [n for n in names if n.startswith("each(")] == [f"each({k})" for k in range(12)]
    assert [n for n in names if n.startswith("three(")] == ["three(0)", "three(1)", "three(2)"]
    assert "inner.x" in names and "inner.y" in names


def test_nested_templates_are_their_tasks_and_a_false_when_passes_its_dependencies_on() -> None:
    flat = flatten(workflow(), Decisions(items={"each": 2}, when={"big": False}))  # type: ignore[arg-type]
    edges = {(flat.ids[a], flat.ids[b]) for a, b in zip(flat.src.tolist(), flat.dst.tolist(), strict=True)}
    assert "big" not in flat.ids
    assert ("each(1)", "inner.x") in edges and ("three(2)", "inner.x") in edges
    assert ("inner.x", "inner.y") in edges
    assert ("list", "each(0)") in edges


def test_a_when_probability_draws_the_branch_per_run(pipeline: Path) -> None:
    code, out, _ = sim(str(pipeline), "--when", "big=0.5", "--runs", "40", "--items", "each=2", "-o", "json")
    assert code == 0
    data = json.loads(out)
    tasks = {r["critical_path"] for r in data["per_run"]}
    assert len(tasks) == 2  # some runs took the branch (one more 60 s task on the path), some did not
    assert data["counts"] == "per-run means"
    assert 1 + 2 + 3 + 2 < data["tasks"] < 1 + 2 + 3 + 2 + 1


def test_unknown_or_wrong_tasks_in_items_and_when_are_one_line_errors(pipeline: Path) -> None:
    code, _, err = sim(str(pipeline), "--items", "nope=3")
    assert code == 2 and "--items nope: no task named so" in err and "fan-outs: each, three" in err
    code, _, err = sim(str(pipeline), "--when", "list=true")
    assert code == 2 and "--when list: a task that is not one of the tasks with a when" in err
    code, _, err = sim(str(pipeline), "--when", "big=maybe")
    assert code == 2 and "TASK=P" in err
    code, _, err = sim("chain:3", "--items", "x=3")
    assert code == 2 and "apply to workflow files" in err


def test_calibration_learns_fan_out_widths_and_branches() -> None:
    def node(
        id_: str, task: str, phase: str, parent: str | None = None, group: bool = False
    ) -> dict[str, object]:
        attempts = (
            []
            if group or phase == "Skipped"
            else [{"queued": 0.0, "started": 0.0, "finished": 1.0, "phase": phase}]
        )
        return {
            "id": id_,
            "task": task,
            "template": "work",
            "phase": phase,
            "parent": parent,
            "group": group,
            "attempts": attempts,
        }

    record = {
        "started": 0.0,
        "nodes": [
            node("each", "each", "Succeeded", group=True),
            *(node(f"each({k}:{k})", "each", "Succeeded", parent="each") for k in range(5)),
            node("big", "big", "Skipped"),
        ],
    }
    cal = calibrate(record, run_id="r1")
    assert cal.widths == {"each": 5}
    assert cal.branches["big"] is False
    workload, flat = from_workflow(
        workflow(),  # type: ignore[arg-type]
        (1.0, 0.0, 0.0),
        Decisions(items=cal.widths, when=cal.branches),
    )
    assert sum(1 for i in flat.ids if i.startswith("each(")) == 5 and "big" not in flat.ids
    assert workload.n == len(flat.ids)


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(0, 30),
    slots=st.integers(1, 6),
    p=st.floats(0, 1),
    seed=st.integers(0, 1000),
)
def test_each_run_lies_within_its_own_bounds(width: int, slots: int, p: float, seed: int) -> None:
    wf = workflow()
    decisions = Decisions(items={"each": width}, when={"big": p})
    runs = []
    for k in range(3):
        from sim.workflow_model import draw_decisions

        drawn = draw_decisions(decisions, np.random.default_rng(seed + k))
        workload, _ = from_workflow(wf, (1.0, 0.0, 0.0), drawn)  # type: ignore[arg-type]
        runs.append(Simulator(workload, Cluster.slots(slots)).run(seed + k))
    for result in runs:
        assert result.bounds.critical_path <= result.lower_bound <= result.makespan + 1e-9
        assert result.upper_bound is None or result.makespan <= result.upper_bound + 1e-9


def test_monte_carlo_bounds_never_fall_below_the_critical_path(pipeline: Path) -> None:
    code, out, _ = sim(str(pipeline), "--when", "big=0.3", "--runs", "30", "--slots", "2", "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["within_bounds"] is True
    for q in ("p50", "p95", "min", "max"):
        assert data[f"lower_bound_{q}"] >= data[f"critical_path_{q}"] - 1e-9
    for run in data["per_run"]:
        assert run["critical_path"] <= run["lower_bound"] <= run["makespan"] + 1e-9


def test_text_output_lists_the_assumptions_and_marks_the_silent_ones(pipeline: Path) -> None:
    code, out, _ = sim(str(pipeline), "--items", "each=4")
    assert code == 0
    assert "  assumptions\n" in out
    assert "    fan-out width of each: 4 items (from --items)" in out
    assert "    when of big: true (both branches of a condition run) (ASSUMED)" in out
    assert "e+" not in out  # human units, no 4.29497e+09


def test_long_makespans_read_in_human_units(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(textwrap.dedent(PIPELINE))
    code, out, _ = sim(str(path), "--default-duration", "4294967295", "--items", "each=1")
    assert code == 0
    assert "e+" not in out and "d " in out.splitlines()[1]


@pytest.mark.parametrize(
    "extra",
    [[], ["--parallelism", "3"], ["--slots", "2", "--startup", "5s"], ["--qps", "0.5", "--burst", "1"]],
)
def test_explain_splits_the_whole_makespan_along_the_chain_that_ended_last(
    pipeline: Path, extra: list[str]
) -> None:
    code, out, _ = sim(str(pipeline), "--items", "each=9", "--explain", "-o", "json", *extra)
    assert code == 0
    data = json.loads(out)
    parts = data["explain"]
    every = ("run start-up", "running", "start-up", "transfers", "waiting", "api-rate", "gaps")
    assert sum(parts[p] for p in every) == pytest.approx(data["makespan"])
    assert parts["chain"][0] == "list" and parts["chain"][-1] == "inner.y"
    if "--parallelism" in extra or "--slots" in extra:
        assert parts["waiting"] > 0  # nine items on fewer slots queue
    else:
        assert parts["waiting"] == 0
    if "--qps" in extra:
        assert parts["api-rate"] > 0  # one submission every 2 s: the items are held back
    else:
        assert parts["api-rate"] == 0
    if "--startup" in extra:
        assert parts["start-up"] == pytest.approx(5 * len(parts["chain"]))


def test_explain_is_one_run_not_a_sweep(pipeline: Path) -> None:
    code, _, err = sim(str(pipeline), "--explain", "--sweep", "slots=1,2")
    assert code == 2 and "--explain show one run, not a sweep" in err


WFINSTANCES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "wfinstances"


@pytest.mark.skipif(not WFINSTANCES.is_dir(), reason="../shared/data/wfinstances is not here")
def test_a_trace_calibrates_the_workflow_systems_concurrency() -> None:
    small = WFINSTANCES / "1000genome-chameleon-4ch-250k-001.json"
    other = WFINSTANCES / "1000genome-chameleon-8ch-250k-001.json"
    fit = fit_trace(str(small))
    assert fit.parallelism >= 1
    # the fitted K is the closest: one task more or fewer at once is further from the recording
    for k in (fit.parallelism - 1, fit.parallelism + 1):
        if k >= 1:
            code, out, _ = sim(str(small), "--parallelism", str(k), "-o", "json")
            assert abs(json.loads(out)["makespan"] - fit.recorded_makespan) >= abs(
                fit.fitted_makespan - fit.recorded_makespan
            )
    code, out, _ = sim(str(other), "--calibrate", str(small), "-o", "json")
    assert code == 0
    data = json.loads(out)
    assert data["trace_calibration"]["parallelism"] == fit.parallelism
    concurrency = [a for a in data["assumptions"] if a["what"] == "concurrency"]
    assert concurrency and concurrency[0]["source"] == f"trace {small.name}"
    code, out, _ = sim(str(other), "--calibrate", str(small), "--parallelism", "7", "-o", "json")
    assert not [a for a in json.loads(out)["assumptions"] if a["what"] == "concurrency"]  # the option wins


def test_calibrating_from_a_file_that_is_no_trace_is_a_one_line_error(pipeline: Path) -> None:
    code, _, err = sim(str(pipeline), "--calibrate", str(pipeline))
    assert code == 2 and "not a WfCommons trace with a recorded makespan" in err


def test_the_gantt_chart_separates_bars_names_its_colours_and_marks_the_last_chain() -> None:
    pytest.importorskip("matplotlib")
    from sim import plots
    from sim.explain import last_chain

    workload, _ = from_workflow(workflow(), (1.0, 0.0, 0.0), Decisions(items={"each": 6}))  # type: ignore[arg-type]
    result = Simulator(workload, Cluster.slots(2)).run(0)
    chain = last_chain(result, workload.plan)
    assert [workload.names[i] for i in (chain[0], chain[-1])] == ["list", "inner.y"]  # type: ignore[index]
    fig = plots.gantt_figure(result, highlight=chain)
    try:
        ax, bar = fig.axes
        bars = [p for p in ax.patches if p.get_fill()]
        outlined = [p for p in ax.patches if not p.get_fill()]
        assert len(bars) == workload.n and all(p.get_edgecolor()[:3] == (1.0, 1.0, 1.0) for p in bars)
        assert len(outlined) == len(chain)
        assert bar.get_ylabel() == "level" and ax.get_ylabel() == "lane (tasks running at once)"
        assert all(float(t).is_integer() for t in ax.get_yticks())
        assert "makespan" in ax.get_title() and "e+" not in ax.get_title()
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_the_workflows_own_parallelism_limits_the_simulation_unless_an_option_says_otherwise(
    tmp_path: Path,
) -> None:
    path = tmp_path / "limited.yaml"
    path.write_text(PIPELINE.replace("  entrypoint: main\n", "  entrypoint: main\n  parallelism: 2\n"))
    code, out, _ = sim(str(path), "--items", "each=8", "-o", "json")
    assert code == 0
    limited = json.loads(out)
    assert {
        "what": "parallelism",
        "subject": "the workflow",
        "value": "2 tasks at once",
        "source": "spec.parallelism",
        "defaulted": False,
    } in limited["assumptions"]
    code, out, _ = sim(str(path), "--items", "each=8", "--parallelism", "100", "-o", "json")
    assert code == 0
    free = json.loads(out)
    assert limited["makespan"] > free["makespan"]
    assert not [a for a in free["assumptions"] if a["what"] == "parallelism"]


def test_explain_says_how_long_inputs_took_to_arrive_from_other_nodes() -> None:
    from kjob.plan import plan_edges
    from sim.durations import Fixed
    from sim.explain import explain

    # a and b run at once on the two nodes; c runs on one of them and waits 7 s for the other's output
    plan = plan_edges(3, np.array([0, 1]), np.array([2, 2]))
    workload = Workload(
        plan,
        np.zeros(3, dtype=np.int32),
        ("t",),
        (Fixed(10.0),),
        np.ones((3, 3)),
        transfer=np.array([7.0, 7.0]),
        names=["a", "b", "c"],
    )
    result = Simulator(workload, Cluster.uniform(2, cpu=1.0, memory=2.0, gpu=1.0, pods=110.0)).run(0)
    parts = explain(result, plan, workload.names)
    assert parts["transfers"] == pytest.approx(7.0) and result.makespan == pytest.approx(27.0)
    total = sum(
        parts[p] for p in ("run start-up", "running", "start-up", "transfers", "waiting", "api-rate", "gaps")
    )
    assert total == pytest.approx(result.makespan)
