"""Where workloads and clusters come from: generators, WfFormat traces, cost tables, workflows,
cluster and durations files, distributions and quantities — and the errors a user can make in them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kjob.errors import KjobError, SpecError
from sim import Cluster, Empirical, Fixed, LogNormal, Recorded, SimError, Simulator, load_cluster, load_source
from sim.calibrate import calibrate, fit
from sim.cluster import parse_quantity
from sim.durations import parse_distribution
from sim.scenario import Scenario, apply_durations, cluster_of, load
from sim.sources import load_durations, with_settings
from tests.conftest import EXAMPLES, NO_SHARED, SHARED

WFINSTANCES = SHARED / "data" / "wfinstances"
TRACES = {
    "srasearch-chameleon-10a-001.json": 22,
    "soykb-chameleon-10fastq-10ch-001.json": 96,
    "blast-chameleon-medium-001.json": 303,
    "1000genome-chameleon-8ch-250k-001.json": 328,
}


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------------------------------- generators
@pytest.mark.parametrize(
    ("text", "tasks", "edges", "levels"),
    [
        ("chain:5", 5, 4, 5),
        ("fanout:10", 10, 16, 3),
        ("layered:100", 100, 180, 10),
        ("layered:100,width=25,deps=3", 100, 225, 4),
        ("layered:1", 1, 0, 1),
    ],
)
def test_generators_build_the_shape_they_name(text: str, tasks: int, edges: int, levels: int) -> None:
    plan = load_source(text).workload.plan
    assert (plan.n, plan.indices.size, plan.levels) == (tasks, edges, levels)


def test_montage_like_has_montages_stages() -> None:
    w = load_source("montage-like:1000").workload
    assert 900 <= w.n <= 1100
    assert w.kinds[0] == "mProject" and w.kinds[-1] == "mViewer"
    assert w.plan.levels == 8  # project, diff, concat, bgmodel, background, imgtbl, add, viewer
    assert np.bincount(w.kind).tolist()[2:4] == [1, 1]


def test_generators_are_the_same_every_time() -> None:
    a, b = load_source("layered:500").workload.plan, load_source("layered:500").workload.plan
    assert np.array_equal(a.indices, b.indices)
    c = load_source("layered:500,seed=3").workload.plan
    assert not np.array_equal(a.indices, c.indices)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("layered:", "needs a task count"),
        ("chain:x", "needs a task count"),
        ("chain:5,width=3", "'width=3' is not an option of chain"),
        ("nonsense:5", "neither a file nor a generator"),
        ("missing.yaml", "neither a file nor a generator"),
    ],
)
def test_bad_sources_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SimError, match=message):
        load_source(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chain:" + "9" * 30, "a 30-digit number of tasks, more than kjob's limit of 5,000,000"),
        ("montage-like:5000001", "5,000,001 tasks, more than kjob's limit"),
        ("layered:4000000,width=2000000,deps=2000000", "4,000,000,000,000 edges, more than kjob's limit"),
    ],
)
def test_absurd_generator_sizes_are_refused_before_anything_is_built(text: str, message: str) -> None:
    with pytest.raises(SimError, match=message) as caught:
        load_source(text)
    assert "KJOB_MAX_SIM_" in caught.value.message


def test_the_generator_limit_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJOB_MAX_SIM_TASKS", "3")
    with pytest.raises(SimError, match="4 tasks"):
        load_source("chain:4")
    monkeypatch.setenv("KJOB_MAX_SIM_TASKS", "4")
    assert load_source("chain:4").workload.n == 4


@pytest.mark.parametrize("text", ["chain:²", "layered:9,width=²", "fanout:٣"])
def test_digits_other_than_0_to_9_are_not_a_size(text: str) -> None:
    with pytest.raises(SimError, match=r"needs a task count|is not an option"):
        load_source(text)


def test_a_width_past_the_task_count_is_one_level() -> None:
    plan = load_source("layered:10,width=" + "9" * 30).workload.plan
    assert (plan.n, plan.levels) == (10, 1)


# ---------------------------------------------------------------------------------------- WfFormat
@pytest.mark.parametrize("name", sorted(TRACES))
def test_each_wfcommons_trace_replays_between_the_bounds(name: str) -> None:
    """Recorded runtimes, recorded machines, no overhead: the makespan lies between the lower bound
    and Graham's bound (every task takes one core: identical slots)."""
    path = WFINSTANCES / name
    if not path.is_file():
        pytest.skip(NO_SHARED)
    source = load_source(str(path))
    w = source.workload
    assert w.n == TRACES[name]
    assert source.cluster is not None and len(source.cluster.pools) >= 1
    assert w.recorded is not None and not np.isnan(w.recorded).any()
    result = Simulator(w, source.cluster).run()
    assert result.upper_bound is not None
    assert result.lower_bound <= result.makespan <= result.upper_bound + 1e-6
    assert result.lower_bound >= result.bounds.critical_path
    assert w.info["recorded_makespan"] > 0


