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
