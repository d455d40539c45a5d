"""``kjob.runs.follow.follow_run``: a run's records as it goes, until it ends, from Python (what ``kjob
watch`` draws).  The waits are handed to a function of the test, so nothing sleeps."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kjob.rundir import RunDir
from kjob.runrecord import NodeRecord, RunRecord
from kjob.runs.follow import RunAbandoned, follow_run, succeeded


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunDir:
    monkeypatch.setenv("KJOB_HOME", str(tmp_path))
    return RunDir.create("followed")


def record(phase: str, task_phase: str) -> RunRecord:
    ended = time.time() if phase != "Running" else None
    return RunRecord(
        run_id="followed",
        backend="local",
        phase=phase,
        started=time.time(),
        finished=ended,
        nodes=(NodeRecord(id="main"), NodeRecord(id="only", parent="main", phase=task_phase)),
    )


def test_a_run_is_followed_from_its_record_until_it_ends(run_dir: RunDir) -> None:
    steps = [record("Running", "Running"), record("Succeeded", "Succeeded")]
    run_dir.write_record_text(steps[0].to_json())
    lock = run_dir.watch()  # as the kjob that runs it holds it
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the run moves on while the follower waits
        waits.append(seconds)
        run_dir.write_record_text(steps[len(waits)].to_json())

    try:
        seen = [(r.phase, r.nodes[1].phase) for r in follow_run("followed", interval=0.5, sleep=sleep)]
    finally:
        lock.close()
    assert seen == [("Running", "Running"), ("Succeeded", "Succeeded")]
    assert waits == [0.5]


def test_a_run_whose_kjob_is_gone_is_abandoned_not_waited_for(run_dir: RunDir) -> None:
    run_dir.write_record_text(record("Running", "Running").to_json())  # nobody holds the lock
    with pytest.raises(RunAbandoned) as raised:
        list(follow_run("followed", interval=0.1, sleep=lambda _s: time.sleep(0.1)))
    assert raised.value.exit_code == 1
    assert raised.value.hint == "`kjob resume followed` finishes it"


def test_an_unknown_end_counts_as_success_only_if_no_task_failed() -> None:
    assert succeeded(record("Unknown", "Succeeded"))
    assert not succeeded(record("Unknown", "Failed"))
    assert not succeeded(record("Failed", "Failed"))


def cluster_record(phase: str, task_phases: tuple[str, ...]) -> RunRecord:
    nodes = tuple(NodeRecord(id=f"t{k}", parent="main", phase=p) for k, p in enumerate(task_phases))
    finished = time.time() if phase != "Running" else None
    return RunRecord(
        run_id="followed",
        backend="kubernetes",
        phase=phase,
        started=time.time(),
        finished=finished,
        nodes=(NodeRecord(id="main"), *nodes),
    )


def test_a_cluster_run_read_between_two_jobs_is_followed_on_not_taken_for_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first task's Job has ended and the second's is not created yet: read from the cluster alone
    the run looks Unknown (every task ended, no end noted), and it is not over."""
    monkeypatch.setenv("KJOB_HOME", str(tmp_path))
    steps = iter(
        [
            cluster_record("Unknown", ("Succeeded",)),
            cluster_record("Running", ("Succeeded", "Running")),
            cluster_record("Failed", ("Succeeded", "Failed")),
        ]
    )
    monkeypatch.setattr("kjob.runs.query.get_run", lambda *_a, **_k: next(steps))
    monkeypatch.setattr("kjob.runs.follow._await_record", lambda *_a: None)
    seen = [r.phase for r in follow_run("followed", interval=0.5, sleep=lambda _s: None)]
    assert seen == ["Unknown", "Running", "Failed"]


def test_an_unknown_end_that_lasts_is_believed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KJOB_HOME", str(tmp_path))
    monkeypatch.setattr("kjob.runs.follow.CLUSTER_PATIENCE", 0.05)
    monkeypatch.setattr(
        "kjob.runs.query.get_run", lambda *_a, **_k: cluster_record("Unknown", ("Succeeded",))
    )
    monkeypatch.setattr("kjob.runs.follow._await_record", lambda *_a: None)
    seen = list(follow_run("followed", interval=0.01, sleep=time.sleep))
    assert len(seen) >= 2 and {r.phase for r in seen} == {"Unknown"}
