"""Every example of ``examples/`` on a real Kubernetes cluster (the one in ``KJOB_TEST_KUBECONFIG``;
skipped without it), through the CLI exactly as a user types it:
``KUBECONFIG=... kjob run FILE --backend kubernetes -n NAMESPACE``, in a namespace of this module's.

Each run is compared with the same example on the local backend: exit code, every node's phase,
message, output parameters and attempts (with exit codes), and ``kjob logs``.  Every attempt must have
run in one Job (or one index of an Indexed Job), created once (a watch on the namespace sees each Job
added once and never deleted), and ended there as the run records.  All runs go at the same time, so
the module takes about as long as its slowest run (on two cores, as long as its CPU time allows).

- 02 passes an artifact through a run workspace: ``--workspace-pvc kjob-work``, a claim bound to
  realk8s's hostPath PersistentVolume.
- 03 draws its size at random inside a pod, which runs in the node agent's environment, not the
  test's: nothing seeds it.  The local run comes after, seeded so that it draws the same size.
- 04 fails at random: ``-p failure-rate=0`` succeeds at the first try; ``-p failure-rate=1`` fails its
  four attempts, from a copy whose backoff is 100 times shorter (``fast_retries``).
- 07 is a CronWorkflow: ``kjob run`` runs it once, now.

05's fan-out is one Indexed Job where the server keeps ``backoffLimitPerIndex`` (realk8s's 1.28 has its
feature gate on), else a Job per item; either way each item's attempt is found in exactly one place.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kjob.render import indexed, intervals, names
from tests.conftest import EXAMPLES, Completed
from tests.k8s_runs import Runner, concurrently, explain, fast_retries, logs, results
from tests.realk8s import JobWatch, Namespace, namespace, wait_bound, workspace_claim

pytestmark = [pytest.mark.real_cluster, pytest.mark.slow]

CLAIM = "kjob-work"


@dataclass(frozen=True)
class Case:
    file: str
    args: tuple[str, ...] = ()  # on both backends
    cluster_args: tuple[str, ...] = ()  # on the cluster only
    code: int = 0
    #: what the tests read with ``kjob logs RUN ARGS`` besides the whole run's logs
    reads: tuple[tuple[str, ...], ...] = ()


CASES: dict[str, Case] = {
    "01-basic-dag": Case("01-basic-dag.yaml", reads=(("aggregate-users",),)),
    "02-artifacts": Case(
        "02-artifacts.yaml", cluster_args=("--workspace-pvc", CLAIM), reads=(("process-data",),)
    ),
    "03-conditional": Case("03-conditional.yaml", reads=(("check-data-size",),)),
    "04-retries": Case("04-retries.yaml", ("-p", "failure-rate=0"), reads=(("flaky-step",),)),
    "04-retries-failing": Case(
        "04-retries-fast.yaml", ("-p", "failure-rate=1"), code=1, reads=(("flaky-step", "--all-attempts"),)
    ),
    "05-parallel-withparam": Case("05-parallel-withparam.yaml", reads=(("process-partition",),)),
    "06-resources": Case("06-resources.yaml", reads=(("crunch",),)),
    "07-cronworkflow": Case("07-cronworkflow.yaml", reads=(("generate-report",),)),
}


@dataclass
class Side:
    """A run on the cluster and what ``kjob logs RUN ARGS`` printed for it, by ARGS (``()``: the whole
    run's)."""

    done: Completed
    logs: dict[tuple[str, ...], Completed]
    seconds: float  # the run and its logs (and, on the cluster, waiting for a claim it uses)


@dataclass
class Pair:
    cluster: Side
    local: Completed


@dataclass
class Runs:
    ns: Namespace
    jobs: JobWatch
    pairs: dict[str, Pair]
    workspace: Path  # the claim's directory on this machine

    def cluster(self, case: str) -> Completed:
        return self.pairs[case].cluster.done

    def logs(self, case: str, *args: str) -> Completed:
        """``kjob logs RUN ARGS`` of the case's run on the cluster (ARGS from the case's ``reads``)."""
        return self.pairs[case].cluster.logs[args]


def seed_drawing_size(size: int) -> int:
    """A seed after which 03's draw, ``random.randint(500, 2000)``, gives ``size``."""
    assert "random.randint(500, 2000)" in (EXAMPLES / "03-conditional.yaml").read_text(), (
        "03-conditional.yaml changed its draw: update this test"
    )
    return next(s for s in itertools.count() if random.Random(s).randint(500, 2000) == size)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Every case on the real cluster and on the local backend, and the logs the tests read, all at
    once (03's local run waits for its cluster run's draw)."""
    with namespace("kjob-examples") as ns:
        workspace = workspace_claim(ns, CLAIM)
        root = tmp_path_factory.mktemp("real-examples")
        runner = Runner(root)
        fast = fast_retries(root)

        def workflow(case: Case) -> Path:
            return fast if case.file == fast.name else EXAMPLES / case.file

        def on_cluster(case: Case) -> Side:
            start = time.monotonic()
            if CLAIM in case.cluster_args:
                wait_bound(ns, CLAIM)  # as a user would before the run (its pods would wait otherwise)
            done = runner.on_cluster(ns.kubeconfig, ns.name, workflow(case), *case.args, *case.cluster_args)
            read = {a: logs(done, *a, kubeconfig=ns.kubeconfig) for a in ((), *case.reads)}
            return Side(done, read, time.monotonic() - start)

        def local(case: Case, random_seed: int | None = None) -> Completed:
            return runner.local(workflow(case), *case.args, random_seed=random_seed)

        def conditional() -> Pair:
            cluster = on_cluster(CASES["03-conditional"])
            size = cluster.done.nodes()["check-data-size"]["outputs"]["parameters"].get("size")
            seed = seed_drawing_size(int(size)) if size is not None else None
            return Pair(cluster, local(CASES["03-conditional"], random_seed=seed))

        others = [name for name in CASES if name != "03-conditional"]
        calls: list[Callable[[], Any]] = [conditional]
        calls += [lambda c=CASES[name]: on_cluster(c) for name in others]
        calls += [lambda c=CASES[name]: local(c) for name in others]
        with JobWatch(ns) as jobs:
            start = time.monotonic()
            done = concurrently(*calls, at_once=len(calls))
            seconds = time.monotonic() - start
        pairs = {"03-conditional": done[0]}
        pairs.update({name: Pair(done[1 + i], done[1 + len(others) + i]) for i, name in enumerate(others)})
        each = ", ".join(f"{name} {pair.cluster.seconds:.0f} s" for name, pair in pairs.items())
        print(f"\n{len(CASES)} examples on the cluster and locally, at once: {seconds:.1f} s ({each})")
        yield Runs(ns, jobs, pairs, workspace)


def printed_locally(done: Completed) -> dict[str, list[str]]:
    """Each node's lines in its last attempt's log file, of a run on the local backend: what
    ``kjob logs RUN`` shows of it (read here, not by a ``kjob`` process: each costs seconds of CPU)."""
    run_dir = done.home / "runs" / done.run_id()
    printed = {
        node_id: (run_dir / node["attempts"][-1]["log"]).read_text().splitlines()
        for node_id, node in done.nodes().items()
        if node["attempts"]
    }
    return {node_id: lines for node_id, lines in printed.items() if lines}


def by_node(done: Completed, printed: str) -> dict[str, list[str]]:
    """``kjob logs RUN``'s lines (``NODE: line``) → each node's lines, in order."""
    ids = sorted(done.nodes(), key=len, reverse=True)  # "a(0:x)" before "a"
    lines: dict[str, list[str]] = {}
    for line in printed.splitlines():
        node = next((i for i in ids if line.startswith(f"{i}: ")), None)
        assert node is not None, f"a log line without a node: {line!r}"
        lines.setdefault(node, []).append(line[len(node) + 2 :])
    return lines


# ------------------------------------------------------------------------------------ every example
@pytest.mark.parametrize("case", list(CASES))
def test_same_results_as_on_the_local_backend(runs: Runs, case: str) -> None:
    cluster, local = runs.pairs[case].cluster.done, runs.pairs[case].local
    assert local.code == CASES[case].code, explain(local)
    assert cluster.code == CASES[case].code, explain(cluster)
    assert results(cluster) == results(local)
    assert cluster.record()["phase"] == local.record()["phase"]
    assert cluster.record()["backend"] == "kubernetes"
    assert cluster.record()["namespace"] == runs.ns.name
    assert f"Workflow {cluster.run_id()} {cluster.record()['phase']}" in cluster.stdout


def attempts_run(jobs: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(node id, attempt) → (the Job that ran it, how it ended there), read from the Jobs alone: a Job
    of one attempt names its node (annotation) and attempt (label); an Indexed Job runs a fan-out's
    items, one per completion index, and names them ``GROUP(ITEM:`` here."""
    ran: dict[tuple[str, int], tuple[str, str | None]] = {}
    for job in jobs:
        meta, status = job["metadata"], job["status"]
        node, attempt = (
            meta["annotations"][names.ANNOTATION_NODE_ID],
            int(meta["labels"][names.LABEL_ATTEMPT]),
        )
        items = indexed.item_indexes(meta["annotations"])
        if items is None:
            true = [c["type"] for c in status.get("conditions") or [] if c["status"] == "True"]
            ended = {("Complete",): "Succeeded", ("Failed",): "Failed"}.get(tuple(true))
            assert (node, attempt) not in ran, (node, attempt, meta["name"])
            ran[(node, attempt)] = (meta["name"], ended)
            continue
        completed = intervals.parse_indexes(status.get("completedIndexes") or "")
        failed = intervals.parse_indexes(status.get("failedIndexes") or "")
        for index, item in enumerate(items):
            ended = "Succeeded" if index in completed else "Failed" if index in failed else None
            assert (f"{node}({item}:", attempt) not in ran, (node, item, attempt, meta["name"])
            ran[(f"{node}({item}:", attempt)] = (f"{meta['name']}[{index}]", ended)
    return ran


ITEM = re.compile(r"(?P<prefix>.+\(\d+:).*\)")


@pytest.mark.parametrize("case", list(CASES))
def test_every_attempt_is_one_job_created_once(runs: Runs, case: str) -> None:
    """Each attempt of the record ran in exactly one Job (or one index of an Indexed Job), ended there
    as the record says, and no Job ran anything else; each Job was added once and never deleted."""
    done = runs.cluster(case)
    run_id = done.run_id()
    jobs = runs.ns.jobs(names.run_selector(run_id))
    ran = attempts_run(jobs)
    recorded: dict[tuple[str, int], tuple[str, str | None]] = {}
    for node_id, node in done.nodes().items():
        item = ITEM.fullmatch(node_id)
        for number, attempt in enumerate(node["attempts"]):
            key = (node_id, number) if item is None or (node_id, number) in ran else (item["prefix"], number)
            assert key in ran, f"no Job ran {node_id} attempt {number}: {sorted(ran)}"
            recorded[key] = (ran[key][0], attempt["phase"])
    assert recorded == ran
    assert not runs.jobs.errors
    assert runs.jobs.added(run_id) == {j["metadata"]["name"]: 1 for j in jobs}
    assert {e.uid for e in runs.jobs.of_run(run_id)} == {j["metadata"]["uid"] for j in jobs}
    assert not [e.name for e in runs.jobs.of_run(run_id) if e.type == "DELETED"]


@pytest.mark.parametrize("case", list(CASES))
def test_logs_show_what_every_task_printed(runs: Runs, case: str) -> None:
    pair = runs.pairs[case]
    cluster = pair.cluster.logs[()]
    assert cluster.code == 0, explain(cluster)
    assert by_node(pair.cluster.done, cluster.stdout) == printed_locally(pair.local)
    assert cluster.stdout.strip(), "no task printed anything"


# ------------------------------------------------------------------------------- what each one shows
def test_basic_dag_runs_in_dependency_order(runs: Runs) -> None:
    nodes = runs.cluster("01-basic-dag").nodes()
    for first, then in [
        ("validate-input", "transform-data"),
        ("transform-data", "aggregate-users"),
        ("transform-data", "aggregate-orders"),
        ("aggregate-users", "generate-report"),
        ("aggregate-orders", "generate-report"),
        ("generate-report", "upload-results"),
    ]:
        assert nodes[first]["finished"] <= nodes[then]["started"], (first, then)
    cluster = runs.logs("01-basic-dag", "aggregate-users")
    assert cluster.stdout == "Aggregating users data...\nusers aggregation complete\n"


def test_the_artifact_travels_through_the_workspace_claim(runs: Runs) -> None:
    done = runs.cluster("02-artifacts")
    stored = done.nodes()["extract-data"]["outputs"]["artifacts"]["data"]
    assert stored.startswith(f"runs/{done.run_id()}/"), stored
    assert json.loads((runs.workspace / stored).read_text()) == {"records": 1000, "status": "extracted"}
    cluster = runs.logs("02-artifacts", "process-data")
    assert cluster.stdout == "Processing 1000 records\n"


def test_conditional_runs_exactly_the_branch_its_size_selects(runs: Runs) -> None:
    done = runs.cluster("03-conditional")
    nodes = done.nodes()
    size = int(nodes["check-data-size"]["outputs"]["parameters"]["size"])
    small, large = nodes["process-small-batch"]["phase"], nodes["process-large-batch"]["phase"]
    assert (small, large) == (("Succeeded", "Skipped") if size < 1000 else ("Skipped", "Succeeded"))
    cluster = runs.logs("03-conditional", "check-data-size")
    assert cluster.stdout == f"{size}\n"


def test_retries_succeed_at_once_without_failures(runs: Runs) -> None:
    step = runs.cluster("04-retries").nodes()["flaky-step"]
    assert [a["phase"] for a in step["attempts"]] == ["Succeeded"]
    cluster = runs.logs("04-retries", "flaky-step")
    assert cluster.stdout == "Task succeeded\n"


def test_retries_stop_at_the_limit_after_the_backoff(runs: Runs) -> None:
    """limit 3: four attempts, each failing with exit code 1 after the backoff (100ms doubling)."""
    step = runs.cluster("04-retries-failing").nodes()["flaky-step"]
    assert step["phase"] == "Failed"
    assert step["message"] == "exit code 1 (retry limit 3 reached)"
    tries = step["attempts"]
    assert [(a["phase"], a["exit_code"]) for a in tries] == [("Failed", 1)] * 4
    for n, (before, after) in enumerate(itertools.pairwise(tries)):
        waited = after["queued"] - before["finished"]
        assert waited >= 0.1 * 2**n - 0.005, (n, waited, tries)
    cluster = runs.logs("04-retries-failing", "flaky-step", "--all-attempts")
    failures = [line for line in cluster.stdout.splitlines() if line.endswith("Exception: Simulated failure")]
    assert [f.split(":")[0] for f in failures] == [f"flaky-step#{n}" for n in range(4)], cluster.stdout


def test_with_param_fans_out_over_every_partition(runs: Runs) -> None:
    nodes = runs.cluster("05-parallel-withparam").nodes()
    children = [f"process-partition({i}:partition-{i})" for i in range(10)]
    assert [nodes[c]["phase"] for c in children] == ["Succeeded"] * 10
    assert all(nodes[c]["finished"] <= nodes["merge-results"]["started"] for c in children)
    cluster = runs.logs("05-parallel-withparam", "process-partition")
    assert sorted(cluster.stdout.splitlines()) == sorted(
        f"{c}: Processing partition-{c[-2]}" for c in children
    )


def test_resources_go_on_the_job_containers_as_they_are(runs: Runs) -> None:
    done = runs.cluster("06-resources")
    by_task = {
        j["metadata"]["labels"][names.LABEL_TASK]: j["spec"]["template"]["spec"]["containers"]
        for j in runs.ns.jobs(names.run_selector(done.run_id()))
    }
    assert by_task["prepare"][0]["resources"] == {"requests": {"memory": "256Mi", "cpu": "250m"}}
    assert by_task["crunch"][0]["resources"] == {
        "requests": {"memory": "4Gi", "cpu": "2"},
        "limits": {"memory": "8Gi", "cpu": "4"},
    }
    cluster = runs.logs("06-resources", "crunch")
    assert cluster.stdout == "Crunching numbers: 333332833333500000\n"


def test_a_cron_workflow_runs_once_now(runs: Runs) -> None:
    done = runs.cluster("07-cronworkflow")
    assert re.fullmatch(r"daily-data-pipeline-\d{10}", done.run_id()), done.stdout
    nodes = done.nodes()
    tasks = ("validate-input", "transform-data", "generate-report")
    assert [nodes[t]["phase"] for t in tasks] == ["Succeeded"] * 3
    assert not runs.ns.batch.list_namespaced_cron_job(runs.ns.name).items  # it schedules nothing
    cluster = runs.logs("07-cronworkflow", "generate-report")
    assert cluster.stdout == "Generating report\n"