def test_wfformat_transfer_sizes_become_costs_with_a_bandwidth() -> None:
    path = WFINSTANCES / "srasearch-chameleon-10a-001.json"
    if not path.is_file():
        pytest.skip(NO_SHARED)
    w = load_source(str(path)).workload
    assert w.transfer is not None and w.transfer_bytes and w.transfer.sum() > 0
    slow = Simulator(w, Cluster.uniform(4, cpu=4, bandwidth=1e6)).run()
    free = Simulator(w, Cluster.uniform(4, cpu=4)).run()
    assert slow.makespan > free.makespan


def test_wfformat_mistakes_point_into_the_file(tmp_path: Path) -> None:
    bad_json = write(tmp_path, "a.json", '{"workflow": {\n  "specification": ,\n}}')
    with pytest.raises(SpecError) as err:
        load_source(bad_json)
    assert err.value.where.startswith(f"{bad_json}:2:")
    doc = {
        "name": "x",
        "workflow": {
            "specification": {"tasks": [{"id": "a", "parents": []}, {"id": "b", "parents": ["nope"]}]},
            "execution": {"tasks": []},
        },
    }
    unknown = write(tmp_path, "b.json", json.dumps(doc, indent=1))
    with pytest.raises(SpecError, match="task 'b' has an unknown parent 'nope'") as err2:
        load_source(unknown)
    assert err2.value.line > 1
    with pytest.raises(SimError, match="cannot tell what this JSON is"):
        load_source(write(tmp_path, "c.json", '{"hello": 1}'))


# -------------------------------------------------------------------------------------- cost table
def test_a_cost_table_brings_its_processors(tmp_path: Path) -> None:
    table = {
        "processors": ["P1", "P2"],
        "tasks": [1, 2],
        "computation_cost": {"1": [2, 4], "2": [3, 1]},
        "edges": [{"from": 1, "to": 2, "comm": 10}],
    }
    source = load_source(write(tmp_path, "t.json", json.dumps(table)))
    assert source.cluster is not None and source.cluster.nodes().names == ("P1", "P2")
    r = Simulator(source.workload, source.cluster, policy="heft").run()
    assert r.makespan == 5.0  # both on P1: 2 + 3, cheaper than paying the transfer of 10
    bad = dict(table, computation_cost={"1": [2, 4], "2": [3]})
    with pytest.raises(SpecError, match="computation_cost of task 2 must be 2 numbers"):
        load_source(write(tmp_path, "u.json", json.dumps(bad)))
    bad_edge = dict(table, edges=[{"from": 1, "to": 9}])
    with pytest.raises(SpecError, match="edge 1 needs"):
        load_source(write(tmp_path, "v.json", json.dumps(bad_edge)))


# --------------------------------------------------------------------------------------- workflows
def test_a_workflow_has_one_kind_per_template_and_its_requests() -> None:
    w = load_source(str(EXAMPLES / "01-basic-dag.yaml")).workload
    assert w.n == 6 and w.plan.levels == 5
    assert set(w.kinds) == {"validate-data", "transform", "aggregate", "report", "upload"}
    assert all(isinstance(d, Fixed) and d.value == 60.0 for d in w.durations)
    assert w.request[0].tolist() == [1.0, 2.0**30, 0.0]  # the default request


def test_template_annotations_and_requests_are_read(tmp_path: Path) -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: big}
      - {name: b, template: big, dependencies: [a]}
  - name: big
    metadata:
      annotations: {kjob.io/duration: "lognormal:2m,0.2", kjob.io/fail-probability: "0.1"}
    container:
      image: x
      resources: {requests: {cpu: 1500m, memory: 2Gi, nvidia.com/gpu: "1"}}
