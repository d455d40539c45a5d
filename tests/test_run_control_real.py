"""`kjob retry`, `kjob stop` and `kjob delete` on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped
without it).  realk8s runs pods as processes of this machine, so the tasks append to a ledger file
here (under /var/tmp: a container's /tmp is its own) and the test reads what ran from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kjob.render import names
from tests.conftest import REPO, kjob_env
from tests.realk8s import JobWatch, Namespace, namespace
from tests.test_run_control import WORKFLOW, ledger

pytestmark = [pytest.mark.real_cluster]


@pytest.fixture
def ns() -> Iterator[Namespace]:
    with namespace("kjob-control") as made:
        yield made


@pytest.fixture
def shared(ns: Namespace) -> Path:
    path = Path("/var/tmp") / f"kjob-test-ledger-{ns.name}"
    path.mkdir()
    ns.cleanup.append(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def kjob(ns: Namespace, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args],
        capture_output=True,
        text=True,
        env=kjob_env(home, ns.kubeconfig),
        cwd=REPO,
        timeout=180,
        check=False,
    )


def test_retry_reruns_only_the_failed_task_and_delete_removes_the_run(
    ns: Namespace, shared: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    with JobWatch(ns) as jobs:
        first = kjob(ns, home, "run", str(wf), "-n", ns.name, "-p", f"dir={shared}")
        assert first.returncode == 1, first.stdout + first.stderr
        run_id = first.stdout.split()[1]
        assert sorted(ledger(shared)) == ["a", "b", "d", "exit"]
        (shared / "fixed").touch()
        (shared / "ledger").unlink()
        created_before = set(jobs.added(run_id))

        again = kjob(ns, home, "retry", run_id, "-n", ns.name)
        assert again.returncode == 0, again.stdout + again.stderr
        assert ledger(shared) == ["b", "c", "exit"]
        new = {n: c for n, c in jobs.added(run_id).items() if n not in created_before}
    # one new Job each for b (attempt 1), c (attempt 0) and the exit handler (attempt 1); none twice
    assert sorted(new) == sorted(
        [
            names.job_name(run_id, "b", 1),
            names.job_name(run_id, "c", 0),
            names.job_name(run_id, "onExit", 1),
        ]
    )
    assert set(new.values()) == {1}

    gone = kjob(ns, home, "delete", run_id, "-n", ns.name)
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.startswith(f"deleted run {run_id} (7 Jobs, ")
    ns.wait("the run's Jobs to go", lambda: not ns.jobs(names.run_selector(run_id)))
    assert run_id not in {c.metadata.name for c in ns.core.list_namespaced_config_map(ns.name).items}
    assert not (home / "runs" / run_id).exists()


def test_wait_false_runs_in_a_driver_job_that_a_stop_reaches_and_delete_removes(
    ns: Namespace, shared: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    driver = f"{sys.executable} -m kjob"  # realk8s ignores images: its pods run this machine's kjob
    submitted = kjob(
        ns, home, "run", "--wait=false", str(wf), "-n", ns.name, "-p", f"dir={shared}", "-p", "hold=a",
        "--driver-image", "kjob:test", "--driver-command", driver,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    ns.wait("task a to start in the driver's run", lambda: ledger(shared) == ["a"], timeout=120)

    stopped = kjob(ns, home, "stop", run_id, "-n", ns.name)
    assert stopped.returncode == 0, stopped.stderr
    assert "stop requested" in stopped.stdout
    ns.wait("the exit handler", lambda: ledger(shared) == ["a", "exit"], timeout=120)

    def driver_failed() -> bool:  # the driver's kjob exits 1: the run ended Failed (stopped)
        conditions = ns.batch.read_namespaced_job_status(run_id, ns.name).status.conditions or []
        return any(c.type == "Failed" and c.status == "True" for c in conditions)

    ns.wait("the driver Job to fail", driver_failed)
    gone = kjob(ns, home, "delete", run_id, "-n", ns.name)
    assert gone.returncode == 0, gone.stderr
    ns.wait("the run's and the driver's Jobs to go", lambda: not ns.jobs(""))
    assert ledger(shared) == ["a", "exit"]  # b, c, d never started
