"""Fan-outs on Kubernetes as ONE Indexed Job (plus one ConfigMap of the items' commands), through the
CLI against the API emulator: the same per-item results as the local backend, outputs per index,
failed items retried by a follow-up Indexed Job over just those items, the fallback to one Job per
item where the server drops ``backoffLimitPerIndex``, and ``--no-indexed-jobs``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kjob.render.intervals import parse_indexes
from kjob.testing.emulator import Emulator, host_process
from tests.conftest import EXAMPLES, Completed, kill_run_when, kjob_in


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(host_process(private_tmp=True)) as emu:
        yield emu


def run_on(kjob: Any, emu: Emulator, tmp_path: Path, workflow: Path, *args: str) -> Any:
    kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    return kjob("run", str(workflow), "--backend", "kubernetes", "--kubeconfig", str(kubeconfig), *args)


def created(emu: Emulator, resource: str) -> list[str]:
    return sorted(
        name for (_, _, name) in emu.audit_counts(verb="create", resource=resource, code=201, dry_run=False)
    )


@pytest.fixture(scope="module")
def withparam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Any, Completed]]:
    """05-parallel-withparam run once on an emulator, for the tests that read what it made: the
    emulator, the ``kjob`` of the run's home, and the run."""
    root = tmp_path_factory.mktemp("withparam")
    (root / "kjob-home").mkdir()
    kjob = kjob_in(root / "kjob-home")
    with Emulator(host_process(private_tmp=True)) as emu:
        yield emu, kjob, run_on(kjob, emu, root, EXAMPLES / "05-parallel-withparam.yaml")


def test_with_param_fan_out_is_one_indexed_job_with_each_items_output(
    kjob: Any, withparam: tuple[Emulator, Any, Completed]
) -> None:
    emulator, _, done = withparam
    assert done.code == 0, done.stdout + done.stderr
    jobs = [j for j in emulator.objects("jobs", "default") if j["spec"].get("completionMode") == "Indexed"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["spec"]["completions"] == 10 and job["spec"]["backoffLimitPerIndex"] == 0
    assert job["metadata"]["annotations"]["kjob.dev/item-indexes"] == "0-9"
    # 2 tasks + 1 Indexed Job for the 10 items; 1 ConfigMap for the run + 1 for the items' commands
    assert len(created(emulator, "jobs")) == 3
    assert len(created(emulator, "configmaps")) == 2
    local = kjob("run", str(EXAMPLES / "05-parallel-withparam.yaml"), "--backend", "local")
    assert local.code == 0
    on_k8s, on_host = done.nodes(), local.nodes()
    assert {k: v["phase"] for k, v in on_k8s.items()} == {k: v["phase"] for k, v in on_host.items()}
    assert on_k8s["merge-results"]["phase"] == "Succeeded"


def test_kjob_logs_reads_each_items_log_from_its_pod_in_the_indexed_job(
    withparam: tuple[Emulator, Any, Completed],
) -> None:
    emulator, kjob, done = withparam  # the run's own home: as the user who ran it reads its logs
    assert done.code == 0, done.stdout + done.stderr
    kubeconfig = str(done.home.parent / "kubeconfig")
    every = kjob("logs", done.run_id(), "--kubeconfig", kubeconfig)
    assert every.code == 0, every.stderr
    lines = every.stdout.splitlines()
    assert "merge-results: Merging the results of every partition" in lines
    assert [f"process-partition({i}:partition-{i}): Processing partition-{i}" for i in range(10)] == [
        line for line in lines if line.startswith("process-partition(")
    ]
    one = kjob("logs", done.run_id(), "process-partition(7:partition-7)", "--kubeconfig", kubeconfig)
    assert one.stdout == "Processing partition-7\n"
    clients = emulator.clients()
    for pod in emulator.objects("pods", "default"):  # pods garbage-collected: their logs are gone
        clients.core.delete_namespaced_pod(pod["metadata"]["name"], "default", grace_period_seconds=0)
    clients.close()
    emulator.wait_for(lambda: not emulator.objects("pods", "default"))
    gone = kjob("logs", done.run_id(), "merge-results", "--kubeconfig", kubeconfig)
    assert gone.stdout == "" and "no pod left for merge-results" in gone.stderr


ITEMS_WITH_OUTPUTS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: squares}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: square
        template: square
        arguments: {parameters: [{name: n, value: "{{item}}"}, {name: label, value: "it's {{item}}"}]}
        withItems: [1, 2, 3, 4, 5, 6]
      - name: total
        dependencies: [square]
        template: total
        arguments: {parameters: [{name: all, value: "{{tasks.square.outputs.parameters.sq}}"}]}
  - name: square
    inputs: {parameters: [{name: n}, {name: label}]}
    retryStrategy: {limit: 2, backoff: {duration: "1"}}
    script:
      image: alpine
      command: [sh]
      env: [{name: LABEL, value: "{{inputs.parameters.label}}"}, {name: FIXED, value: same}]
      source: |
        echo "$LABEL $FIXED" > /tmp/label
        echo $(( {{inputs.parameters.n}} * {{inputs.parameters.n}} )) > /tmp/sq
        if [ $(( {{inputs.parameters.n}} % 3 )) -eq 0 ] && [ {{retries}} -eq 0 ]; then exit 7; fi
    outputs:
      parameters:
      - {name: sq, valueFrom: {path: /tmp/sq}}
      - {name: label, valueFrom: {path: /tmp/label}}
  - name: total
    inputs: {parameters: [{name: all}]}
    container: {image: alpine, command: [sh, -c, "echo '{{inputs.parameters.all}}'"]}