"""
    w = load_source(write(tmp_path, "w.yaml", text)).workload
    assert w.durations == (LogNormal(120.0, 0.2),)
    assert w.fail_prob is not None and w.fail_prob.tolist() == [0.1]
    assert w.request[0].tolist() == [1.5, 2 * 2.0**30, 1.0]


def test_a_durations_file_sets_templates_and_names_unknown_ones(tmp_path: Path) -> None:
    w = load_source(str(EXAMPLES / "01-basic-dag.yaml")).workload
    good = write(
        tmp_path, "d.yaml", "transform: lognormal:5m,0.3\n'*': 30s\nreport: {duration: 10s, fail: 0.2}\n"
    )
    w2 = with_settings(w, load_durations(good))
    by = dict(zip(w2.kinds, w2.durations, strict=True))
    assert (
        by["transform"] == LogNormal(300.0, 0.3)
        and by["upload"] == Fixed(30.0)
        and by["report"] == Fixed(10.0)
    )
    unknown = write(tmp_path, "e.yaml", "transfrom: 5s\n")
    with pytest.raises(SimError, match="no template or kind 'transfrom'") as err:
        with_settings(w, load_durations(unknown), where=unknown)
    assert "transform" in (err.value.hint or "")
    malformed = write(tmp_path, "f.yaml", "a: 5s\nb: lognormal:5s\n")
    with pytest.raises(SpecError, match="b: invalid duration") as err2:
        load_durations(malformed)
    assert (err2.value.line, err2.value.col) == (2, 4)


# ------------------------------------------------------------------------------------------ clusters
def test_a_cluster_file_describes_pools_and_delays(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
pools:
- {name: cpu, count: 3, cpu: 16, memory: 64Gi}
- {name: gpu, count: 1, cpu: 8, memory: 32Gi, gpu: 2, speed: 1.5}
placement: best-fit
startup: lognormal:3s,0.2
api: {qps: 5, burst: 10}
bandwidth: 100Mi
""",
    )
    c = load_cluster(path)
    assert [p.count for p in c.pools] == [3, 1] and c.pools[0].memory == 64 * 2.0**30
    assert (c.placement, c.qps, c.burst, c.bandwidth) == ("best-fit", 5.0, 10, 100 * 2.0**20)
    assert c.startup == LogNormal(3.0, 0.2)
    nodes = c.nodes()
    assert nodes.count == 4 and nodes.names[-1] == "gpu" and nodes.speed.tolist() == [1, 1, 1, 1.5]
    assert "3 x cpu (cpu 16, memory 64Gi, pods 110)" in c.describe()


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        ("pools:\n- {count: 2, cpus: 4}\n", "unknown field 'cpus' in a pool", 2, 14),
        ("pools:\n- count: 2\n  memory: lots\n", "memory: invalid memory 'lots'", 3, 11),
        ("pools:\n- {cpu: 4}\n", "pool 1 has no 'count'", 2, 3),
        ("pools: []\n", "'pools' must be a non-empty list", 1, 8),
        ("pools:\n- {count: 1}\nplacement: worst-fit\n", "placement 'worst-fit' is not one of", 3, 12),
        ("pools:\n- {count: 1}\napi: {qps: -1}\n", "api.qps: must be a number > 0", 3, 12),
        ("pools: [\n", "not valid YAML or JSON", 2, 1),
    ],
)
def test_cluster_file_mistakes_name_the_place(
    tmp_path: Path, text: str, message: str, line: int, col: int
) -> None:
    path = write(tmp_path, "c.yaml", text)
    with pytest.raises(SpecError, match=message) as err:
        load_cluster(path)
    assert (err.value.line, err.value.col) == (line, col), err.value.render()
    assert err.value.render().startswith(f"{path}:{line}:{col}: error: ")


