"""`kjob retry`, `kjob stop` and `kjob delete` on the real cluster (``KJOB_TEST_KUBECONFIG``; skipped
without it).  realk8s runs pods as processes of this machine, so the tasks append to a ledger file
here (under /var/tmp: a container's /tmp is its own) and the test reads what ran from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
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


def test_stop_reaches_the_kjob_watching_the_run_and_its_exit_handler_runs(
    ns: Namespace, shared: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kjob",
            "run",
            str(wf),
            "-n",
            ns.name,
            "-p",
            f"dir={shared}",
            "-p",
            "hold=a",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kjob_env(home, ns.kubeconfig),
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 120
        while ledger(shared) != ["a"]:
            assert time.monotonic() < deadline and watcher.poll() is None, "task a did not start"
            time.sleep(0.1)
        run_id = next(p.name for p in (home / "runs").iterdir())
        stopped = kjob(ns, home, "stop", run_id, "-n", ns.name)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout == f"run {run_id} stopped (Failed: stopped)\n"
        out, err = watcher.communicate(timeout=120)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 1, out + err
    assert f"Workflow {run_id} Failed" in out and ": stopped" in out
    assert ledger(shared) == ["a", "exit"]  # b, c, d never started; the exit handler ran