"""


def test_items_outputs_come_back_per_index_and_failed_items_get_a_follow_up_job(
    kjob: Any, emulator: Emulator, tmp_path: Path
) -> None:
    wf = tmp_path / "squares.yaml"
    wf.write_text(ITEMS_WITH_OUTPUTS)
    done = run_on(kjob, emulator, tmp_path, wf)
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    for n in range(1, 7):
        item = nodes[f"square({n - 1}:{n})"]
        assert item["phase"] == "Succeeded"
        assert item["outputs"]["parameters"] == {"sq": str(n * n), "label": f"it's {n} same"}
        assert len(item["attempts"]) == (2 if n % 3 == 0 else 1)
    (total,) = [
        p for p in emulator.objects("pods", "default") if p["metadata"]["labels"]["kjob.dev/task"] == "total"
    ]
    printed = emulator.pod_log("default", total["metadata"]["name"])
    assert json.loads(printed) == [str(n * n) for n in range(1, 7)]  # the items' outputs, in item order
    first_tries = [
        j["metadata"]["annotations"]["kjob.dev/item-indexes"]
        for j in emulator.objects("jobs", "default")
        if j["spec"].get("completionMode") == "Indexed" and j["metadata"]["labels"]["kjob.dev/attempt"] == "0"
    ]
    assert first_tries == ["0-5"]
    # items 3 and 6 were retried on the workflow's own 1 s backoff by Jobs over just those items: one
    # follow-up Indexed Job when both failures arrived in one status update, else a Job each
    assert sorted(retried_items(emulator)) == ["square(2:3)", "square(5:6)"]
    created_jobs = emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False)
    assert set(created_jobs.values()) == {1}


def retried_items(emu: Emulator) -> list[str]:
    """The fan-out items that second-attempt Jobs ran, whether Indexed (by index) or one per item."""
    items: list[str] = []
    for job in emu.objects("jobs", "default"):
        meta = job["metadata"]
        if meta["labels"]["kjob.dev/attempt"] != "1":
            continue
        indexes = meta["annotations"].get("kjob.dev/item-indexes")
        if indexes is None:
            items.append(meta["annotations"]["kjob.dev/node-id"])
        else:
            items += [
                f"{meta['annotations']['kjob.dev/node-id']}({i}:{i + 1})" for i in parse_indexes(indexes)
            ]
    return items


def test_where_the_server_drops_backoff_limit_per_index_each_item_is_a_job_and_kjob_says_so_once(
    kjob: Any, tmp_path: Path
) -> None:
    """A 1.28 server with the gate off drops the field from a created Job; kjob's dry-run probe sees
    that (the real 1.28 cluster with the gate on gets Indexed Jobs: tests/contract)."""
    gate_off = {"JobBackoffLimitPerIndex": False}
    with Emulator(host_process(private_tmp=True), version="v1.28.0", feature_gates=gate_off) as emu:
        done = run_on(kjob, emu, tmp_path, EXAMPLES / "05-parallel-withparam.yaml")
        assert done.code == 0, done.stdout + done.stderr
        jobs = emu.objects("jobs", "default")
        assert not [j for j in jobs if j["spec"].get("completionMode") == "Indexed"]
        assert len(created(emu, "jobs")) == 12
    assert done.stderr.count("the cluster drops backoffLimitPerIndex") == 1


def test_no_indexed_jobs_flag_runs_one_job_per_item(kjob: Any, emulator: Emulator, tmp_path: Path) -> None:
    done = run_on(kjob, emulator, tmp_path, EXAMPLES / "05-parallel-withparam.yaml", "--no-indexed-jobs")
    assert done.code == 0, done.stdout + done.stderr
    assert len(created(emulator, "jobs")) == 12


def covered(emu: Emulator) -> list[tuple[str, str]]:
    """(item, attempt) for every item of every Job, Indexed or not."""
    pairs: list[tuple[str, str]] = []
    for job in emu.objects("jobs", "default"):
        meta = job["metadata"]
        node, attempt = meta["annotations"]["kjob.dev/node-id"], meta["labels"]["kjob.dev/attempt"]
        indexes = meta["annotations"].get("kjob.dev/item-indexes")
        if indexes is None:
            pairs.append((node, attempt))
        else:
            pairs += [(f"{node}({i}:{i + 1})", attempt) for i in parse_indexes(indexes)]
    return pairs


def test_resume_adopts_the_indexed_job_and_never_runs_an_item_twice(
    emulator: Emulator, tmp_path: Path, kjob_home: Path, kjob: Any
) -> None:

    wf = tmp_path / "slow-squares.yaml"
    wf.write_text(
        ITEMS_WITH_OUTPUTS.replace("squares}", "slow-squares}")
        .replace("[1, 2, 3, 4, 5, 6]", "[1, 2, 3, 4, 5, 6, 7, 8, 9]")
        .replace("  entrypoint: main\n", "  entrypoint: main\n  parallelism: 3\n")
        .replace('echo "$LABEL $FIXED"', 'sleep 0.3; echo "$LABEL $FIXED"')
    )
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    args = ["--backend", "kubernetes", "--kubeconfig", str(kubeconfig)]
    kill_run_when(kjob_home, [str(wf), *args], lambda: len(emulator.objects("pods", "default")) >= 4)
    (job,) = emulator.objects("jobs", "default")
    assert job["spec"]["parallelism"] == 3 and job["spec"]["completions"] == 9

    done = kjob("resume", "slow-squares", "--kubeconfig", str(kubeconfig))
    assert done.code == 0, done.stdout + done.stderr
    nodes = done.nodes()
    for n in range(1, 10):
        assert nodes[f"square({n - 1}:{n})"]["outputs"]["parameters"]["sq"] == str(n * n)
    pairs = covered(emulator)
    assert len(pairs) == len(set(pairs)), "an item ran twice at the same attempt"
    assert sorted(p for p in pairs if p[1] == "1") == [(f"square({i}:{i + 1})", "1") for i in (2, 5, 8)]
    assert set(emulator.audit_counts(verb="create", resource="jobs", code=201, dry_run=False).values()) == {1}