def test_scenarios_pick_one_cluster(tmp_path: Path) -> None:
    loaded = load(Scenario("chain:3"))
    assert cluster_of(Scenario("chain:3"), loaded).unlimited
    assert cluster_of(Scenario("chain:3", nodes=4, cpu=8.0), loaded).pools[0].cpu == 8.0
    assert cluster_of(Scenario("chain:3", slots=5), loaded).pools[0].pods == 5
    with pytest.raises(SimError, match="give one of --slots, --cluster, --nodes"):
        cluster_of(Scenario("chain:3", slots=5, nodes=2), loaded)
    with pytest.raises(SimError, match="--cpu describes the nodes of --nodes N"):
        cluster_of(Scenario("chain:3", cpu=8.0), loaded)
    path = write(tmp_path, "c.yaml", "pools:\n- {count: 2, cpu: 4}\n- {count: 1, cpu: 4}\n")
    with pytest.raises(SimError, match="'nodes' applies to a cluster of one pool"):
        cluster_of(Scenario("chain:3", cluster_file=path, nodes=3), loaded)


# --------------------------------------------------------------------------- values and calibration
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30", Fixed(30.0)),
        ("1m30s", Fixed(90.0)),
        ("fixed:500ms", Fixed(0.5)),
        ("lognormal:1m,0.25", LogNormal(60.0, 0.25)),
        ("empirical:1,2s,3", Empirical((1.0, 2.0, 3.0))),
        ("recorded", Recorded()),
        (2.5, Fixed(2.5)),
    ],
)
def test_distributions_parse(text: object, value: object) -> None:
    assert parse_distribution(text) == value


@pytest.mark.parametrize(
    "text", ["lognormal:0,1", "lognormal:5", "gamma:1,2", "-3s", "fixed:", "empirical:x"]
)
def test_bad_distributions_are_errors(text: str) -> None:
    with pytest.raises(KjobError):
        parse_distribution(text)


def test_quantities_are_kubernetes_quantities() -> None:
    assert parse_quantity("250m") == 0.25
    assert parse_quantity("2Ki") == 2048.0
    assert parse_quantity("1.5G") == 1.5e9
    assert parse_quantity("1e3") == 1000.0
    with pytest.raises(SimError):
        parse_quantity("12 bananas")


def test_lognormal_draws_have_the_stated_median() -> None:
    d = LogNormal(10.0, 0.5).sample(np.random.default_rng(0), 20001)
    assert np.median(d) == pytest.approx(10.0, rel=0.03)


def record(nodes: list[tuple[str, list[tuple[float, float, float, str]]]]) -> dict[str, object]:
    return {
        "backend": "local",
        "started": 100.0,
        "nodes": [
            {
                "id": f"n{k}",
                "template": template,
                "attempts": [
                    {"queued": q, "started": s, "finished": f, "phase": p} for q, s, f, p in attempts
                ],
            }
            for k, (template, attempts) in enumerate(nodes)
        ],
    }


def test_calibration_fits_start_up_durations_and_failures() -> None:
    # the run starts at 100; a starts 0.02 after; b and c 0.03 after a ends; c's retry 0.02 after its
    # back-off: start-up is the median gap, 0.025
    rec = record(
        [
            ("short", [(100.0, 100.02, 101.02, "Succeeded")]),
            ("long", [(101.03, 101.05, 103.05, "Succeeded")]),
            ("long", [(101.03, 101.05, 102.05, "Failed"), (102.05, 102.07, 104.07, "Succeeded")]),
        ]
    )
    cal = calibrate(rec, run_id="r")
    assert cal.startup == pytest.approx(0.025, abs=1e-9)
    assert cal.measured_makespan == pytest.approx(4.07)
    short = cal.kinds["short"].duration
    assert isinstance(short, Fixed) and short.value == pytest.approx(1.0)
    assert cal.kinds["long"].fail == pytest.approx(1 / 3)
    assert isinstance(cal.kinds["long"].duration, Fixed)  # two equal samples
    assert isinstance(fit([1.0, 2.0, 4.0]), LogNormal)
    with pytest.raises(SimError, match="no finished attempt"):
        calibrate({"started": 1.0, "nodes": []}, run_id="x")


def test_calibration_of_another_workflow_is_refused() -> None:
    cal = calibrate(record([("elsewhere", [(100.0, 100.1, 101.0, "Succeeded")])]), run_id="r")
    source = load_source("chain:3")
    with pytest.raises(SimError, match="ran none of this workload's templates"):
        apply_durations(Scenario("chain:3"), source.workload, cal, source)
