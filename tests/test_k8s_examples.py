"""Examples 04, 06 and 07 on the Kubernetes backend, through the CLI as a user types it, against the API
emulator: the same node phases, messages, outputs and attempts as the same example on the local
backend, and every Job created exactly once.

04 draws random failures: its tasks' ``random`` is seeded (see ``tests/k8s_runs.py``) so that both
backends draw the same numbers.  Its failing path (``-p failure-rate=1``: four attempts) would wait
10 + 20 + 40 s between attempts, so it runs from a copy whose backoff is 100 times shorter; the rest of
the file is the example's.  07 is a CronWorkflow: ``kjob run`` runs it once, now.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, Completed
from tests.k8s_runs import KubeRun, Runner, attempts, concurrently, explain, fast_retries, logs, results

pytestmark = pytest.mark.slow

# random.seed(2); random.random() == 0.956: not below 04's failure rate of 0.3, so every try succeeds.
SUCCEEDING_SEED = 2

CASES: dict[str, tuple[str, tuple[str, ...], int | None, int]] = {
    # name: (workflow, extra args, random seed, exit code)
    "04-retries": ("04-retries.yaml", (), SUCCEEDING_SEED, 0),
    "04-retries-failing": ("04-retries-fast.yaml", ("-p", "failure-rate=1"), None, 1),
    "06-resources": ("06-resources.yaml", (), None, 0),
    "07-cronworkflow": ("07-cronworkflow.yaml", (), None, 0),
}

Pair = tuple[KubeRun, Completed]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pair]:
    """Every case on both backends, all at once."""
    root = tmp_path_factory.mktemp("k8s-examples")
    runner = Runner(root)
    fast = fast_retries(root)

    def path_of(file: str) -> Path:
        return fast if file == fast.name else EXAMPLES / file

    calls: list[Any] = []
    for file, args, seed, _ in CASES.values():
        calls.append(lambda f=file, a=args, s=seed: runner.kubernetes(path_of(f), *a, random_seed=s))
        calls.append(lambda f=file, a=args, s=seed: runner.local(path_of(f), *a, random_seed=s))
    done = concurrently(*calls)
    return {name: (done[2 * i], done[2 * i + 1]) for i, name in enumerate(CASES)}


@pytest.mark.parametrize("case", list(CASES))
def test_same_results_as_on_the_local_backend(runs: dict[str, Pair], case: str) -> None:
    kube, local = runs[case]
    code = CASES[case][3]
    assert local.code == code, explain(local)
    assert kube.done.code == code, explain(kube.done)
    assert results(kube.done) == results(local)
    assert kube.done.record()["phase"] == local.record()["phase"]
    assert not kube.emulator.errors


@pytest.mark.parametrize("case", list(CASES))
def test_every_attempt_is_one_job_created_exactly_once(runs: dict[str, Pair], case: str) -> None:
    kube, _ = runs[case]
    created = kube.jobs_created()
    assert set(created.values()) == {1}, created
    assert len(created) == attempts(kube.done)
    run_id = kube.done.run_id()
    jobs = kube.emulator.objects("jobs", "default")
    assert sorted(j["metadata"]["name"] for j in jobs) == sorted(name for _, _, name in created)
    assert {j["metadata"]["labels"]["kjob.dev/run"] for j in jobs} == {run_id}


def test_retries_succeed_at_once_when_the_draw_succeeds(runs: dict[str, Pair]) -> None:
    for done in (runs["04-retries"][0].done, runs["04-retries"][1]):
        step = done.nodes()["flaky-step"]
        assert step["phase"] == "Succeeded"
        assert [a["phase"] for a in step["attempts"]] == ["Succeeded"]


def test_retries_stop_at_the_limit_after_the_backoff(runs: dict[str, Pair]) -> None:
    """limit 3: four attempts, each failing with the exception's exit code 1; the engine waits the
    backoff (100ms doubling) between them, on Kubernetes as locally."""
    kube, local = runs["04-retries-failing"]
    for done in (kube.done, local):
        step = done.nodes()["flaky-step"]
        assert step["phase"] == "Failed"
        assert step["message"] == "exit code 1 (retry limit 3 reached)"
        tries = step["attempts"]
        assert [(a["phase"], a["exit_code"]) for a in tries] == [("Failed", 1)] * 4
        for n, (before, after) in enumerate(itertools.pairwise(tries)):
            waited = after["queued"] - before["finished"]
            assert waited >= 0.1 * 2**n - 0.005, (n, waited, tries)
    assert sorted(name[-2:] for _, _, name in kube.jobs_created()) == ["-0", "-1", "-2", "-3"]


def test_resources_go_on_the_job_containers_as_they_are(runs: dict[str, Pair]) -> None:
    kube, local = runs["06-resources"]
    by_task = {
        j["metadata"]["labels"]["kjob.dev/task"]: j["spec"]["template"]["spec"]["containers"]
        for j in kube.emulator.objects("jobs", "default")
    }
    assert by_task["prepare"][0]["resources"] == {"requests": {"memory": "256Mi", "cpu": "250m"}}
    assert by_task["crunch"][0]["resources"] == {
        "requests": {"memory": "4Gi", "cpu": "2"},
        "limits": {"memory": "8Gi", "cpu": "4"},
    }
    printed = "Crunching numbers: 333332833333500000\n"
    assert [text for pod, text in kube.pod_logs.items() if "-crunch-" in pod] == [printed]
    assert logs(local, "crunch").stdout == printed


def test_a_cron_workflow_runs_once_now(runs: dict[str, Pair]) -> None:
    kube, local = runs["07-cronworkflow"]
    for done in (kube.done, local):
        assert re.fullmatch(r"daily-data-pipeline-\d{10}", done.run_id()), done.stdout
        nodes = done.nodes()
        assert [nodes[t]["phase"] for t in ("validate-input", "transform-data", "generate-report")] == [
            "Succeeded"
        ] * 3
    assert kube.done.record()["namespace"] == "default"  # -n wins over the file's metadata.namespace
    assert not kube.emulator.objects("cronjobs", "default")  # runs now; it schedules nothing
