"""`kjob stop`, `terminate` and `retry` of a Kubernetes run watched from another terminal, against the
API emulator (its pods are processes of this machine): the request is the run object's annotation,
the watching kjob acts on it, and `kjob stop` waits for it to end."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kjob.testing.emulator import Emulator, host_process
from tests.conftest import REPO, kjob_env
from tests.test_run_control import WORKFLOW, ledger


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(host_process()) as emu:
        yield emu


def kjob(kubeconfig: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kjob", *args, "--kubeconfig", str(kubeconfig)],
        capture_output=True,
        text=True,
        env=kjob_env(home),
        cwd=REPO,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("verb", "expected"), [("stop", ["a", "exit"]), ("terminate", ["a"])])
def test_a_request_reaches_the_kjob_watching_a_cluster_run(
    emulator: Emulator, tmp_path: Path, verb: str, expected: list[str]
) -> None:
    home, shared = tmp_path / "home", tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", namespace="default")
    argv = [
        "run",
        str(tmp_path / "wf.yaml"),
        "--backend",
        "kubernetes",
        "-p",
        f"dir={shared}",
        "-p",
        "hold=a",
    ]
    watcher = subprocess.Popen(
        [sys.executable, "-m", "kjob", *argv, "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kjob_env(home),
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while ledger(shared) != ["a"]:
            assert time.monotonic() < deadline and watcher.poll() is None, "task a did not start"
            time.sleep(0.05)
        run_id = next(p.name for p in (home / "runs").iterdir())
        done = kjob(kubeconfig, home, verb, run_id)
        past = "stopped" if verb == "stop" else "terminated"
        assert (done.returncode, done.stdout) == (0, f"run {run_id} {past} (Failed: {past})\n"), done.stderr
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 1, out + err
    assert ledger(shared) == expected
    annotations = emulator.objects("configmaps", "default")
    assert any(
        (cm["metadata"].get("annotations") or {}).get("kjob.dev/control") == verb
        for cm in annotations
        if cm["metadata"]["name"] == run_id
    )

    (shared / "go").touch()
    (shared / "fixed").touch()
    again = kjob(kubeconfig, home, "retry", run_id)
    assert again.returncode == 0, again.stdout + again.stderr  # the request is cleared: it runs on
